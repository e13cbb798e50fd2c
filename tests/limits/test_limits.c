/* Limits and accounting against CLI.md's Tolerances table: each test runs
 * a helper program from progs/ (or a real runtime) at one limit and checks
 * the verdict, the final event and the figures the result reports. As
 * root on this kind of host the limits are enforced through cgroups; the
 * tests that need one say so when there is none. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "slowhost.h"
#include "checks.h"

/* The limits below are the caller's: without a cgroup they are a
 * setup_error by design (the rootless binary tests that), so here they
 * need root or a delegated cgroup. */
static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("not root: cgroup-enforced limits are tested by the root run; "
			     "the rootless behaviour by test_limits_rootless");
}

/* ---- CPU and wall time ------------------------------------------------- */

Test(limits, cpu_limit_stops_one_thread, .timeout = 60)
{
	need_root();
	rj_plan *p = prog_plan("spin", "1", NULL);
	set_limit(p, RJ_LIMIT_TIME, SEC / 2);
	set_limit(p, RJ_LIMIT_WALL_TIME, 5 * SEC);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_TIME_LIMIT);
	cr_expect_eq(o.final, RJ_EVENT_TIMEOUT, "final event %d, expected TIMEOUT", o.final);
	cr_expect_eq(o.res.signal, SIGKILL, "signal %d", o.res.signal);
	EXPECT_RANGE("cpu_ms", o.res.cpu_ms, 500, 560);
	cr_expect_geq(o.res.cpu_user_ms + o.res.cpu_sys_ms, o.res.cpu_ms - 1,
		      "user %.1f + sys %.1f != cpu %.1f", o.res.cpu_user_ms, o.res.cpu_sys_ms,
		      o.res.cpu_ms);
	cr_expect_str_neq(o.res.message, "", "no message for time_limit");
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, cpu_limit_counts_every_thread, .timeout = 60)
{
	need_root();
	rj_plan *p = prog_plan("spin", "2", NULL);
	set_limit(p, RJ_LIMIT_TIME, SEC);
	set_limit(p, RJ_LIMIT_WALL_TIME, 5 * SEC);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_TIME_LIMIT);
	cr_expect_eq(o.final, RJ_EVENT_TIMEOUT, "final event %d, expected TIMEOUT", o.final);
	EXPECT_RANGE("cpu_ms", o.res.cpu_ms, 1000, 1100);
	/* Two threads on two cores: about half the CPU time in wall time. */
	cr_expect_leq(o.res.wall_ms, 900, "wall_ms %.1f: the threads' CPU was not summed",
		      o.res.wall_ms);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, wall_limit_stops_a_sleeper, .timeout = 60)
{
	rj_plan *p = CMD_PLAN("/bin/sleep", "3");
	set_limit(p, RJ_LIMIT_WALL_TIME, SEC * 4 / 10);
	/* The CPU limit defaults to the wall limit; set it apart, so that only
	 * the wall limit can end this run (under emulation, starting
	 * /bin/sleep alone costs more than 0.4 s of CPU). */
	set_limit(p, RJ_LIMIT_TIME, 2 * SEC);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_WALL_TIME_LIMIT);
	cr_expect_eq(o.final, RJ_EVENT_TIMEOUT, "final event %d, expected TIMEOUT", o.final);
	EXPECT_RANGE("wall_ms", o.res.wall_ms, 400, 400 + scaled_ms(100));
	cr_expect_lt(o.res.cpu_ms, scaled_ms(100), "a sleeper used %.1f ms of CPU", o.res.cpu_ms);
	outcome_free(&o);
	rj_plan_free(p);
}

/* ---- memory ------------------------------------------------------------ */

Test(limits, memory_limit_calls_the_oom_killer, .timeout = 60)
{
	need_root();
	rj_plan *p = prog_plan("touch", "512", NULL);
	set_limit(p, RJ_LIMIT_MEM, 128 * MIB);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_MEMORY_LIMIT);
	cr_expect(o.res.oom_killed, "oom_killed false under a cgroup memory limit");
	cr_expect_eq(o.final, RJ_EVENT_COMPLETED, "final event %d", o.final);
	cr_expect(!strstr(o.out, "touched 512 MiB"), "the program touched it all: %s", o.out);
	cr_expect_leq(o.res.memory_kib, 128 * 1024 * 11 / 10, "peak %llu KiB over a 128 MiB limit",
		      (unsigned long long)o.res.memory_kib);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, memory_peak_is_what_was_touched, .timeout = 60)
{
	need_root();
	rj_plan *p = prog_plan("touch", "200", "100", NULL);
	set_limit(p, RJ_LIMIT_MEM, 512 * MIB);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect(!o.res.oom_killed);
	cr_expect_str_eq(o.out, "touched 200 MiB\n");
	/* Never below what was touched, at most 10% above. */
	EXPECT_RANGE("memory_kib", o.res.memory_kib, 204800, 225280);
	outcome_free(&o);
	rj_plan_free(p);
}

