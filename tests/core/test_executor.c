/* The executor end to end: event order, verdicts of ordinary exits and
 * signals, setup failures, kills, many sandboxes at once, and what an
 * executor leaves behind. Every test runs real sandboxes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "slowhost.h"
#include "util.h"

/* ---- event order ------------------------------------------------------- */

Test(events, output_then_exactly_one_final_per_id)
{
	struct col c;
	col_init(&c, 0, 4096);
	rj_plan *chatty = PLAN("/bin/sh", "-c",
			       "for i in 1 2 3; do echo o$i; echo e$i >&2; sleep 0.02; done; exit 4");
	rj_plan *quiet = PLAN("true");
	/* The shell must print "before" within the wall limit while the
	 * other 7 sandboxes start; the sleep outlasts the limit. */
	char sleeper[64];
	uint64_t wall_us = scaled_us(200000);
	snprintf(sleeper, sizeof sleeper, "echo before; exec sleep %llu",
		 (unsigned long long)(wall_us / 1000000 + 5));
	rj_plan *slow = PLAN("/bin/sh", "-c", sleeper);
	set_limit(slow, RJ_LIMIT_WALL_TIME, wall_us);

	for (int i = 0; i < 6; i++)
		col_spawn(&c, chatty);
	size_t q = col_spawn(&c, quiet);
	size_t s = col_spawn(&c, slow);
	col_wait(&c, (int)scaled_ms(10000));
	/* Nothing may trail a final event, even a while later. */
	col_pump(&c, 300);
	col_check_invariants(&c);

	for (size_t i = 0; i < 6; i++) {
		struct rec *r = &c.recs[i];
		cr_assert_eq(r->final_type, RJ_EVENT_COMPLETED, "id %llu", (unsigned long long)r->id);
		cr_assert_eq(r->res.status, RJ_STATUS_RUNTIME_ERROR, "%s", r->res.message);
		cr_assert_eq(r->res.exit_code, 4);
		cr_assert_str_eq(r->out, "o1\no2\no3\n");
		cr_assert_str_eq(r->err, "e1\ne2\ne3\n");
		cr_assert_geq(r->out_events, 1);
		cr_assert_geq(r->err_events, 1);
		cr_assert_eq(r->res.stdout_bytes, r->out_total, "result says %llu stdout bytes, events %llu",
			     (unsigned long long)r->res.stdout_bytes, (unsigned long long)r->out_total);
		cr_assert_eq(r->res.stderr_bytes, r->err_total);
	}
	cr_assert_eq(c.recs[q].final_type, RJ_EVENT_COMPLETED);
	cr_assert_eq(c.recs[q].res.status, RJ_STATUS_OK, "%s", c.recs[q].res.message);
	cr_assert_eq(c.recs[q].out_events + c.recs[q].err_events, 0, "true printed something");
	cr_assert_eq(c.recs[s].final_type, RJ_EVENT_TIMEOUT);
	cr_assert_str_eq(c.recs[s].out, "before\n");
	col_free(&c);
	rj_plan_free(chatty);
	rj_plan_free(quiet);
	rj_plan_free(slow);
}

/* Output is handed out as it is produced, not when the program ends. */
Test(events, stdout_streamed_before_exit)
{
	rj_plan *p = PLAN("/bin/sh", "-c", "echo first; sleep 1; echo second");
	struct rec r = run1(p, 0, 10000);

	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s", r.res.message);
	cr_assert_str_eq(r.out, "first\nsecond\n");
	cr_assert_geq(r.first_out_ms, 0);
	cr_assert_lt(r.first_out_ms, 700, "first STDOUT event after %.1f ms", r.first_out_ms);
	cr_assert_geq(r.final_ms, 1000, "final event after %.1f ms, before the sleep ended", r.final_ms);
	rec_free(&r);
	rj_plan_free(p);
}

/* ---- exit codes and signals --------------------------------------------- */

