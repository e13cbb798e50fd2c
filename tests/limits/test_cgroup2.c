/* cgroup v2. The library uses v2 where the host offers its controllers
 * (memory and pids in the cgroup.controllers of our own v2 group, or of its
 * delegated parent); those tests skip, saying why, where the v1
 * hierarchies hold the controllers instead. The last test runs wherever a
 * v2 hierarchy is mounted, with or without controllers: the mechanics the
 * library builds on (CLONE_INTO_CGROUP, cpu.stat, cgroup.kill) work there
 * too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "slowhost.h"
#include "checks.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Our own v2 group's directory, when memory and pids are offered to it or
 * to its parent; otherwise skips the test with the reason. */
static char *need_v2_controllers(void)
{
	char *own = own_cgroup_dir(NULL);
	if (!own)
		cr_skip_test("no cgroup v2 hierarchy is mounted here");
	char path[1100];
	snprintf(path, sizeof path, "%s/cgroup.controllers", own);
	char *ctl = read_text(path);
	bool ok = ctl && has_word(ctl, "memory") && has_word(ctl, "pids");
	char offered[256];
	snprintf(offered, sizeof offered, "%s", ctl ? ctl : "(unreadable)");
	offered[strcspn(offered, "\n")] = '\0';
	free(ctl);
	if (!ok) {
		char *up = strdup(own), *slash = strrchr(up, '/');
		if (slash && slash > up) {
			*slash = '\0';
			snprintf(path, sizeof path, "%s/cgroup.controllers", up);
			ctl = read_text(path);
			ok = ctl && has_word(ctl, "memory") && has_word(ctl, "pids");
			free(ctl);
		}
		free(up);
	}
	if (!ok) {
		free(own);
		cr_skip_test("cgroup v2 here offers the controllers '%s' to our group, without "
			     "memory and pids (the v1 hierarchies hold them), so ringjail uses v1",
			     offered);
	}
	return own;
}

/* Whether a ringjail-<pid>-* pool of ours is in dir or its parent. */
static bool pool_in(const char *own)
{
	char prefix[64];
	snprintf(prefix, sizeof prefix, "ringjail-%d-", (int)getpid());
	char *dirs[2] = { strdup(own), strdup(own) };
	char *slash = strrchr(dirs[1], '/');
	if (slash && slash > dirs[1])
		*slash = '\0';
	bool found = false;
	for (int i = 0; i < 2 && !found; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		while (d && !found && (e = readdir(d)))
			found = !strncmp(e->d_name, prefix, strlen(prefix));
		if (d)
			closedir(d);
	}
	free(dirs[0]);
	free(dirs[1]);
	return found;
}

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	struct outcome *o = ctx;
	if (ev->type == RJ_EVENT_COMPLETED || ev->type == RJ_EVENT_TIMEOUT) {
		o->res = *ev->result;
		o->res.stdout_data = o->res.stderr_data = NULL;
		o->done = true;
		o->finals++;
	}
}

static void run_on(rj_executor *ex, const rj_plan *p, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	uint64_t id;
	cr_assert_eq(rj_spawn(ex, p, NULL, &id), 0, "%s", rj_executor_error(ex));
	double end = now_ms() + 30000;
	while (!o->done) {
		cr_assert_lt(now_ms(), end);
		cr_assert_geq(rj_executor_run(ex, 200), 0);
	}
	outcome_log("v2 run", o);
}

