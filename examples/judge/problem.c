/*
 * Tests, reference solution and output comparison of the judge demo's
 * problem (see problem.h). The tests come from a fixed seed, so every run
 * of the demo judges the same 20 tests, and no data files ship with it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"

/* A growable text buffer; the tests are built in memory, then written. */
struct buf {
	char *data;
	size_t len, cap;
};

static int buf_printf(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		size_t room = b->cap - b->len;
		va_list ap;
		int n;

		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return 0;
		}
		size_t cap = b->cap ? b->cap * 2 : 1 << 16;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p)
			return -1;
		b->data = p;
		b->cap = cap;
	}
}

/* splitmix64: tiny, and the same numbers on every machine. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static long long random_in(uint64_t *state, long long lo, long long hi)
{
	return lo + (long long)(next_random(state) % (uint64_t)(hi - lo + 1));
}

/* What one generated test looks like. long_ranges: every query covers
 * most of the array, the worst case for summing each range afresh. */
struct shape {
	unsigned n, q;      /* 0: random in 1..max */
	unsigned max;
	long long lo, hi;   /* range of the values */
	bool long_ranges;
};

static struct shape shape_of(int test)
{
	if (test == 3)
		return (struct shape){ 1, 1, 1, 1000000000, 1000000000, false };
	if (test <= 8)   /* small values: even 32-bit sums are right */
		return (struct shape){ 0, 0, 1000, -1000, 1000, false };
	if (test <= 14)  /* values up to 10^9: sums pass 2^31 */
		return (struct shape){ 0, 0, 2000, -1000000000, 1000000000, false };
	if (test <= 16)  /* the largest sums there can be at this size */
		return (struct shape){ 2000, 2000, 2000, 1000000000, 1000000000, true };
	if (test <= 18)  /* medium: the naive solution still copes */
		return (struct shape){ 50000, 5000, 0, -1000000, 1000000, false };
	/* large: 500,000 numbers, 50,000 queries of ~450,000 numbers each */
	return (struct shape){ 500000, 50000, 0, 0, 99, true };
}

/* Generate test number `test` (1-based) into in, its answer into out. */
static int generate(int test, struct buf *in, struct buf *out, struct test *t)
{
	static const char *const samples[] = {
		"5 3\n1 2 3 4 5\n1 5\n2 3\n4 4\n",
		"4 2\n-3 7 0 -10\n1 4\n2 2\n",
	};
	uint64_t seed = 0x5eed0000u + (uint64_t)test;
	struct shape s = shape_of(test);
	long long *prefix;
	int rc = 0;

	if (test <= 2) /* the samples of the problem statement, as written */
		return (buf_printf(in, "%s", samples[test - 1]) ||
			buf_printf(out, "%s", test == 1 ? "15\n5\n4\n" : "-6\n7\n"))
		       ? -1 : 0;
	t->n = s.n ? s.n : (unsigned)random_in(&seed, 1, s.max);
	t->q = s.q ? s.q : (unsigned)random_in(&seed, 1, s.max);
	prefix = malloc(((size_t)t->n + 1) * sizeof(*prefix));
	if (!prefix)
		return -1;
	prefix[0] = 0;
	rc |= buf_printf(in, "%u %u\n", t->n, t->q);
	for (unsigned i = 1; i <= t->n; i++) {
		long long v = random_in(&seed, s.lo, s.hi);

		prefix[i] = prefix[i - 1] + v;
		rc |= buf_printf(in, i < t->n ? "%lld " : "%lld\n", v);
	}
	/* The reference solution runs alongside: prefix sums, 64-bit. */
	for (unsigned k = 0; k < t->q; k++) {
		long long l, r;

		if (s.long_ranges && t->n >= 10) {
			l = random_in(&seed, 1, t->n / 10);
			r = random_in(&seed, t->n - t->n / 10, t->n);
		} else {
			l = random_in(&seed, 1, t->n);
			r = random_in(&seed, l, t->n);
		}
		rc |= buf_printf(in, "%lld %lld\n", l, r);
		rc |= buf_printf(out, "%lld\n", prefix[r] - prefix[l - 1]);
	}
	free(prefix);
	return rc ? -1 : 0;
}

static int write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "judge-demo: cannot write %s: %s\n", path,
			strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return 0;
}