Test(exit, codes_0_3_255)
{
	static const int codes[] = { 0, 3, 255 };
	struct col c;
	rj_plan *p[3];
	col_init(&c, 0, 4096);
	for (int i = 0; i < 3; i++) {
		char cmd[32];
		snprintf(cmd, sizeof cmd, "exit %d", codes[i]);
		p[i] = PLAN("/bin/sh", "-c", cmd);
		col_spawn(&c, p[i]);
	}
	col_wait(&c, 10000);
	for (int i = 0; i < 3; i++) {
		const struct rj_result *res = &c.recs[i].res;
		cr_assert_eq(c.recs[i].final_type, RJ_EVENT_COMPLETED);
		cr_assert_eq(res->status, codes[i] ? RJ_STATUS_RUNTIME_ERROR : RJ_STATUS_OK,
			     "exit %d gave %s: %s", codes[i], rj_status_name(res->status), res->message);
		cr_assert_eq(res->exit_code, codes[i]);
		cr_assert_eq(res->signal, 0);
		if (codes[i])
			cr_assert_neq(res->message[0], '\0', "no message for exit %d", codes[i]);
		else
			cr_assert_str_eq(res->message, "");
		rj_plan_free(p[i]);
	}
	col_free(&c);
}

Test(exit, segv_is_signaled_11)
{
	rj_plan *p = PLAN("/bin/sh", "-c", "kill -SEGV $$");
	struct rec r = run1(p, 0, 10000);

	cr_assert_eq(r.final_type, RJ_EVENT_COMPLETED);
	cr_assert_eq(r.res.status, RJ_STATUS_SIGNALED, "got %s: %s", rj_status_name(r.res.status),
		     r.res.message);
	cr_assert_eq(r.res.signal, SIGSEGV);
	cr_assert_eq(r.res.exit_code, -1);
	rec_free(&r);
	rj_plan_free(p);
}

Test(exit, abort_is_signaled_6)
{
	rj_plan *p = PLAN("./abort");
	cr_assert_eq(rj_plan_add_host_file(p, "abort", prog_path("abort"), RJ_MODE_KEEP_EXEC),
		0, "%s", rj_plan_error(p));
	struct rec r = run1(p, 0, 10000);

	cr_assert_eq(r.res.status, RJ_STATUS_SIGNALED, "got %s: %s", rj_status_name(r.res.status),
		     r.res.message);
	cr_assert_eq(r.res.signal, SIGABRT);
	cr_assert_eq(r.res.exit_code, -1);
	rec_free(&r);
	rj_plan_free(p);
}

/* ---- setup failures ------------------------------------------------------ */

static void expect_setup_error(rj_plan *p, int err)
{
	struct rec r = run1(p, 0, 10000);
	cr_assert_eq(r.final_type, RJ_EVENT_COMPLETED);
	cr_assert_eq(r.res.status, RJ_STATUS_SETUP_ERROR, "got %s: %s", rj_status_name(r.res.status),
		     r.res.message);
	cr_assert_eq(r.res.setup_stage, RJ_STAGE_EXEC, "stage %s",
		     rj_setup_stage_name(r.res.setup_stage));
	cr_assert_eq(r.res.setup_errno, err, "errno %d (%s), expected %d", r.res.setup_errno,
		     strerror(r.res.setup_errno), err);
	cr_assert_neq(r.res.message[0], '\0', "a setup error without a message");
	rec_free(&r);
}

Test(setup, missing_program_is_setup_error_enoent)
{
	rj_plan *on_path = PLAN("rj-no-such-program");
	rj_plan *absolute = PLAN("/box/rj-no-such-program");
	expect_setup_error(on_path, ENOENT);
	expect_setup_error(absolute, ENOENT);
	rj_plan_free(on_path);
	rj_plan_free(absolute);
}

Test(setup, non_executable_file_is_setup_error_eacces)
{
	rj_plan *p = PLAN("./it");
	const char script[] = "#!/bin/sh\necho ran\n";
	cr_assert_eq(rj_plan_add_file(p, "it", script, sizeof script - 1, 0644), 0);
	expect_setup_error(p, EACCES);
	rj_plan_free(p);
}

