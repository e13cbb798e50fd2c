/* The batch as a whole (CLI.md, "ringjail batch"): exit statuses, usage
 * errors, --help, the summary, sharding, results streaming as jobs end and
 * jobs streaming in, interruption, and scale: 10,000 jobs, a million-line
 * job file in bounded memory. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slowhost.h"
#include "util.h"

/* ---- exit status and summary ------------------------------------------------ */

Test(batch, exit_status_is_0_unless_a_line_is_invalid_or_could_not_run, .timeout = 60)
{
	struct run r;

	/* Read from stdin (no file named): every job ends ok. */
	RUN(&r, "{\"id\": \"a\", \"argv\": [\"/bin/echo\", \"A\"]}\n"
		"{\"id\": \"b\", \"argv\": [\"/bin/echo\", \"B\"]}\n"
		"{\"id\": \"c\", \"argv\": [\"/bin/echo\", \"C\"]}\n", 30, "--no-progress");
	cr_expect_eq(r.p.status, 0, "all ok: exit status %d", r.p.status);
	cr_expect_eq(r.res.n, 3);
	expect_stdout(result_id(&r.res, "a"), "A\n");
	expect_stdout(result_id(&r.res, "b"), "B\n");
	expect_stdout(result_id(&r.res, "c"), "C\n");
	EXPECT_SUMMARY(&r.p, 3, "ok 3");
	run_free(&r);

	/* "-" is stdin too; a program's own failure is its result, not the
	 * batch's: still 0. */
	RUN(&r, "{\"id\": \"re\", \"argv\": [\"/bin/sh\", \"-c\", \"exit 1\"]}\n"
		"{\"id\": \"sg\", \"argv\": [\"/bin/sh\", \"-c\", \"kill -ABRT $$\"]}\n"
		"{\"id\": \"wt\", \"argv\": [\"/bin/sleep\", \"3\"], \"limits\": {\"wall_time\": 0.1}}\n",
	    30, "-");
	cr_expect_eq(r.p.status, 0, "runtime_error, signaled, wall_time_limit: exit status %d",
		     r.p.status);
	expect_status(result_id(&r.res, "re"), "runtime_error");
	expect_status(result_id(&r.res, "sg"), "signaled");
	expect_status(result_id(&r.res, "wt"), "wall_time_limit");
	EXPECT_SUMMARY(&r.p, 3, "runtime_error 1", "signaled 1", "wall_time_limit 1");
	run_free(&r);

	/* One invalid line: 1, and the others still ran. */
	RUN(&r, "{\"id\": \"a\", \"argv\": [\"/bin/echo\", \"A\"]}\n"
		"{\"id\": \"b\", \"argv\": [\"/bin/echo\"], \"limits\": {\"mem\": 0}}\n"
		"{\"id\": \"c\", \"argv\": [\"/bin/echo\", \"C\"]}\n", 30, "-j", "1");
	cr_expect_eq(r.p.status, 1, "an invalid line: exit status %d", r.p.status);
	expect_stdout(result_id(&r.res, "a"), "A\n");
	expect_status(result_id(&r.res, "b"), "invalid");
	expect_stdout(result_id(&r.res, "c"), "C\n");
	EXPECT_SUMMARY(&r.p, 3, "ok 2", "invalid 1");
	run_free(&r);

	/* No jobs at all: nothing to fail. */
	RUN(&r, "", 30, "-j", "2");
	cr_expect_eq(r.p.status, 0, "no jobs: exit status %d", r.p.status);
	cr_expect_eq(r.res.n, 0);
	EXPECT_SUMMARY(&r.p, 0, NULL);
	run_free(&r);
}