int problem_make_tests(struct test tests[PROBLEM_TESTS], const char *dir)
{
	for (int k = 0; k < PROBLEM_TESTS; k++) {
		struct buf in = { 0 }, out = { 0 };
		char out_path[sizeof(tests[k].input_path)];
		struct test *t = &tests[k];

		if (generate(k + 1, &in, &out, t) < 0) {
			fprintf(stderr, "judge-demo: out of memory generating test %d\n",
				k + 1);
			free(in.data);
			free(out.data);
			return -1;
		}
		snprintf(t->input_path, sizeof(t->input_path), "%s/%02d.in", dir, k + 1);
		snprintf(out_path, sizeof(out_path), "%s/%02d.out", dir, k + 1);
		t->expected = out.data;
		t->expected_len = out.len;
		if (write_file(t->input_path, in.data, in.len) < 0 ||
		    write_file(out_path, out.data, out.len) < 0) {
			free(in.data);
			return -1;
		}
		free(in.data);
	}
	return 0;
}

void problem_free_tests(struct test tests[PROBLEM_TESTS])
{
	for (int k = 0; k < PROBLEM_TESTS; k++) {
		free(tests[k].expected);
		tests[k].expected = NULL;
	}
}

/* Copy up to 16 characters of s (len bytes) into dst as a quoted string,
 * or "end of output" when there is nothing; control characters show as '?'. */
static void quote(char *dst, size_t dst_len, const char *s, size_t len, bool end)
{
	char tmp[24];
	size_t n = len < 16 ? len : 16;

	if (end) {
		snprintf(dst, dst_len, "end of output");
		return;
	}
	for (size_t i = 0; i < n; i++)
		tmp[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	tmp[n] = '\0';
	snprintf(dst, dst_len, "\"%s%s\"", tmp, len > n ? "..." : "");
}

/* Length of the line starting at s (up to its '\n' or the end). */
static size_t line_len(const char *s, size_t left)
{
	const char *nl = memchr(s, '\n', left);

	return nl ? (size_t)(nl - s) : left;
}

static bool exact_matches(const char *got, size_t got_len, const char *want,
			  size_t want_len, char *why, size_t why_len)
{
	size_t i = 0, line_start = 0, line = 1;
	char g[32], w[32];

	while (i < got_len && i < want_len && got[i] == want[i]) {
		if (got[i++] == '\n') {
			line++;
			line_start = i;
		}
	}
	if (i == got_len && i == want_len)
		return true;
	/* Show the whole differing line of each side. */
	quote(w, sizeof(w), want + line_start,
	      line_len(want + line_start, want_len - line_start),
	      line_start == want_len);
	quote(g, sizeof(g), got + line_start,
	      line_len(got + line_start, got_len - line_start),
	      line_start == got_len);
	snprintf(why, why_len, "line %zu: expected %s, got %s", line, w, g);
	return false;
}

/* The next whitespace-separated token at or after *pos; its length, or 0
 * at the end. */
static size_t next_token(const char *s, size_t len, size_t *pos)
{
	size_t start;

	while (*pos < len && strchr(" \t\r\n\v\f", s[*pos]))
		(*pos)++;
	start = *pos;
	while (*pos < len && !strchr(" \t\r\n\v\f", s[*pos]))
		(*pos)++;
	return *pos - start;
}

static bool tolerant_matches(const char *got, size_t got_len, const char *want,
			     size_t want_len, char *why, size_t why_len)
{
	size_t gp = 0, wp = 0;

	for (size_t token = 1;; token++) {
		size_t gl = next_token(got, got_len, &gp);
		size_t wl = next_token(want, want_len, &wp);
		char g[32], w[32];

		if (gl == 0 && wl == 0)
			return true;
		if (gl == wl && memcmp(got + gp - gl, want + wp - wl, gl) == 0)
			continue;
		quote(w, sizeof(w), want + wp - wl, wl, wl == 0);
		quote(g, sizeof(g), got + gp - gl, gl, gl == 0);
		snprintf(why, why_len, "token %zu: expected %s, got %s", token, w, g);
		return false;
	}
}

bool problem_output_matches(const char *got, size_t got_len,
			    const char *want, size_t want_len, bool tolerant,
			    char *why, size_t why_len)
{
	if (!got)
		got = "";
	return tolerant ? tolerant_matches(got, got_len, want, want_len, why, why_len)
			: exact_matches(got, got_len, want, want_len, why, why_len);
}