Test(setup, null_plan_is_einval_without_event)
{
	struct col c;
	col_init(&c, 0, 64);
	uint64_t id = 777;
	rj_plan *p = PLAN("true");

	cr_assert_eq(rj_spawn(c.ex, NULL, (void *)1, &id), -EINVAL);
	cr_assert_eq(rj_spawn(NULL, p, (void *)1, &id), -EINVAL);
	cr_assert_eq(rj_executor_active(c.ex), 0);
	col_pump(&c, 200);
	cr_assert_eq(c.stray, 0, "a failed rj_spawn fired %u events", c.stray);
	/* The executor still works afterwards. */
	size_t i = col_spawn(&c, p);
	col_wait(&c, 5000);
	cr_assert_eq(c.recs[i].res.status, RJ_STATUS_OK, "%s", c.recs[i].res.message);
	col_free(&c);
	rj_plan_free(p);
}

/* ---- kill and free -------------------------------------------------------- */

Test(lifecycle, kill_ends_sleep_with_sigkill)
{
	struct col c;
	col_init(&c, 0, 64);
	rj_plan *p = PLAN("sleep", "10");
	size_t running = col_spawn(&c, p);
	size_t fresh;

	col_pump(&c, 200);
	cr_assert_eq(c.recs[running].finals, 0);
	double t = now_ms();
	cr_assert_eq(rj_kill(c.ex, c.recs[running].id), 0);
	/* A sandbox killed before the loop ever saw it ends the same way. */
	fresh = col_spawn(&c, p);
	cr_assert_eq(rj_kill(c.ex, c.recs[fresh].id), 0);
	col_wait(&c, 3000);
	cr_assert_lt(now_ms() - t, 1000, "killed sandboxes took %.0f ms to end", now_ms() - t);
	for (size_t i = 0; i < c.n; i++) {
		const struct rj_result *res = &c.recs[i].res;
		cr_assert_eq(c.recs[i].final_type, RJ_EVENT_COMPLETED);
		cr_assert_eq(res->status, RJ_STATUS_SIGNALED, "sandbox %zu: %s: %s", i,
			     rj_status_name(res->status), res->message);
		cr_assert_eq(res->signal, SIGKILL);
		cr_assert_eq(res->exit_code, -1);
	}
	cr_assert_lt(rj_kill(c.ex, c.recs[running].id), 0, "kill after the final event succeeded");
	cr_assert_lt(rj_kill(c.ex, 987654321), 0, "kill of an id never spawned succeeded");
	col_free(&c);
	rj_plan_free(p);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Freeing an executor kills and reaps what still runs: no process, no
 * mount-point directory and no fd outlives it. */
Test(lifecycle, free_with_running_sandboxes_leaves_nothing)
{
	/* The executor makes its mount point under $TMPDIR: a private one
	 * shows exactly what it leaves behind. */
	char tmp[] = "/tmp/rj-core-tmpdir-XXXXXX";
	cr_assert_not_null(mkdtemp(tmp));
	cr_assert_eq(chmod(tmp, 0755), 0);
	cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);

	char marker[64];
	snprintf(marker, sizeof marker, "31.%06d", (int)getpid() % 1000000);
	const char *argv[] = { "sleep", marker, NULL };

	/* A first executor warms whatever the library keeps per process. */
	struct col c;
	col_init(&c, 0, 64);
	col_free(&c);
	int fds = count_fds();
	rj_plan *p = mkplan(argv);

	col_init(&c, 0, 64);
	cr_assert_eq(count_entries(tmp), 1, "the executor made no mount point under $TMPDIR");
	for (int i = 0; i < 20; i++)
		col_spawn(&c, p);
	/* Wait until all 20 programs run, which also proves the scan works. */
	double end = now_ms() + 5000;
	while (count_procs(argv) < 20 && now_ms() < end)
		col_pump(&c, 50);
	cr_assert_eq(count_procs(argv), 20, "only %d of 20 sandboxed sleeps seen", count_procs(argv));
	cr_assert_eq(rj_executor_active(c.ex), 20);

	cr_assert_eq(rj_executor_free(c.ex), 0);
	c.ex = NULL;
	cr_assert_eq(count_procs(argv), 0, "%d sandboxed sleeps outlived rj_executor_free",
		     count_procs(argv));
	siginfo_t si = { 0 };
	errno = 0;
	int w = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
	cr_assert(w < 0 && errno == ECHILD, "a child of the test process outlived rj_executor_free "
		  "(pid %d)", (int)si.si_pid);
	cr_assert_eq(count_entries(tmp), 0, "mount point left under %s", tmp);
	/* No event may fire for the killed sandboxes. */
	for (size_t i = 0; i < c.n; i++)
		cr_assert_eq(c.recs[i].finals, 0);
	col_free(&c);
	/* The plan may hold its compiled policy's fds until it is freed. */
	rj_plan_free(p);
	cr_assert_eq(count_fds(), fds, "%d fds open after rj_executor_free, %d before the executor",
		     count_fds(), fds);
	rmdir(tmp);
}