Test(batch, usage_errors_exit_2_and_run_nothing, .timeout = 60)
{
	const char *jobs = tpath("jobs");
	const char *const lines[] = { "{\"id\": \"a\", \"argv\": [\"/bin/echo\", \"ran\"]}", NULL };
	const char *const *cases[] = {
		(const char *const[]){ "-j", "0", jobs, NULL },
		(const char *const[]){ "-j", "abc", jobs, NULL },
		(const char *const[]){ "-j", "-1", jobs, NULL },
		(const char *const[]){ "-j", "1.5", jobs, NULL },
		(const char *const[]){ jobs, "-j", NULL },
		(const char *const[]){ "--shard", "3/3", jobs, NULL },
		(const char *const[]){ "--shard", "4/3", jobs, NULL },
		(const char *const[]){ "--shard", "0/0", jobs, NULL },
		(const char *const[]){ "--shard", "1", jobs, NULL },
		(const char *const[]){ "--shard", "a/3", jobs, NULL },
		(const char *const[]){ "--shard", "-1/3", jobs, NULL },
		(const char *const[]){ "--bogus", jobs, NULL },
		(const char *const[]){ "--progress=yes", jobs, NULL },
		(const char *const[]){ jobs, jobs, NULL },
		(const char *const[]){ tpath("no-such-jobs.jsonl"), NULL },
		(const char *const[]){ "--output-dir", tpath("no-such-dir"), jobs, NULL },
	};

	write_jobs(jobs, lines);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct run r;

		run_batch(&r, NULL, 30, cases[k]);
		cr_expect_eq(r.p.status, 2, "case %zu (%s %s): exit status %d, stderr: %s", k,
			     cases[k][0], cases[k][1] ? cases[k][1] : "", r.p.status,
			     r.p.err.data ? r.p.err.data : "");
		cr_expect_eq(r.p.out.len, 0, "case %zu (%s): stdout: %s", k, cases[k][0],
			     r.p.out.data);
		cr_expect(r.p.err.data && strstr(r.p.err.data, "ringjail"),
			  "case %zu (%s): no message on stderr", k, cases[k][0]);
		run_free(&r);
	}
}

/* The block of text under OPTIONS that documents opt: from its line to the
 * next option's. */
static char *option_block(const char *opts, const char *opt)
{
	char needle[64];
	const char *p, *end;

	snprintf(needle, sizeof needle, "\n    %s", opt);
	p = strstr(opts, needle);
	if (!p)
		return NULL;
	p++;
	end = strstr(p + 1, "\n    -");
	if (!end)
		end = p + strlen(p);
	return strndup(p, (size_t)(end - p));
}

Test(batch, help_lists_every_option_with_its_default, .timeout = 30)
{
	struct proc p;
	static const struct { const char *opt; bool has_default; } want[] = {
		{ "-j N, --jobs N", true },
		{ "--progress", true },
		{ "--no-progress", false }, /* the off switch of --progress */
		{ "--shard I/N", true },
		{ "--output-dir DIR", true },
		{ "-h, --help", false },
	};

	proc_start(&p, (const char *const[]){ "--help", NULL }, NULL, 0, false);
	proc_finish(&p, 30);
	cr_assert_eq(p.status, 0, "exit status %d", p.status);
	const char *help = p.out.data ? p.out.data : "";
	const char *section = strstr(help, "\nOPTIONS\n");
	cr_assert_not_null(section, "no OPTIONS section: %s", help);
	char *opts = strndup(section, strstr(section, "\nEXIT STATUS") ?
			     (size_t)(strstr(section, "\nEXIT STATUS") - section) : strlen(section));
	for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
		char *b = option_block(opts, want[k].opt);

		cr_expect_not_null(b, "--help does not list \"%s\":\n%s", want[k].opt, opts);
		if (b && want[k].has_default)
			cr_expect(strstr(b, "default"), "\"%s\" has no default:\n%s", want[k].opt, b);
		free(b);
	}
	/* The defaults CLI.md and the code agree on. */
	char *j = option_block(opts, "-j N");
	cr_expect(j && strstr(j, "number of online CPUs"), "-j's default: %s", j);
	free(j);
	char *s = option_block(opts, "--shard");
	cr_expect(s && strstr(s, "0/1"), "--shard's default: %s", s);
	free(s);
	/* The job file's default, and the exit statuses. */
	cr_expect(strstr(help, "stdin"), "--help does not say the jobs default to stdin");
	cr_expect(strstr(help, "EXIT STATUS"), "--help has no EXIT STATUS");
	free(opts);
	cr_expect_eq(p.err.len, 0, "--help wrote to stderr: %s", p.err.data);
	proc_free(&p);
}

