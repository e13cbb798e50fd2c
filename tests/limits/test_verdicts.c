/* CLI.md's precedence: when several statuses hold, the first in its table
 * wins (syscall_violation, time_limit, wall_time_limit, memory_limit,
 * output_limit, signaled, runtime_error). Some of the pairs can hardly both
 * hold on a caller that handles events at once (the CPU timer is due as
 * soon as the limit can be reached, before a later wall limit; an output
 * limit kills before the program exits), so those tests hold the event
 * loop back after the spawn until the program, found on the host by a
 * marker in its argv, has done all it should: no timer, read or exit is
 * handled meanwhile, and the result must still rank what happened as
 * CLI.md says. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "checks.h"

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("not root: the CPU and memory limits need a cgroup here");
}

/* A marker for the program's argv, so the test can find it on the host. */
static const char *marker(void)
{
	static char m[64];
	snprintf(m, sizeof m, "rj-limits-verdict-%d", (int)getpid());
	return m;
}

/* Two spinning threads under a CPU limit and a 0.25 s wall limit, the loop
 * held back until they have used cpu_ms of CPU (well past the CPU limit)
 * and 0.4 s have passed (well past the wall limit): both limits hold, and
 * CPU time outranks wall time. */
static void cpu_and_wall(uint64_t time_us, double cpu_ms)
{
	need_root();
	rj_plan *p = prog_plan("spin", "2", marker(), NULL);
	set_limit(p, RJ_LIMIT_TIME, time_us);
	set_limit(p, RJ_LIMIT_WALL_TIME, SEC / 4);
	struct hold h = { .marker = marker(), .cpu_ms = cpu_ms, .min_ms = 400 };
	struct outcome o;
	run_plan_held(p, &h, &o);
	cr_expect_geq(o.res.wall_ms, 250, "wall_ms %.1f: the wall limit did not pass", o.res.wall_ms);
	cr_expect_gt(o.res.cpu_ms, (double)time_us / 1e3, "cpu_ms %.1f: the CPU limit did not pass",
		     o.res.cpu_ms);
	EXPECT_STATUS(&o, RJ_STATUS_TIME_LIMIT);
	cr_expect_eq(o.final, RJ_EVENT_TIMEOUT, "final event %d", o.final);
	outcome_free(&o);
	rj_plan_free(p);
}

/* CPU limit 0.4 s: its timer is due first (at 0.4 s / cores), and finds
 * the limit passed. */
Test(limits, cpu_limit_outranks_wall_limit, .timeout = 60)
{
	cpu_and_wall(SEC * 4 / 10, 600);
}

/* CPU limit 0.6 s: on two cores the wall timer (0.25 s) is due before the
 * CPU timer (0.3 s) and kills first; the program had used more CPU than
 * its limit all the same, and CLI.md ranks that first. */
Test(limits, cpu_limit_outranks_wall_limit_when_the_wall_timer_fired_first, .timeout = 60)
{
	cpu_and_wall(SEC * 6 / 10, 800);
}

/* A program that dies of SIGSEGV after using more CPU than its limit:
 * time_limit, not signaled. Held back, the loop cannot kill it first. */
Test(limits, cpu_limit_outranks_a_crash, .timeout = 60)
{
	need_root();
	rj_plan *p = prog_plan("spinsegv", "500", marker(), NULL);
	set_limit(p, RJ_LIMIT_TIME, SEC / 5);
	set_limit(p, RJ_LIMIT_WALL_TIME, 20 * SEC);
	struct hold h = { .marker = marker(), .ended = true };
	struct outcome o;
	run_plan_held(p, &h, &o);
	cr_expect(strstr(o.out, "crashing after"), "the program did not reach its crash: %s", o.out);
	cr_expect_eq(o.res.signal, SIGSEGV, "signal %d: the program did not die of its own SIGSEGV",
		     o.res.signal);
	cr_expect_gt(o.res.cpu_ms, 200, "cpu_ms %.1f", o.res.cpu_ms);
	EXPECT_STATUS(&o, RJ_STATUS_TIME_LIMIT);
	outcome_free(&o);
	rj_plan_free(p);
}

/* The same program on a loop that runs: whichever comes first, the timer's
 * kill or the crash just past the limit, it is time_limit. */
Test(limits, cpu_limit_outranks_a_crash_at_the_limit, .timeout = 60)
{
	need_root();
	rj_plan *p = prog_plan("spinsegv", "205", NULL);
	set_limit(p, RJ_LIMIT_TIME, SEC / 5);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_TIME_LIMIT);
	outcome_free(&o);
	rj_plan_free(p);
}

/* Past the output limit, then exit 1: output_limit, not runtime_error,
 * and exactly the limit's bytes reach the caller. */
