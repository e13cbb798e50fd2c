/* What one job line turns into (CLI.md, "ringjail batch" and "The result
 * object"): verdicts, stdin, files, output as text or base64 or in
 * --output-dir, and lines that must come back invalid while the lines
 * around them still run. */
#include <string.h>
#include <sys/stat.h>

#include "slowhost.h"
#include "util.h"

/* ---- verdicts ----------------------------------------------------------- */

Test(batch, mixed_verdicts_get_exact_statuses_and_output, .timeout = 120)
{
	const char *lines[32];
	size_t n = 0;
	struct run r;

	for (int i = 0; i < 5; i++)
		lines[n++] = tfmt("{\"id\": \"ok%d\", \"argv\": [\"/bin/echo\", \"line %d\"]}", i, i);
	for (int i = 0; i < 3; i++)
		lines[n++] = tfmt("{\"id\": \"re%d\", \"argv\": [\"/bin/sh\", \"-c\", "
				  "\"echo oops-$0 >&2; exit 3\", \"re%d\"]}", i, i);
	/* A CPU limit apart from the wall one (it defaults to it), so that
	 * only the wall limit can end these. */
	for (int i = 0; i < 2; i++)
		lines[n++] = tfmt("{\"id\": \"wt%d\", \"argv\": [\"/bin/sleep\", \"5\"], "
				  "\"limits\": {\"wall_time\": 0.2, \"time\": 2}}", i);
	for (int i = 0; i < 2; i++)
		lines[n++] = tfmt("{\"id\": \"ol%d\", \"argv\": [\"/usr/bin/yes\"], "
				  "\"limits\": {\"output\": \"1K\"}}", i);
	for (int i = 0; i < 2; i++)
		lines[n++] = tfmt("{\"id\": \"se%d\", \"argv\": [\"/nonexistent/prog%d\"]}", i, i);
	for (int i = 0; i < 2; i++)
		lines[n++] = tfmt("{\"id\": \"sg%d\", \"argv\": [\"/bin/sh\", \"-c\", "
				  "\"kill -SEGV $$\"]}", i);
	lines[n] = NULL;
	write_jobs(tpath("jobs"), lines);

	RUN(&r, NULL, 60, "-j", "4", "--no-progress", tpath("jobs"));

	cr_expect_eq(r.res.n, 16, "%zu results for 16 lines", r.res.n);
	cr_expect_eq(results_count_status(&r.res, "ok"), 5);
	cr_expect_eq(results_count_status(&r.res, "runtime_error"), 3);
	cr_expect_eq(results_count_status(&r.res, "wall_time_limit"), 2);
	cr_expect_eq(results_count_status(&r.res, "output_limit"), 2);
	cr_expect_eq(results_count_status(&r.res, "setup_error"), 2);
	cr_expect_eq(results_count_status(&r.res, "signaled"), 2);
	for (size_t k = 0; k < r.res.n; k++)
		expect_result_object(r.res.v[k], false);
	for (int i = 0; i < 5; i++) {
		json_t *o = result_id(&r.res, tfmt("ok%d", i));
		expect_status(o, "ok");
		expect_stdout(o, tfmt("line %d\n", i));
		cr_expect_str_eq(jstr(o, "stderr"), "");
		cr_expect_eq(jint(o, "exit_code", -1), 0);
		cr_expect(json_is_null(json_object_get(o, "signal")));
		cr_expect_eq(jint(o, "stdout_bytes", -1), (long long)strlen(tfmt("line %d\n", i)));
	}
	for (int i = 0; i < 3; i++) {
		json_t *o = result_id(&r.res, tfmt("re%d", i));
		expect_status(o, "runtime_error");
		expect_stdout(o, "");
		cr_expect_str_eq(jstr(o, "stderr"), tfmt("oops-re%d\n", i));
		cr_expect_eq(jint(o, "exit_code", -1), 3);
	}
	for (int i = 0; i < 2; i++) {
		json_t *o = result_id(&r.res, tfmt("wt%d", i));
		double wall = json_number_value(json_object_get(o, "wall_ms"));
		expect_status(o, "wall_time_limit");
		/* CLI.md's tolerance: between the limit and the limit + 100 ms
		 * (the 100 ms scaled on a slow host: tests/common/slowhost.h). */
		cr_expect(wall >= 200.0 && wall <= 200.0 + scaled_ms(100), "wt%d: wall_ms %.1f", i, wall);
		cr_expect(json_is_null(json_object_get(o, "exit_code")));
	}
	for (int i = 0; i < 2; i++) {
		json_t *o = result_id(&r.res, tfmt("ol%d", i));
		char want[1025];
		for (int k = 0; k < 1024; k += 2)
			memcpy(want + k, "y\n", 2);
		want[1024] = '\0';
		expect_status(o, "output_limit");
		/* Exactly the limit's bytes reach the caller. */
		expect_stdout(o, want);
		cr_expect(json_is_true(json_object_get(o, "output_truncated")));
	}
	for (int i = 0; i < 2; i++) {
		json_t *o = result_id(&r.res, tfmt("se%d", i));
		expect_status(o, "setup_error");
		cr_expect(strstr(jstr(o, "message"), tfmt("/nonexistent/prog%d", i)),
			  "se%d: message \"%s\" does not name the program", i, jstr(o, "message"));
		cr_expect(json_is_null(json_object_get(o, "exit_code")));
	}
	for (int i = 0; i < 2; i++) {
		json_t *o = result_id(&r.res, tfmt("sg%d", i));
		expect_status(o, "signaled");
		cr_expect_eq(jint(o, "signal", -1), 11);
		cr_expect(json_is_null(json_object_get(o, "exit_code")));
	}
	/* setup_error in the batch: exit status 1. */
	cr_expect_eq(r.p.status, 1, "exit status %d", r.p.status);
	EXPECT_SUMMARY(&r.p, 16, "ok 5", "runtime_error 3", "wall_time_limit 2",
		       "output_limit 2", "setup_error 2", "signaled 2");
	run_free(&r);
}