Test(batch, progress_goes_to_stderr_only_when_asked, .timeout = 60)
{
	const char *jobs = "{\"id\": \"p0\", \"argv\": [\"/bin/sleep\", \"0.3\"]}\n"
			   "{\"id\": \"p1\", \"argv\": [\"/bin/sleep\", \"0.3\"]}\n";
	struct run r;

	/* stderr is a pipe, not a terminal: no progress by default. */
	RUN(&r, jobs, 30, "-j", "1");
	cr_expect_eq(r.res.n, 2);
	cr_expect(r.p.err.data && !strchr(r.p.err.data, '\r') &&
		  !strncmp(r.p.err.data, "ringjail batch: ", 16),
		  "stderr holds more than the summary: %s", r.p.err.data);
	run_free(&r);

	RUN(&r, jobs, 30, "-j", "1", "--progress");
	cr_expect_eq(r.res.n, 2, "progress must not touch stdout");
	cr_expect(r.p.err.data && strstr(r.p.err.data, "\r["),
		  "no progress on stderr with --progress: %s", r.p.err.data);
	EXPECT_SUMMARY(&r.p, 2, "ok 2");
	run_free(&r);

	RUN(&r, jobs, 30, "-j", "1", "--progress", "--no-progress");
	cr_expect(r.p.err.data && !strchr(r.p.err.data, '\r'),
		  "progress after --no-progress: %s", r.p.err.data);
	run_free(&r);
}

/* ---- shards ------------------------------------------------------------------- */

Test(batch, shards_partition_the_lines_by_line_number, .timeout = 90)
{
	enum { LINES = 30 };
	const char *lines[LINES + 1];
	int seen[LINES] = { 0 }, shard_of[LINES];
	size_t total = 0;

	for (int l = 0; l < LINES; l++)
		lines[l] = tfmt("{\"id\": \"s%d\", \"argv\": [\"/bin/echo\", \"%d\"]}", l, l);
	/* The same id in two shards is no duplicate; in one shard it is. */
	lines[0] = "{\"id\": \"a\", \"argv\": [\"/bin/echo\", \"0\"]}";
	lines[1] = "{\"id\": \"a\", \"argv\": [\"/bin/echo\", \"1\"]}";
	lines[2] = "{\"id\": \"b\", \"argv\": [\"/bin/echo\", \"2\"]}";
	lines[5] = "{\"id\": \"b\", \"argv\": [\"/bin/echo\", \"5\"]}";
	lines[7] = "garbage";
	lines[LINES] = NULL;
	write_jobs(tpath("jobs"), lines);

	for (int i = 0; i < 3; i++) {
		struct run r;

		RUN(&r, NULL, 60, "--shard", tfmt("%d/3", i), "-j", "4", tpath("jobs"));
		for (size_t k = 0; k < r.res.n; k++) {
			json_t *o = r.res.v[k];
			const char *st = jstr(o, "status");
			long line = -1;

			if (st && !strcmp(st, "ok"))
				line = atol(jstr(o, "stdout"));
			else if (jhas(o, "line"))
				line = (long)jint(o, "line", -1);
			cr_assert(line >= 0 && line < LINES, "shard %d: a result of no line: %s",
				  i, json_dumps(o, JSON_COMPACT));
			seen[line]++;
			shard_of[line] = i;
			cr_expect_eq(line % 3, i, "line %ld ran in shard %d", line, i);
		}
		total += r.res.n;
		if (i == 0) {
			cr_expect_eq(r.p.status, 0, "shard 0/3: exit status %d", r.p.status);
			expect_stdout(result_id(&r.res, "a"), "0\n");
		} else if (i == 1) {
			cr_expect_eq(r.p.status, 1, "shard 1/3 (garbage on line 7): exit status %d",
				     r.p.status);
			expect_stdout(result_id(&r.res, "a"), "1\n");
			json_t *o = result_line(&r.res, 7);
			expect_status(o, "invalid");
			cr_expect(json_is_null(json_object_get(o, "id")));
		} else {
			cr_expect_eq(r.p.status, 1, "shard 2/3 (a duplicate on line 5): exit "
				     "status %d", r.p.status);
			json_t *o = result_line(&r.res, 5);
			expect_status(o, "invalid");
			cr_expect_str_eq(jstr(o, "id") ? jstr(o, "id") : "(null)", "b");
			cr_expect(strstr(jstr(o, "message"), "line 5"), "%s", jstr(o, "message"));
			json_t *b[2];
			cr_expect_eq(results_with_id(&r.res, "b", b, 2), 2);
		}
		EXPECT_SUMMARY(&r.p, r.res.n, NULL);
		run_free(&r);
	}
	cr_expect_eq(total, LINES, "%zu results over 3 shards for %d lines", total, LINES);
	for (int l = 0; l < LINES; l++)
		cr_expect_eq(seen[l], 1, "line %d got %d results (shard %d)", l, seen[l],
			     seen[l] ? shard_of[l] : -1);
}

