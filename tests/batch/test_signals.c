/* Signals to the CLI (CLI.md): SIGINT, SIGTERM and SIGHUP to `ringjail run`
 * kill the sandbox and report `interrupted` (exit status 1), in --meta
 * too; `batch` handles SIGHUP and SIGQUIT as it does SIGTERM; and a signal
 * that comes while the batch waits on a quiet input pipe is not lost. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* ---- run --------------------------------------------------------------------- */

/* `ringjail run --meta FILE` of a sleeper; once it runs, sig. The run ends
 * within a second or two with exit status 1, the sandbox's processes gone,
 * and --meta says interrupted with no exit code (the program did not end
 * by itself) and names the signal. */
static void interrupt_run(int sig, const char *name)
{
	/* Only the sleeper has the marker as an argument of its own: the
	 * shell command that starts it is one longer string. */
	const char *marker = tfmt("0.%d%d7", (int)getpid(), sig);
	const char *meta = tpath("meta.json");
	struct proc p;
	int running = 0;

	proc_start_cmd(&p, "run", (const char *const[]){ "--meta", meta,
		       "--wall-time", "30", "--", "/bin/sh", "-c",
		       tfmt("/bin/sleep 30 %s; echo done", marker), NULL },
		       NULL, 0, false);
	while (now_s() - p.t0 < 20 && running < 1) {
		proc_pump(&p, 20);
		running = host_count_arg(marker);
	}
	cr_assert_eq(running, 1, "%s: the sleeper never started", name);
	double t_sig = now_s();
	cr_assert_eq(kill(p.pid, sig), 0);
	proc_finish(&p, now_s() - p.t0 + 10);
	double took = now_s() - t_sig;

	cr_expect_eq(p.status, 1, "%s: exit status %d, expected 1", name, p.status);
	cr_expect(took < 2.0, "%s: run took %.1f s to end", name, took);
	cr_expect_eq(host_count_arg(marker), 0, "%s: the sleeper outlived run", name);
	size_t len;
	char *text = read_file(meta, &len);
	cr_assert_not_null(text, "%s: no --meta file", name);
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);
	cr_assert_not_null(o, "%s: --meta is not JSON (%s): %s", name, e.text, text);
	expect_status(o, "interrupted");
	cr_expect(json_is_null(json_object_get(o, "exit_code")), "%s: exit_code set", name);
	cr_expect(jstr(o, "message") && strstr(jstr(o, "message"), name),
		  "%s: message \"%s\" does not name the signal", name, jstr(o, "message"));
	cr_expect(p.err.data && strstr(p.err.data, name),
		  "%s: stderr does not name the signal: %s", name, p.err.data);
	cr_expect(!p.out.data || !strstr(p.out.data, "done"), "the program went on");
	json_decref(o);
	free(text);
	proc_free(&p);
}

Test(batch, run_sigint_reports_interrupted, .timeout = 60)
{
	interrupt_run(SIGINT, "SIGINT");
}

Test(batch, run_sigterm_reports_interrupted, .timeout = 60)
{
	interrupt_run(SIGTERM, "SIGTERM");
}

Test(batch, run_sighup_reports_interrupted, .timeout = 60)
{
	interrupt_run(SIGHUP, "SIGHUP");
}

Test(batch, run_sigquit_reports_interrupted, .timeout = 60)
{
	interrupt_run(SIGQUIT, "SIGQUIT");
}

/* ---- batch ------------------------------------------------------------------- */

/* Two sleepers at -j 2 from a file; once both run, sig. Both are written
 * as interrupted, the summary names the signal, exit status 1, nothing
 * left (proc_finish checks the batch's TMPDIR). */
static void interrupt_batch_by(int sig, const char *name)
{
	const char *marker = tfmt("0.%d%d8", (int)getpid(), sig);
	const char *lines[] = {
		tfmt("{\"id\": \"a\", \"argv\": [\"/bin/sleep\", \"30\", \"%s\"]}", marker),
		tfmt("{\"id\": \"b\", \"argv\": [\"/bin/sleep\", \"30\", \"%s\"]}", marker),
		tfmt("{\"id\": \"c\", \"argv\": [\"/bin/sleep\", \"30\", \"%s\"]}", marker),
		NULL,
	};
	struct proc p;
	struct results res;
	int running = 0;

	write_jobs(tpath("jobs"), lines);
	proc_start(&p, (const char *const[]){ "-j", "2", "--no-progress", tpath("jobs"), NULL },
		   NULL, 0, false);
	while (now_s() - p.t0 < 20 && running < 2) {
		proc_pump(&p, 20);
		running = host_count_arg(marker);
	}
	cr_assert_eq(running, 2, "%s: %d of 2 sleepers running after 20 s", name, running);
	double t_sig = now_s();
	cr_assert_eq(kill(p.pid, sig), 0);
	proc_finish(&p, now_s() - p.t0 + 10);
	double took = now_s() - t_sig;

	results_parse(&res, p.out.data ? p.out.data : "", p.out.len);
	cr_expect_eq(p.status, 1, "%s: exit status %d", name, p.status);
	cr_expect(took < 3.0, "%s: the batch took %.1f s to end", name, took);
	cr_expect_eq(res.n, 2, "%s: %zu results, expected the 2 running jobs'", name, res.n);
	for (size_t k = 0; k < res.n; k++) {
		expect_status(res.v[k], "interrupted");
		cr_expect(jstr(res.v[k], "message") && strstr(jstr(res.v[k], "message"), name),
			  "%s: message %s", name, jstr(res.v[k], "message"));
	}
	EXPECT_SUMMARY(&p, 2, "interrupted 2");
	cr_expect(p.err.data && strstr(p.err.data, tfmt("stopped by %s", name)),
		  "%s: summary: %s", name, p.err.data);
	cr_expect_eq(host_count_arg(marker), 0, "%s: sleepers left after the batch", name);
	results_free(&res);
	proc_free(&p);
}

Test(batch, sighup_is_handled_as_sigterm, .timeout = 60)
{
	interrupt_batch_by(SIGHUP, "SIGHUP");
}

Test(batch, sigquit_is_handled_as_sigterm, .timeout = 60)
{
	interrupt_batch_by(SIGQUIT, "SIGQUIT");
}

/* `sleep 5 | ringjail batch -`: the batch waits on a pipe that is open
 * and quiet. One SIGINT must end it at once (exit status 1: it was
 * interrupted), not be taken for input and then lost in a blocking read. */
Test(batch, one_sigint_ends_a_batch_waiting_on_a_quiet_pipe, .timeout = 60)
{
	struct proc p;

	proc_start(&p, (const char *const[]){ "--no-progress", "-", NULL }, NULL, 0, true);
	proc_pump(&p, 500);
	cr_assert(!p.exited && p.out_fd >= 0, "the batch ended with its stdin open");
	double t_sig = now_s();
	cr_assert_eq(kill(p.pid, SIGINT), 0);
	/* Keep stdin open: the batch must end by itself. */
	while (now_s() - t_sig < 5 && (p.out_fd >= 0 || p.err_fd >= 0))
		proc_pump(&p, 20);
	double took = now_s() - t_sig;
	proc_finish(&p, now_s() - p.t0 + 10);
	cr_expect(took < 1.0, "the batch took %.1f s to end after SIGINT", took);
	cr_expect_eq(p.status, 1, "exit status %d after SIGINT", p.status);
	cr_expect_eq(p.out.len, 0, "results from no jobs: %s", p.out.data);
	cr_expect(p.err.data && strstr(p.err.data, "stopped by SIGINT"), "stderr: %s",
		  p.err.data);
	proc_free(&p);
}