Test(limits, output_limit_outranks_runtime_error, .timeout = 60)
{
	rj_plan *p = prog_plan("spew", "4096", "1", marker(), NULL);
	set_limit(p, RJ_LIMIT_OUTPUT, 1024);
	struct hold h = { .marker = marker(), .ended = true };
	struct outcome o;
	run_plan_held(p, &h, &o);
	cr_expect_eq(o.res.exit_code, 1, "exit_code %d: the program did not end by itself",
		     o.res.exit_code);
	EXPECT_STATUS(&o, RJ_STATUS_OUTPUT_LIMIT);
	cr_expect(o.res.output_truncated);
	cr_expect_eq(o.res.stdout_bytes, 1024, "%llu bytes reached the caller",
		     (unsigned long long)o.res.stdout_bytes);
	outcome_free(&o);
	rj_plan_free(p);
}

/* The same on a loop that runs: killed at the limit or exited 1 first,
 * it is output_limit. */
Test(limits, output_limit_outranks_runtime_error_at_the_limit, .timeout = 60)
{
	rj_plan *p = prog_plan("spew", "4096", "1", NULL);
	set_limit(p, RJ_LIMIT_OUTPUT, 1024);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OUTPUT_LIMIT);
	cr_expect_eq(o.res.stdout_bytes, 1024, "%llu bytes reached the caller",
		     (unsigned long long)o.res.stdout_bytes);
	outcome_free(&o);
	rj_plan_free(p);
}

/* Past the output limit, then a call the filter kills: syscall_violation. */
Test(limits, syscall_violation_outranks_output_limit, .timeout = 60)
{
	rj_plan *p = prog_plan("spew", "4096", "ptrace", marker(), NULL);
	set_limit(p, RJ_LIMIT_OUTPUT, 1024);
	struct hold h = { .marker = marker(), .ended = true };
	struct outcome o;
	run_plan_held(p, &h, &o);
	EXPECT_STATUS(&o, RJ_STATUS_SYSCALL_VIOLATION);
	cr_expect_eq(o.res.signal, SIGSYS, "signal %d", o.res.signal);
	cr_expect_eq(o.res.stdout_bytes, 1024, "%llu bytes reached the caller",
		     (unsigned long long)o.res.stdout_bytes);
	outcome_free(&o);
	rj_plan_free(p);
}

/* A file the sandbox has never read, out of the host's page cache. It
 * lives in /var/tmp, which is on a disk where most systems have a tmpfs
 * /tmp (Debian 13, Fedora, Arch): a memory-backed file's pages are charged
 * to the test that wrote them and stay there, so the sandbox reading it
 * would never approach its limit. */
static void cold_file(char *dir, size_t dlen, size_t mib)
{
	const char *base = "/var/tmp";
	struct statfs sf;

	if (statfs(base, &sf))
		cr_skip_test("no %s (%s): the cold file needs a directory on a disk",
			     base, strerror(errno));
	if (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC)
		cr_skip_test("%s is memory-backed (f_type 0x%lx): a file there is "
			     "charged to the test that wrote it, never to the sandbox "
			     "that reads it, so the sandbox's memory cannot reach its limit",
			     base, (unsigned long)sf.f_type);
	snprintf(dir, dlen, "%s/rj-limits-cold-%d", base, (int)getpid());
	cr_assert(mkdir(dir, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", dir, strerror(errno));
	char path[512];
	snprintf(path, sizeof path, "%s/big", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	static char buf[1 << 20];
	memset(buf, 'c', sizeof buf);
	for (size_t i = 0; i < mib; i++)
		cr_assert_eq(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
	cr_assert_eq(fdatasync(fd), 0);
	cr_assert_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

static void cold_file_remove(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/big", dir);
	unlink(path);
	rmdir(dir);
}

/* Reading 96 MiB the host has not cached fills the sandbox's page cache
 * up to a 32 MiB limit (reclaimed, never OOM: clean pages). The sandbox's
 * memory reached the limit; a program that then fails is memory_limit,
 * with oom_killed false; one that succeeds is ok. */
static void read_then_exit(const char *code, enum rj_status want)
{
	need_root();
	char dir[256], script[128];
	cold_file(dir, sizeof dir, 96);
	snprintf(script, sizeof script, "cat /data/big >/dev/null && exit %s", code);
	rj_plan *p = CMD_PLAN("/bin/sh", "-c", script);
	cr_assert_eq(rj_plan_add_mount(p, dir, "/data", 0), 0, "%s", rj_plan_error(p));
	set_limit(p, RJ_LIMIT_MEM, 32 * MIB);
	struct outcome o;
	run_plan_loop(p, &o);
	cold_file_remove(dir);
	cr_expect_eq(o.res.exit_code, atoi(code), "exit_code %d", o.res.exit_code);
	cr_expect(!o.res.oom_killed, "the OOM killer acted on clean page cache");
	cr_expect_geq(o.res.memory_kib, 32 * 1024 * 9 / 10, "peak %llu KiB: the limit was not "
		      "reached, the test proves nothing", (unsigned long long)o.res.memory_kib);
	EXPECT_STATUS(&o, want);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, memory_limit_outranks_runtime_error, .timeout = 60)
{
	read_then_exit("1", RJ_STATUS_MEMORY_LIMIT);
}

Test(limits, memory_at_the_limit_is_ok_when_the_program_succeeds, .timeout = 60)
{
	read_then_exit("0", RJ_STATUS_OK);
}