/* ---- streaming ------------------------------------------------------------------ */

Test(batch, results_stream_out_as_each_job_ends, .timeout = 60)
{
	const char *const lines[] = {
		"{\"id\": \"slow\", \"argv\": [\"/bin/sleep\", \"2\"]}",
		"{\"id\": \"fast\", \"argv\": [\"/bin/echo\", \"fast\"]}",
		NULL,
	};
	struct proc p;
	struct results res;
	double first = -1, second = -1;

	write_jobs(tpath("jobs"), lines);
	proc_start(&p, (const char *const[]){ "-j", "2", tpath("jobs"), NULL }, NULL, 0, false);
	while (now_s() - p.t0 < 10 && proc_lines(&p) < 2 && p.out_fd >= 0) {
		proc_pump(&p, 10);
		if (first < 0 && proc_lines(&p) >= 1)
			first = now_s() - p.t0;
		if (second < 0 && proc_lines(&p) >= 2)
			second = now_s() - p.t0;
	}
	proc_finish(&p, 20);
	results_parse(&res, p.out.data ? p.out.data : "", p.out.len);
	cr_assert_eq(res.n, 2);
	cr_expect_str_eq(jstr(res.v[0], "id"), "fast", "the first result is not the fast job's");
	cr_expect(first >= 0 && first < scaled_ms(1000) / 1000, "the fast job's result came after %.3f s", first);
	cr_expect(second >= 2.0, "the slow job's result came after %.3f s", second);
	expect_stdout(res.v[0], "fast\n");
	expect_status(res.v[1], "ok");
	cr_expect_eq(p.status, 0);
	results_free(&res);
	proc_free(&p);
}

Test(batch, jobs_stream_in_from_stdin_while_it_is_open, .timeout = 60)
{
	const char *one = "{\"id\": \"one\", \"argv\": [\"/bin/echo\", \"1\"]}\n";
	const char *two = "{\"id\": \"two\", \"argv\": [\"/bin/echo\", \"2\"]}\n";
	struct proc p;
	struct results res;

	proc_start(&p, (const char *const[]){ "-j", "2", NULL }, one, strlen(one), true);
	while (now_s() - p.t0 < 5 && proc_lines(&p) < 1)
		proc_pump(&p, 10);
	cr_expect_eq(proc_lines(&p), 1, "no result for the first job %.1f s after it "
		     "was written, stdin still open", now_s() - p.t0);
	cr_expect_geq(p.out_fd, 0, "the batch ended while its stdin was open");
	p.feed = two;
	p.feed_len = strlen(two);
	p.fed = 0;
	double t = now_s();
	while (now_s() - t < 5 && proc_lines(&p) < 2)
		proc_pump(&p, 10);
	cr_expect_eq(proc_lines(&p), 2, "no result for the second job within 5 s");
	proc_finish(&p, 30);
	results_parse(&res, p.out.data ? p.out.data : "", p.out.len);
	cr_assert_eq(res.n, 2);
	expect_stdout(res.v[0], "1\n");
	expect_stdout(res.v[1], "2\n");
	cr_expect_eq(p.status, 0);
	results_free(&res);
	proc_free(&p);
}

/* ---- interruption ----------------------------------------------------------------- */

/* 50 sleepers at -j 4; once 4 run, sig. The batch starts no more, kills
 * the 4, writes them as interrupted and exits 1, leaving no process,
 * cgroup or sandbox root behind. */