Test(limits, cgroup2_pool_holds_the_sandboxes, .timeout = 60)
{
	char *own = need_v2_controllers();
	struct outcome o;
	rj_executor *ex = executor_new(on_event, &o);
	cr_expect(pool_in(own), "no ringjail-%d-* pool in %s or its parent", (int)getpid(), own);
	rj_plan *p = prog_plan("touch", "64", NULL);
	set_limit(p, RJ_LIMIT_MEM, 256 * MIB);
	run_on(ex, p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_eq(o.res.enforced[RJ_LIMIT_MEM], RJ_ENFORCE_CGROUP);
	cr_expect_eq(o.res.enforced[RJ_LIMIT_PIDS], RJ_ENFORCE_CGROUP);
	cr_expect(o.res.hardening & RJ_LAYER_CGROUP);
	EXPECT_RANGE("memory_kib", o.res.memory_kib, 65536, 65536 * 11 / 10);
	executor_free(ex);
	cr_expect(!pool_in(own), "the pool outlived its executor");
	rj_plan_free(p);
	free(own);
}

Test(limits, cgroup2_memory_limit_calls_the_oom_killer, .timeout = 60)
{
	char *own = need_v2_controllers();
	rj_plan *p = prog_plan("touch", "512", NULL);
	set_limit(p, RJ_LIMIT_MEM, 128 * MIB);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_MEMORY_LIMIT);
	cr_expect(o.res.oom_killed);
	outcome_free(&o);
	rj_plan_free(p);
	free(own);
}

/* memory.peak is reset per run through the fd that wrote it (Linux
 * 6.12+), or the group is fresh: either way the second run's peak is its
 * own. */
Test(limits, cgroup2_peak_is_per_run, .timeout = 60)
{
	char *own = need_v2_controllers();
	struct outcome o;
	rj_executor *ex = executor_new(on_event, &o);
	rj_plan *big = prog_plan("touch", "100", NULL);
	rj_plan *small = CMD_PLAN("/bin/true");
	run_on(ex, big, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	run_on(ex, small, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_lt(o.res.memory_kib, 20 * 1024, "peak %llu KiB after a 100 MiB run",
		     (unsigned long long)o.res.memory_kib);
	cr_expect_lt(o.res.cpu_ms, scaled_ms(20), "/bin/true used %.1f ms of CPU", o.res.cpu_ms);
	executor_free(ex);
	rj_plan_free(big);
	rj_plan_free(small);
	free(own);
}

/* ---- the v2 mechanics, controllers or not ------------------------------ */

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, s, strlen(s));
	int r = w == (ssize_t)strlen(s) ? 0 : -errno;
	close(fd);
	return r;
}

static unsigned long long key_value(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return (unsigned long long)-1;
}

static char *group_file(const char *grp, const char *file)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", grp, file);
	char *t = read_text(path);
	cr_assert(t, "%s: %s", path, strerror(errno));
	return t;
}

/* The child: about 60 ms of CPU, so that cpu.stat has something to show,
 * then sleep until killed (or for 20 s, should the test fail before it
 * kills). Async-signal-safe calls only: it is a fork of the test. */
static void child_main(void)
{
	struct timespec t0, t;
	alarm(20);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 60000000L);
	for (;;)
		pause();
}