/* ---- stdin ----------------------------------------------------------------- */

Test(batch, stdin_comes_inline_or_from_a_file, .timeout = 60)
{
	static char big[1 << 20];
	const char bin[] = "bin\xff\xfe\x00end\n";
	struct run r;
	size_t len;

	for (size_t k = 0; k < sizeof big; k++)
		big[k] = (char)('a' + k % 26);
	write_file(tpath("in.txt"), "from a file\nsecond line\n", 24, 0644);
	write_file(tpath("big.txt"), big, sizeof big, 0644);
	write_file(tpath("bin.dat"), bin, sizeof bin - 1, 0644);
	const char *lines[] = {
		"{\"id\": \"inline\", \"argv\": [\"/bin/cat\"], \"stdin\": \"1 2\\n\"}",
		tfmt("{\"id\": \"file\", \"argv\": [\"/bin/cat\"], \"stdin\": {\"path\": \"%s\"}}",
		     tpath("in.txt")),
		/* No stdin: immediate EOF, so cat ends at once. */
		"{\"id\": \"none\", \"argv\": [\"/bin/cat\"], \"limits\": {\"wall_time\": 5}}",
		"{\"id\": \"nul\", \"argv\": [\"/bin/cat\"], \"stdin\": \"a\\u0000b\"}",
		tfmt("{\"id\": \"big\", \"argv\": [\"/usr/bin/wc\", \"-c\"], "
		     "\"stdin\": {\"path\": \"%s\"}}", tpath("big.txt")),
		tfmt("{\"id\": \"bin\", \"argv\": [\"/bin/cat\"], \"stdin\": {\"path\": \"%s\"}}",
		     tpath("bin.dat")),
		NULL,
	};
	write_jobs(tpath("jobs"), lines);

	RUN(&r, NULL, 60, "-j", "2", tpath("jobs"));

	cr_expect_eq(r.res.n, 6);
	for (size_t k = 0; k < r.res.n; k++)
		expect_status(r.res.v[k], "ok");
	expect_stdout(result_id(&r.res, "inline"), "1 2\n");
	expect_stdout(result_id(&r.res, "file"), "from a file\nsecond line\n");
	expect_stdout(result_id(&r.res, "none"), "");
	expect_stdout(result_id(&r.res, "big"), "1048576\n");
	char *nul = joutput(result_id(&r.res, "nul"), "stdout", &len);
	cr_expect(nul && len == 3 && !memcmp(nul, "a\0b", 3), "stdin with a NUL byte came back as %zu bytes", len);
	free(nul);
	json_t *o = result_id(&r.res, "bin");
	char *got = joutput(o, "stdout", &len);
	cr_expect(!jhas(o, "stdout") && jhas(o, "stdout_base64"), "binary output not as base64");
	cr_expect(got && len == sizeof bin - 1 && !memcmp(got, bin, len),
		  "binary stdin came back as %zu bytes", len);
	free(got);
	cr_expect_eq(r.p.status, 0);
	run_free(&r);
}

/* ---- files ----------------------------------------------------------------- */