static void interrupt_batch(int sig, bool twice, const char *name)
{
	const char *lines[51];
	/* GNU sleep adds its arguments: this one is in no other process's
	 * argv. */
	const char *marker = tfmt("0.%d7", (int)getpid());
	char *before = cgroup_pools(), *during, *running_pools, *after, *leaked;
	struct proc p;
	struct results res;
	int running = 0;

	for (int i = 0; i < 50; i++)
		lines[i] = tfmt("{\"id\": \"s%d\", \"argv\": [\"/bin/sleep\", \"30\", \"%s\"]}",
				i, marker);
	lines[50] = NULL;
	write_jobs(tpath("jobs"), lines);
	cr_assert_eq(host_count_arg(marker), 0);

	proc_start(&p, (const char *const[]){ "-j", "4", "--no-progress", tpath("jobs"), NULL },
		   NULL, 0, false);
	while (now_s() - p.t0 < 20 && running < 4) {
		proc_pump(&p, 20);
		running = host_count_arg(marker);
		cr_assert_leq(running, 4, "%d sleepers at -j 4", running);
	}
	cr_assert_eq(running, 4, "%d of 4 sleepers running after 20 s", running);
	proc_pump(&p, 200);
	cr_expect_eq(host_count_arg(marker), 4, "more jobs started at -j 4");
	cr_expect_eq(proc_lines(&p), 0, "results before the signal: %s", p.out.data);
	during = cgroup_pools();
	running_pools = cgroup_new_pools(before, during, p.pid);

	double t_sig = now_s();
	cr_assert_eq(kill(p.pid, sig), 0);
	/* A second signal ends the wait for the killed jobs' ends: their
	 * results are still written, as interrupted. */
	if (twice) {
		/* Apart, so that the two are not merged while pending. */
		usleep(2000);
		cr_assert_eq(kill(p.pid, sig), 0);
	}
	proc_finish(&p, now_s() - p.t0 + 15);
	double took = now_s() - t_sig;

	results_parse(&res, p.out.data ? p.out.data : "", p.out.len);
	cr_expect_eq(p.status, 1, "%s: exit status %d", name, p.status);
	cr_expect(took < 5.0, "%s: the batch took %.1f s to end", name, took);
	cr_expect_eq(res.n, 4, "%s: %zu results, expected the 4 running jobs'", name, res.n);
	for (size_t k = 0; k < res.n; k++) {
		const char *id = jstr(res.v[k], "id");
		cr_log_info("%s: %s: %s", name, id, jstr(res.v[k], "message"));
		expect_status(res.v[k], "interrupted");
		cr_expect(id && (!strcmp(id, "s0") || !strcmp(id, "s1") || !strcmp(id, "s2") ||
				 !strcmp(id, "s3")), "result for %s, which never started", id);
		cr_expect(json_is_null(json_object_get(res.v[k], "exit_code")));
	}
	for (int i = 0; i < 4; i++) {
		json_t *o[2];
		cr_expect_eq(results_with_id(&res, tfmt("s%d", i), o, 2), 1,
			     "no single result for running job s%d", i);
	}
	EXPECT_SUMMARY(&p, 4, "interrupted 4");
	/* Where the sandboxes had cgroups, the scan must have seen their
	 * pools while they ran, or the check below proves nothing. */
	if (res.n && !strcmp(jstr(json_object_get(res.v[0], "limits"), "pids") ?
			     jstr(json_object_get(res.v[0], "limits"), "pids") : "", "cgroup"))
		cr_expect_not_null(running_pools, "the running batch's cgroups were not "
				   "found under /sys/fs/cgroup");
	/* Nothing left: no sleeper, no cgroup of that ringjail (its TMPDIR is
	 * checked by proc_finish). */
	cr_expect_eq(host_count_arg(marker), 0, "%s: sleepers left after the batch", name);
	after = cgroup_pools();
	leaked = cgroup_new_pools(before, after, p.pid);
	cr_expect_null(leaked, "%s: cgroups left: %s", name, leaked);
	free(before);
	free(during);
	free(running_pools);
	free(after);
	free(leaked);
	results_free(&res);
	proc_free(&p);
}

Test(batch, sigint_kills_the_running_jobs_and_reports_them_interrupted, .timeout = 90)
{
	interrupt_batch(SIGINT, false, "SIGINT");
}

Test(batch, sigterm_kills_the_running_jobs_and_reports_them_interrupted, .timeout = 90)
{
	interrupt_batch(SIGTERM, false, "SIGTERM");
}