/* ---- processes --------------------------------------------------------- */

/* The host's process count over ms milliseconds: lowest and highest. */
static void sample_procs(int ms, int *lo, int *hi)
{
	*lo = *hi = host_proc_count();
	for (double end = now_ms() + ms; now_ms() < end; sleep_ms(10)) {
		int n = host_proc_count();
		*lo = n < *lo ? n : *lo;
		*hi = n > *hi ? n : *hi;
	}
}

Test(limits, pids_limit_contains_a_fork_bomb, .timeout = 60)
{
	need_root();
	char marker[64];
	snprintf(marker, sizeof marker, "rj-limits-bomb-%d", (int)getpid());
	/* The first process of the bomb lives 1.5 s; the rest would sleep a
	 * minute if the sandbox let them. */
	rj_plan *p = prog_plan("forkbomb", marker, "1500", "60000", NULL);
	set_limit(p, RJ_LIMIT_PIDS, 16);
	set_limit(p, RJ_LIMIT_WALL_TIME, 10 * SEC);
	/* Other work on the host moves its process count too: measure that
	 * swing first, and allow for it beside the few dozen. */
	int lo, hi, after_lo, after_hi;
	sample_procs(300, &lo, &hi);
	struct host_watch w = { .marker = marker };
	struct outcome o;
	run_plan_watch(p, &w, &o);
	sample_procs(200, &after_lo, &after_hi);
	pid_t left = host_find_marker(marker);
	int swing = hi - lo;
	fprintf(stderr, "host processes: %d-%d before, at most %d during (at most %d of the bomb at "
		"once), %d-%d after\n", lo, hi, w.max_procs, w.max_marked, after_lo, after_hi);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect(strstr(o.out, "root: done"), "the bomb's first process did not finish: %s", o.out);
	cr_expect_eq(o.marker_pid, 0, "pid %d of the bomb was alive at the final event",
		     (int)o.marker_pid);
	cr_expect_eq(left, 0, "pid %d of the bomb is still on the host", (int)left);
	/* 16 pids: the sandbox's init and at most 15 processes of the bomb. */
	cr_expect_leq(w.max_marked, 15, "%d processes of the bomb at once under a pids limit of 16",
		      w.max_marked);
	cr_expect_geq(w.max_marked, 2, "the bomb never forked (%d of its processes seen)",
		      w.max_marked);
	cr_expect_leq(w.max_procs, hi + swing + 40, "host processes: %d-%d before, %d during the bomb",
		      lo, hi, w.max_procs);
	cr_expect_leq(after_lo, hi + 40, "host processes: %d-%d before, %d-%d after the bomb", lo, hi,
		      after_lo, after_hi);
	outcome_free(&o);
	rj_plan_free(p);
}

/* ---- output ------------------------------------------------------------ */

Test(limits, fsize_limit_is_an_output_limit, .timeout = 60)
{
	rj_plan *p = prog_plan("bigfile", "8", NULL);
	set_limit(p, RJ_LIMIT_FSIZE, MIB);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OUTPUT_LIMIT);
	cr_expect_eq(o.res.signal, SIGXFSZ, "signal %d, expected SIGXFSZ (25)", o.res.signal);
	cr_expect_eq(o.res.exit_code, -1, "exit_code %d of a signaled program", o.res.exit_code);
	cr_expect(strstr(o.out, "wrote 1 MiB\n"), "stdout: %s", o.out);
	cr_expect(!strstr(o.out, "wrote 2 MiB"), "a 2 MiB file under --fsize 1M: %s", o.out);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, output_limit_delivers_exactly_the_limit, .timeout = 60)
{
	rj_plan *p = prog_plan("spew", "1048576", "0", NULL);
	set_limit(p, RJ_LIMIT_OUTPUT, 65536);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OUTPUT_LIMIT);
	cr_expect(o.res.output_truncated, "output_truncated false");
	cr_expect_eq(o.res.stdout_bytes + o.res.stderr_bytes, 65536, "%llu + %llu bytes reached "
		     "the caller, expected exactly 65536", (unsigned long long)o.res.stdout_bytes,
		     (unsigned long long)o.res.stderr_bytes);
	cr_expect_eq(strlen(o.out), 65536, "captured %zu bytes", strlen(o.out));
	outcome_free(&o);
	rj_plan_free(p);
}