Test(limits, unified_hierarchy_clone_into_cgroup_and_kill, .timeout = 30)
{
	char *own = own_cgroup_dir(NULL);
	if (!own)
		cr_skip_test("no cgroup v2 hierarchy is mounted here");
	char grp[1100];
	snprintf(grp, sizeof grp, "%s/rj-limits-%d", own, (int)getpid());
	if (mkdir(grp, 0755) < 0) {
		int e = errno;
		cr_assert(geteuid() != 0, "root cannot mkdir %s: %s", grp, strerror(e));
		cr_skip_test("cannot make a v2 group below %s (%s): not root and not delegated",
			     own, strerror(e));
	}
	int dfd = open(grp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dfd, 0, "%s: %s", grp, strerror(errno));

	int pidfd = -1;
	struct clone_args args = {
		.flags = CLONE_INTO_CGROUP | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)dfd,
	};
	long pid = syscall(SYS_clone3, &args, sizeof args);
	if (pid == 0)
		child_main();
	int e = errno;
	close(dfd);
	if (pid < 0 && (e == ENOSYS || e == E2BIG)) {
		rmdir(grp);
		cr_skip_test("this kernel has no clone3 CLONE_INTO_CGROUP (%s)", strerror(e));
	}
	cr_assert_gt(pid, 0, "clone3(CLONE_INTO_CGROUP): %s", strerror(e));

	/* In the group from its first instruction. */
	char *procs = group_file(grp, "cgroup.procs");
	char want[32];
	snprintf(want, sizeof want, "%ld\n", pid);
	cr_expect_str_eq(procs, want, "cgroup.procs of the new group");
	free(procs);
	char *events = group_file(grp, "cgroup.events");
	cr_expect_eq(key_value(events, "populated"), 1, "cgroup.events: %s", events);
	free(events);

	sleep_ms(200);
	char *stat = group_file(grp, "cpu.stat");
	unsigned long long usage = key_value(stat, "usage_usec");
	fprintf(stderr, "%s cpu.stat:\n%s", grp, stat);
	cr_expect(usage >= 50000 && usage < 1000000, "usage_usec %llu after ~60 ms of CPU", usage);
	free(stat);

	/* cgroup.kill: SIGKILL to every process of the group. */
	char path[1200];
	snprintf(path, sizeof path, "%s/cgroup.kill", grp);
	int r = write_str(path, "1");
	cr_expect_eq(r, 0, "write 1 to %s: %s", path, strerror(-r));
	if (r)
		kill((pid_t)pid, SIGKILL);
	siginfo_t si = { 0 };
	cr_assert_eq(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0, "waitid: %s", strerror(errno));
	close(pidfd);
	cr_expect_eq(si.si_code, CLD_KILLED, "si_code %d", si.si_code);
	cr_expect_eq(si.si_status, SIGKILL, "killed by signal %d", si.si_status);

	procs = group_file(grp, "cgroup.procs");
	cr_expect_str_eq(procs, "", "cgroup.procs after the kill");
	free(procs);
	/* cgroup.events turns to unpopulated once the exit is complete. */
	double end = now_ms() + 1000;
	unsigned long long pop;
	do {
		events = group_file(grp, "cgroup.events");
		pop = key_value(events, "populated");
		free(events);
	} while (pop != 0 && now_ms() < end && (sleep_ms(5), 1));
	cr_expect_eq(pop, 0, "the group stayed populated");
	cr_expect_eq(rmdir(grp), 0, "rmdir %s: %s", grp, strerror(errno));
	free(own);
}

/* ---- the message for a group that holds processes ------------------------ */

/* Our own group, and the groups the next test makes: P (not delegated,
 * offering memory and pids), G below it (a unit's group), G/leaf. */
static char recipe_own[1100], recipe_p[1200], recipe_g[1300], recipe_leaf[1400];

static int move_self(const char *grp)
{
	char path[1500], pid[32];
	snprintf(path, sizeof path, "%s/cgroup.procs", grp);
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	return write_str(path, pid);
}

/* Whatever the test did, this process goes home and the groups go. */
static void recipe_cleanup(void)
{
	if (recipe_own[0])
		move_self(recipe_own);
	if (recipe_p[0]) {
		rmdir(recipe_leaf);
		rmdir(recipe_g);
		rmdir(recipe_p);
	}
}

/* Where P can be made with memory and pids for its children: below our
 * group, or beside it when ours holds processes (run-in-vm's delegated
 * layout); NULL when neither. */
static const char *recipe_parent(const char *own)
{
	static char up[1100];
	char path[1200];
	snprintf(path, sizeof path, "%s/cgroup.subtree_control", own);
	char *ctl = read_text(path);
	bool ok = ctl && has_word(ctl, "memory") && has_word(ctl, "pids");
	free(ctl);
	if (ok || !write_str(path, "+memory +pids"))
		return own;
	snprintf(up, sizeof up, "%s", own);
	*strrchr(up, '/') = '\0';
	snprintf(path, sizeof path, "%s/cgroup.subtree_control", up);
	ctl = read_text(path);
	ok = ctl && has_word(ctl, "memory") && has_word(ctl, "pids");
	free(ctl);
	return ok ? up : NULL;
}

