/* Messages that quote what a job said (CLI.md: `message` names the line and
 * the field): however long, and whatever characters they quote, every
 * result is written as valid JSON and the batch goes on. A message cut
 * inside a UTF-8 character is one jansson refuses, which used to drop the
 * result and stop the batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* n copies of s. */
static const char *rep(const char *s, int n)
{
	size_t len = strlen(s);
	char *out = malloc(len * (size_t)n + 1);

	cr_assert_not_null(out);
	for (int k = 0; k < n; k++)
		memcpy(out + len * (size_t)k, s, len);
	out[len * (size_t)n] = '\0';
	const char *kept = tfmt("%s", out);
	free(out);
	return kept;
}

/* The job of the fuzzing report, exactly, then a good job. */
Test(batch, a_message_quoting_non_ascii_text_keeps_its_result_and_the_batch, .timeout = 60)
{
	const char *feed =
		"{\"id\":\"a\",\"argv\":[\"/bin/true\"],\"net\":\"a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}\n"
		"{\"id\":\"b\",\"argv\":[\"/bin/echo\",\"b\"]}\n";
	struct run r;

	RUN(&r, feed, 30, "-");

	cr_assert_eq(r.res.n, 2, "%zu results; stderr: %s", r.res.n, r.p.err.data);
	json_t *o = result_id(&r.res, "a");
	expect_status(o, "invalid");
	cr_expect(strstr(jstr(o, "message"), "net"), "message: %s", jstr(o, "message"));
	expect_stdout(result_id(&r.res, "b"), "b\n");
	cr_expect_eq(r.p.status, 1);
	run_free(&r);
}

/* Every place a message quotes a job's text, cut at an odd byte so that a
 * byte-wise cut would split a two-byte character: a value (cut at 37
 * bytes), a field name and an id (cut at 200), and messages longer than
 * their buffers (a long path, in the CLI's reader and in the library's). */
Test(batch, every_quoting_message_is_cut_between_characters, .timeout = 60)
{
	const char *e150 = tfmt("a%s", rep("\xc3\xa9", 150));
	const char *long_path = tfmt("/nonexistent/%s", rep("\xc3\xa9/", 400));
	const char *lines[] = {
		tfmt("{\"id\": \"value\", \"argv\": [\"/bin/true\"], \"net\": \"%s\"}", e150),
		tfmt("{\"id\": \"%s\", \"argv\": [\"/bin/true\"]}", e150),
		tfmt("{\"id\": \"%s\", \"argv\": [\"/bin/true\"]}", e150), /* duplicate */
		tfmt("{\"id\": \"fname\", \"argv\": [\"/bin/true\"], \"files\": {\"%s\": 5}}", e150),
		tfmt("{\"id\": \"ename\", \"argv\": [\"/bin/true\"], \"env\": {\"%s=\": \"x\"}}", e150),
		tfmt("{\"id\": \"lname\", \"argv\": [\"/bin/true\"], \"limits\": {\"%s\": 1}}", e150),
		tfmt("{\"id\": \"field\", \"argv\": [\"/bin/true\"], \"%s\": 1}", e150),
		tfmt("{\"id\": \"path\", \"argv\": [\"/bin/true\"], \"files\": "
		     "{\"x\": {\"path\": \"%s\"}}}", long_path),
		tfmt("{\"id\": \"path_mode\", \"argv\": [\"/bin/true\"], \"files\": "
		     "{\"x\": {\"path\": \"%s\", \"mode\": \"0644\"}}}", long_path),
		tfmt("{\"id\": \"stdin\", \"argv\": [\"/bin/true\"], \"stdin\": "
		     "{\"path\": \"%s\"}}", long_path),
		tfmt("{\"id\": \"dir\", \"argv\": [\"/bin/true\"], \"dirs\": [\"%s\"]}", long_path),
		tfmt("{\"id\": \"workdir\", \"argv\": [\"/bin/true\"], \"workdir\": \"%s\"}", long_path),
		/* jansson's own error text quotes the line near the error,
		 * here cut inside a character (found by tests/fuzz). */
		"{\"id\": \"l1\", \"argv\": [\"/bi\\u000\xcd\x8dwe\"]}",
		"{\"id\": \"last\", \"argv\": [\"/bin/echo\", \"last\"]}",
		NULL,
	};
	struct run r;

	write_jobs(tpath("jobs"), lines);
	RUN(&r, NULL, 60, tpath("jobs"));

	cr_assert_eq(r.res.n, 14, "%zu results; stderr: %s", r.res.n, r.p.err.data);
	cr_expect_eq(results_count_status(&r.res, "invalid"), 12);
	cr_expect_eq(results_count_status(&r.res, "ok"), 2);
	expect_stdout(result_id(&r.res, "last"), "last\n");
	for (size_t k = 0; k < r.res.n; k++) {
		const char *msg = jstr(r.res.v[k], "message");

		cr_expect(msg != NULL, "result %zu has no message", k);
		cr_log_info("%.120s", msg ? msg : "");
	}
	json_t *dup[2];
	cr_expect_eq(results_with_id(&r.res, e150, dup, 2), 2, "the id and its duplicate");
	cr_expect_eq(r.p.status, 1);
	run_free(&r);
}