Test(batch, a_second_sigint_still_reports_every_running_job_and_leaves_nothing,
     .timeout = 90)
{
	interrupt_batch(SIGINT, true, "SIGINT twice");
}

/* ---- scale ----------------------------------------------------------------------- */

Test(batch, ten_thousand_tiny_jobs_lose_nothing, .timeout = 600)
{
	enum { N = 10000 };
	static unsigned char seen[N];
	FILE *f = fopen(tpath("jobs"), "w");
	struct run r;

	cr_assert_not_null(f);
	for (int i = 0; i < N; i++)
		fprintf(f, "{\"id\": \"j%d\", \"argv\": [\"/bin/true\"]}\n", i);
	cr_assert_eq(fclose(f), 0);

	RUN(&r, NULL, 540, "-j", "8", "--no-progress", tpath("jobs"));
	cr_log_info("10,000 jobs at -j 8: %.1f s, %.0f runs/s, ringjail max RSS %ld KiB",
		    r.p.wall_s, N / r.p.wall_s, r.p.maxrss_kib);

	cr_expect_eq(r.res.n, N, "%zu results for %d jobs", r.res.n, N);
	size_t bad_ids = 0, not_ok = 0;
	for (size_t k = 0; k < r.res.n; k++) {
		const char *id = jstr(r.res.v[k], "id"), *st = jstr(r.res.v[k], "status");
		char *end;
		long i = id && id[0] == 'j' ? strtol(id + 1, &end, 10) : -1;

		if (i < 0 || i >= N || *end || seen[i]++)
			bad_ids++;
		if (!st || strcmp(st, "ok")) {
			if (not_ok++ < 5)
				expect_status(r.res.v[k], "ok");
		}
	}
	cr_expect_eq(bad_ids, 0, "%zu results with an unknown or repeated id", bad_ids);
	cr_expect_eq(not_ok, 0, "%zu results not ok", not_ok);
	size_t missing = 0;
	for (int i = 0; i < N; i++)
		missing += !seen[i];
	cr_expect_eq(missing, 0, "%zu ids got no result", missing);
	cr_expect_eq(r.p.status, 0, "exit status %d", r.p.status);
	EXPECT_SUMMARY(&r.p, N, "ok 10000");
	run_free(&r);
}

Test(batch, a_million_line_job_file_streams_in_bounded_memory, .timeout = 300)
{
	enum { LINES = 1000000, SHARDS = 1000 };
	FILE *f = fopen(tpath("jobs"), "w");
	struct run r;

	cr_assert_not_null(f);
	for (int i = 0; i < LINES; i++)
		fprintf(f, "{\"id\": \"t%d\", \"argv\": [\"/bin/true\"]}\n", i);
	cr_assert_eq(fclose(f), 0);

	RUN(&r, NULL, 240, "--shard", "0/1000", "-j", "8", tpath("jobs"));
	cr_log_info("1,000,000 lines, 1,000 run: %.1f s; peak RSS: VmHWM %ld KiB (polled), "
		    "ru_maxrss %ld KiB", r.p.wall_s, r.p.hwm_kib, r.p.maxrss_kib);

	cr_expect_eq(r.res.n, LINES / SHARDS);
	cr_expect_eq(results_count_status(&r.res, "ok"), LINES / SHARDS);
	for (int i = 0; i < LINES; i += SHARDS * 97) {
		json_t *o[2];
		cr_expect_eq(results_with_id(&r.res, tfmt("t%d", i), o, 2), 1, "t%d", i);
	}
	cr_expect_eq(r.p.status, 0);
	/* ru_maxrss is the larger of ringjail's own peak and its children's,
	 * so it bounds ringjail's from above; VmHWM polled while it ran bounds
	 * it from below and shows that the sampling worked. */
	cr_expect(r.p.hwm_kib > 0, "VmHWM was never read");
	cr_expect_lt(r.p.hwm_kib, 64 * 1024, "VmHWM %ld KiB", r.p.hwm_kib);
	cr_expect_lt(r.p.maxrss_kib, 64 * 1024, "peak RSS %ld KiB", r.p.maxrss_kib);
	run_free(&r);
}