static void spawn_with_mem(struct outcome *o)
{
	rj_executor *ex = executor_new(on_event, o);
	rj_plan *p = prog_plan("touch", "16", NULL);
	set_limit(p, RJ_LIMIT_MEM, 64 * MIB);
	run_on(ex, p, o);
	executor_free(ex);
	rj_plan_free(p);
}

/* ringjail in a group that holds processes, whose parent is not delegated
 * (a root shell in a login session; a Delegate=yes service's main process
 * on systemd 252, which has no DelegateSubgroup=): --mem is refused with a
 * recipe that works without DelegateSubgroup=. Then the test follows the
 * recipe (G marked trusted.delegate=1 as Delegate=yes marks it, this
 * process moved into G/leaf, memory and pids enabled in G) and --mem is
 * enforced by a cgroup. */
Test(limits, cgroup2_busy_group_refusal_gives_a_recipe_that_works, .timeout = 60,
     .fini = recipe_cleanup)
{
	if (geteuid() != 0)
		cr_skip_test("not root: the test makes and marks delegated groups");
	char *own = need_v2_controllers();
	const char *at = recipe_parent(own);
	if (!at) {
		free(own);
		cr_skip_test("neither our group nor its parent can give memory and pids to a new group");
	}
	snprintf(recipe_own, sizeof recipe_own, "%s", own);
	snprintf(recipe_p, sizeof recipe_p, "%s/rj-recipe-%d", at, (int)getpid());
	snprintf(recipe_g, sizeof recipe_g, "%s/unit", recipe_p);
	snprintf(recipe_leaf, sizeof recipe_leaf, "%s/leaf", recipe_g);
	cr_assert_eq(mkdir(recipe_p, 0755), 0, "%s: %s", recipe_p, strerror(errno));
	cr_assert_eq(mkdir(recipe_g, 0755), 0, "%s: %s", recipe_g, strerror(errno));
	char path[1500];
	snprintf(path, sizeof path, "%s/cgroup.subtree_control", recipe_p);
	cr_assert_eq(write_str(path, "+memory +pids"), 0, "%s", path);
	cr_assert_eq(move_self(recipe_g), 0, "cannot move into %s", recipe_g);

	struct outcome o;
	spawn_with_mem(&o);
	EXPECT_STATUS(&o, RJ_STATUS_SETUP_ERROR);
	cr_expect(strstr(o.res.message, "holds processes"), "%s", o.res.message);
	cr_expect(strstr(o.res.message, "Delegate=yes"), "%s", o.res.message);
	cr_expect(strstr(o.res.message, "mkdir G/leaf; echo $$ >G/leaf/cgroup.procs; "
			 "echo +memory +pids >G/cgroup.subtree_control"),
		  "no recipe for systemd before 254 in: %s", o.res.message);

	cr_assert_eq(setxattr(recipe_g, "trusted.delegate", "1", 1, 0), 0, "%s: %s", recipe_g,
		     strerror(errno));
	cr_assert_eq(mkdir(recipe_leaf, 0755), 0, "%s: %s", recipe_leaf, strerror(errno));
	cr_assert_eq(move_self(recipe_leaf), 0, "cannot move into %s", recipe_leaf);
	snprintf(path, sizeof path, "%s/cgroup.subtree_control", recipe_g);
	cr_assert_eq(write_str(path, "+memory +pids"), 0, "%s", path);
	spawn_with_mem(&o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_eq(o.res.enforced[RJ_LIMIT_MEM], RJ_ENFORCE_CGROUP);
	EXPECT_RANGE("memory_kib", o.res.memory_kib, 16384, 16384 * 11 / 10);
	free(own);
}