Test(batch, files_come_inline_or_from_the_host_with_their_modes, .timeout = 60)
{
	const char script[] = "#!/bin/sh\necho \"$0 ran with $1\"\n";
	struct run r;

	write_file(tpath("plain.sh"), script, sizeof script - 1, 0644);
	write_file(tpath("exec.sh"), script, sizeof script - 1, 0755);
	const char *lines[] = {
		/* An inline data file, in a subfolder. */
		"{\"id\": \"data\", \"argv\": [\"/bin/cat\", \"d/e/in.txt\"], "
		"\"files\": {\"d/e/in.txt\": {\"content\": \"inline data\\n\"}}}",
		/* An inline script made executable by its mode. */
		"{\"id\": \"inline_exec\", \"argv\": [\"./run.sh\", \"x\"], \"files\": "
		"{\"run.sh\": {\"content\": \"#!/bin/sh\\necho inline $1\\n\", \"mode\": \"0755\"}}}",
		/* A host file of mode 0644 made executable by "mode". */
		tfmt("{\"id\": \"host_mode\", \"argv\": [\"./p.sh\", \"y\"], "
		     "\"files\": {\"p.sh\": {\"path\": \"%s\", \"mode\": \"0755\"}}}", tpath("plain.sh")),
		/* A host file keeps its executable bit... */
		tfmt("{\"id\": \"host_x\", \"argv\": [\"./e.sh\", \"z\"], "
		     "\"files\": {\"e.sh\": {\"path\": \"%s\"}}}", tpath("exec.sh")),
		/* ...and its lack of one: it cannot be started. */
		tfmt("{\"id\": \"host_nox\", \"argv\": [\"./n.sh\"], "
		     "\"files\": {\"n.sh\": {\"path\": \"%s\"}}}", tpath("plain.sh")),
		/* The modes as the sandbox sees them. */
		tfmt("{\"id\": \"modes\", \"argv\": [\"/usr/bin/stat\", \"-c\", \"%%a %%n\", "
		     "\"a\", \"b\", \"c\", \"h\"], \"files\": {\"a\": {\"content\": \"\"}, "
		     "\"b\": {\"content\": \"\", \"mode\": \"0600\"}, "
		     "\"c\": {\"content\": \"\", \"mode\": \"755\"}, "
		     "\"h\": {\"path\": \"%s\", \"mode\": \"0700\"}}}", tpath("plain.sh")),
		NULL,
	};
	write_jobs(tpath("jobs"), lines);

	RUN(&r, NULL, 60, "-j", "3", tpath("jobs"));

	cr_expect_eq(r.res.n, 6);
	json_t *o = result_id(&r.res, "data");
	expect_status(o, "ok");
	expect_stdout(o, "inline data\n");
	o = result_id(&r.res, "inline_exec");
	expect_status(o, "ok");
	expect_stdout(o, "inline x\n");
	o = result_id(&r.res, "host_mode");
	expect_status(o, "ok");
	expect_stdout(o, "./p.sh ran with y\n");
	o = result_id(&r.res, "host_x");
	expect_status(o, "ok");
	expect_stdout(o, "./e.sh ran with z\n");
	o = result_id(&r.res, "host_nox");
	expect_status(o, "setup_error");
	o = result_id(&r.res, "modes");
	expect_status(o, "ok");
	expect_stdout(o, "644 a\n600 b\n755 c\n700 h\n");
	cr_expect_eq(r.p.status, 1, "a setup_error in the batch: exit status %d", r.p.status);
	run_free(&r);
}

/* ---- output ----------------------------------------------------------------- */

