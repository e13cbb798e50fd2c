/*
 * The judge demo's problem, "range sums": its tests, generated at start
 * with a fixed seed, their expected outputs from a reference solution, and
 * the two ways of comparing an output with the expected one.
 *
 *   Input:  N Q, then a_1 .. a_N on one line, then Q lines "l r".
 *           1 <= N <= 500000, 1 <= Q <= 50000, |a_i| <= 10^9, 1 <= l <= r <= N.
 *   Output: for each query, a_l + ... + a_r on a line of its own.
 *
 * The traps: sums pass 2^31 (32-bit ints are wrong), and the large tests
 * make summing each range from scratch, O(N * Q), far too slow.
 */
#ifndef JUDGE_PROBLEM_H
#define JUDGE_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>

#define PROBLEM_TESTS 20

struct test {
	char input_path[4096]; /* the input, written to a host file */
	char *expected;        /* the reference solution's output */
	size_t expected_len;
	unsigned n, q;
};

/* Write the PROBLEM_TESTS inputs as DIR/NN.in (and the expected outputs as
 * DIR/NN.out, for whoever wants to look) and fill tests[]. Prints why and
 * returns -1 on failure. */
int problem_make_tests(struct test tests[PROBLEM_TESTS], const char *dir);
void problem_free_tests(struct test tests[PROBLEM_TESTS]);

/* Compare an output with the expected one. exact: byte for byte.
 * tolerant: the same whitespace-separated tokens, however spaced. On a
 * mismatch, writes where and how they differ to why (a short line). */
bool problem_output_matches(const char *got, size_t got_len,
			    const char *want, size_t want_len, bool tolerant,
			    char *why, size_t why_len);

#endif