/* ---- many sandboxes ------------------------------------------------------- */

Test(scale, thousand_concurrent_sandboxes_each_own_result)
{
	enum { N = 1000 };
	static rj_plan *plans[N];
	struct col c;
	col_init(&c, 0, 64);

	for (int i = 0; i < N; i++) {
		char num[16];
		snprintf(num, sizeof num, "%d", i);
		const char *argv[] = { "/bin/echo", num, NULL };
		plans[i] = mkplan(argv);
		/* A thousand sandboxes share two cores: a wall limit far
		 * beyond the default, so only a real failure ends one. */
		set_limit(plans[i], RJ_LIMIT_WALL_TIME, 60000000);
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(col_spawn(&c, plans[i]), (size_t)i);
	cr_assert_eq(rj_executor_active(c.ex), N);
	col_wait(&c, 90000);
	for (int i = 0; i < N; i++) {
		char want[16];
		snprintf(want, sizeof want, "%d\n", i);
		cr_assert_eq(c.recs[i].res.status, RJ_STATUS_OK, "sandbox %d: %s: %s", i,
			     rj_status_name(c.recs[i].res.status), c.recs[i].res.message);
		cr_assert_str_eq(c.recs[i].out, want, "sandbox %d printed another's number", i);
		rj_plan_free(plans[i]);
	}
	col_free(&c);
}

Test(scale, no_fd_growth_after_2000_runs)
{
	enum { RUNS = 2000, CONC = 16 };
	struct col c;
	col_init(&c, 0, 16);
	rj_plan *p = PLAN("/bin/true");

	col_spawn(&c, p);
	col_wait(&c, 5000);
	int fds = count_fds();
	size_t done = 0;
	double bound = scaled_ms(30000), end = now_ms() + bound;
	while (c.n < RUNS + 1 || rj_executor_active(c.ex)) {
		while (c.n < RUNS + 1 && rj_executor_active(c.ex) < CONC)
			col_spawn(&c, p);
		int r = rj_executor_run(c.ex, 100);
		cr_assert_geq(r, 0);
		done += (size_t)r;
		cr_assert_lt(now_ms(), end, "2,000 runs took over %.0f s (%zu finished, %u active)",
			     bound / 1000, done, rj_executor_active(c.ex));
	}
	col_check_invariants(&c);
	for (size_t i = 0; i < c.n; i++)
		cr_assert_eq(c.recs[i].res.status, RJ_STATUS_OK, "run %zu: %s", i, c.recs[i].res.message);
	cr_assert_eq(done, RUNS);
	cr_assert_eq(count_fds(), fds, "%d fds after 2,000 runs, %d before", count_fds(), fds);
	col_free(&c);
	rj_plan_free(p);
}