Test(batch, output_that_is_not_utf8_comes_as_base64, .timeout = 60)
{
	struct run r;
	const char *lines[] = {
		"{\"id\": \"bad_out\", \"argv\": [\"/bin/sh\", \"-c\", "
		"\"printf '\\\\377\\\\376'; echo fine >&2\"]}",
		"{\"id\": \"bad_err\", \"argv\": [\"/bin/sh\", \"-c\", "
		"\"echo fine; printf '\\\\200' >&2\"]}",
		"{\"id\": \"utf8\", \"argv\": [\"/usr/bin/printf\", \"h\\u00e9llo \\u2713\\n\"]}",
		"{\"id\": \"empty\", \"argv\": [\"/bin/true\"]}",
		NULL,
	};
	write_jobs(tpath("jobs"), lines);

	RUN(&r, NULL, 60, tpath("jobs"));

	cr_expect_eq(r.res.n, 4);
	json_t *o = result_id(&r.res, "bad_out");
	expect_status(o, "ok");
	cr_expect(!jhas(o, "stdout"), "bad_out has \"stdout\"");
	cr_expect_str_eq(jstr(o, "stdout_base64") ? jstr(o, "stdout_base64") : "", "//4=");
	cr_expect_str_eq(jstr(o, "stderr") ? jstr(o, "stderr") : "(none)", "fine\n");
	cr_expect(!jhas(o, "stderr_base64"));
	cr_expect_eq(jint(o, "stdout_bytes", -1), 2);
	o = result_id(&r.res, "bad_err");
	expect_status(o, "ok");
	expect_stdout(o, "fine\n");
	cr_expect(!jhas(o, "stdout_base64"));
	cr_expect(!jhas(o, "stderr"), "bad_err has \"stderr\"");
	cr_expect_str_eq(jstr(o, "stderr_base64") ? jstr(o, "stderr_base64") : "", "gA==");
	o = result_id(&r.res, "utf8");
	expect_status(o, "ok");
	expect_stdout(o, "h\xc3\xa9llo \xe2\x9c\x93\n");
	o = result_id(&r.res, "empty");
	expect_stdout(o, "");
	cr_expect_str_eq(jstr(o, "stderr") ? jstr(o, "stderr") : "(none)", "");
	cr_expect_eq(r.p.status, 0);
	run_free(&r);
}

static void expect_file(const char *path, const void *want, size_t want_len)
{
	size_t len = 0;
	char *got = read_file(path, &len);

	cr_expect_not_null(got, "%s was not written", path);
	if (got)
		cr_expect(len == want_len && !memcmp(got, want, len),
			  "%s holds %zu bytes \"%.200s\", expected %zu", path, len, got, want_len);
	free(got);
}

Test(batch, output_dir_gets_each_jobs_stdout_and_stderr, .timeout = 60)
{
	char yes[1024];
	struct run r;
	const char *dir = tpath("out");

	for (int k = 0; k < 1024; k += 2)
		memcpy(yes + k, "y\n", 2);
	cr_assert_eq(mkdir(dir, 0755), 0);
	const char *lines[] = {
		"{\"id\": \"both\", \"argv\": [\"/bin/sh\", \"-c\", \"echo to-out; echo to-err >&2\"]}",
		"{\"id\": \"bin\", \"argv\": [\"/usr/bin/printf\", \"\\\\377\\\\376\"]}",
		"{\"id\": \"quiet\", \"argv\": [\"/bin/true\"]}",
		"{\"id\": \"capped\", \"argv\": [\"/usr/bin/yes\"], \"limits\": {\"output\": \"1K\"}}",
		"{\"id\": \"a/b\", \"argv\": [\"/bin/true\"]}",
		"not json",
		NULL,
	};
	write_jobs(tpath("jobs"), lines);

	RUN(&r, NULL, 60, "--output-dir", dir, tpath("jobs"));

	cr_expect_eq(r.res.n, 6);
	for (size_t k = 0; k < r.res.n; k++) {
		if (!strcmp(jstr(r.res.v[k], "status"), "invalid"))
			continue;
		expect_result_object(r.res.v[k], true);
	}
	expect_status(result_id(&r.res, "both"), "ok");
	expect_file(tfmt("%s/both.stdout", dir), "to-out\n", 7);
	expect_file(tfmt("%s/both.stderr", dir), "to-err\n", 7);
	expect_status(result_id(&r.res, "bin"), "ok");
	expect_file(tfmt("%s/bin.stdout", dir), "\xff\xfe", 2);
	expect_file(tfmt("%s/bin.stderr", dir), "", 0);
	expect_status(result_id(&r.res, "quiet"), "ok");
	expect_file(tfmt("%s/quiet.stdout", dir), "", 0);
	expect_file(tfmt("%s/quiet.stderr", dir), "", 0);
	json_t *o = result_id(&r.res, "capped");
	expect_status(o, "output_limit");
	expect_file(tfmt("%s/capped.stdout", dir), yes, sizeof yes);
	/* An id that would leave DIR is refused, and names its field. */
	o = result_line(&r.res, 4);
	expect_status(o, "invalid");
	cr_expect_str_eq(jstr(o, "id") ? jstr(o, "id") : "(null)", "a/b");
	cr_expect(strstr(jstr(o, "message"), "line 4: field 'id'"), "%s", jstr(o, "message"));
	o = result_line(&r.res, 5);
	expect_status(o, "invalid");
	cr_expect(json_is_null(json_object_get(o, "id")));
	/* Nothing else appeared in DIR. */
	struct stat st;
	cr_expect_neq(stat(tfmt("%s/a", dir), &st), 0, "a folder 'a' was made in DIR");
	cr_expect_eq(r.p.status, 1);
	run_free(&r);
}