/* ---- real runtimes ----------------------------------------------------- */

Test(limits, java_runs_under_512m, .timeout = 90)
{
	need_root();
	if (access("/usr/bin/java", X_OK) != 0)
		cr_skip_test("/usr/bin/java is not installed on this host");
	static const char src[] =
		"public class Hello {\n"
		"    public static void main(String[] a) {\n"
		"        System.out.println(\"hello \" + (6 * 7));\n"
		"    }\n"
		"}\n";
	rj_plan *p = CMD_PLAN("/usr/bin/java", "Hello.java");
	cr_assert_eq(rj_plan_add_file(p, "Hello.java", src, sizeof src - 1, 0644), 0);
	set_limit(p, RJ_LIMIT_MEM, 512 * MIB);
	set_limit(p, RJ_LIMIT_WALL_TIME, 20 * SEC);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_str_eq(o.out, "hello 42\n");
	cr_expect_eq(o.res.enforced[RJ_LIMIT_MEM], RJ_ENFORCE_CGROUP);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, python3_runs_under_256m, .timeout = 60)
{
	need_root();
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("/usr/bin/python3 is not installed on this host");
	rj_plan *p = CMD_PLAN("/usr/bin/python3", "-c", "print(sum(range(10**6)))");
	set_limit(p, RJ_LIMIT_MEM, 256 * MIB);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_str_eq(o.out, "499999500000\n");
	cr_expect_eq(o.res.enforced[RJ_LIMIT_MEM], RJ_ENFORCE_CGROUP);
	outcome_free(&o);
	rj_plan_free(p);
}

/* ---- how each limit was enforced --------------------------------------- */

static void expect_root_enforcement(const struct outcome *o)
{
	static const enum rj_enforce want[] = {
		[RJ_LIMIT_TIME] = RJ_ENFORCE_TIMER,
		[RJ_LIMIT_WALL_TIME] = RJ_ENFORCE_TIMER,
		[RJ_LIMIT_MEM] = RJ_ENFORCE_CGROUP,
		[RJ_LIMIT_PIDS] = RJ_ENFORCE_CGROUP,
		[RJ_LIMIT_OUTPUT] = RJ_ENFORCE_PIPE,
		[RJ_LIMIT_FSIZE] = RJ_ENFORCE_RLIMIT,
	};
	for (int l = RJ_LIMIT_TIME; l <= RJ_LIMIT_FSIZE; l++)
		cr_expect_eq(o->res.enforced[l], want[l], "limit %s enforced by %s, expected %s",
			     rj_limit_name(l), rj_enforce_name(o->res.enforced[l]),
			     rj_enforce_name(want[l]));
	cr_expect(o->res.hardening & RJ_LAYER_CGROUP, "hardening 0x%x lacks cgroup",
		  o->res.hardening);
}

Test(limits, enforcement_is_reported_for_default_limits, .timeout = 30)
{
	need_root();
	rj_plan *p = CMD_PLAN("/bin/true");
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	expect_root_enforcement(&o);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, enforcement_is_reported_for_given_limits, .timeout = 30)
{
	need_root();
	rj_plan *p = CMD_PLAN("/bin/true");
	set_limit(p, RJ_LIMIT_TIME, 2 * SEC);
	set_limit(p, RJ_LIMIT_WALL_TIME, 3 * SEC);
	set_limit(p, RJ_LIMIT_MEM, 64 * MIB);
	set_limit(p, RJ_LIMIT_PIDS, 8);
	set_limit(p, RJ_LIMIT_OUTPUT, 4096);
	set_limit(p, RJ_LIMIT_FSIZE, MIB);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	expect_root_enforcement(&o);
	outcome_free(&o);
	rj_plan_free(p);
}
