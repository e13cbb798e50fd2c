/* The executor's cgroup pool: after thousands of runs it holds no more
 * groups than ran at once, every one empty, and no figure of one run shows
 * in the next run on the same group. The pool's parents are named
 * ringjail-<pid>-<n> below this process's own group in each hierarchy. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slowhost.h"
#include "checks.h"

static void need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("not root: this host gives cgroups to root only");
}

/* The hierarchies the pool lives in: v1 memory, pids and cpuacct, or the
 * v2 one when the library went there (its own group offers memory). */
struct hier {
	const char *name;
	char *dir;   /* our own group's directory */
};

static int hierarchies(struct hier *h)
{
	static const char *const v1[] = { "memory", "pids", "cpuacct" };
	int n = 0;
	for (int i = 0; i < 3; i++) {
		char *d = own_cgroup_dir(v1[i]);
		if (d)
			h[n++] = (struct hier){ v1[i], d };
	}
	char *v2 = own_cgroup_dir(NULL);
	if (v2) {
		/* The pool may also sit beside our group, in its parent. */
		h[n++] = (struct hier){ "v2", v2 };
		char *up = strdup(v2), *slash = strrchr(up, '/');
		if (slash && slash > up && strcmp(v2, "/sys/fs/cgroup") && strcmp(v2, "/sys/fs/cgroup/unified")) {
			*slash = '\0';
			h[n++] = (struct hier){ "v2 parent", up };
		} else {
			free(up);
		}
	}
	return n;
}

static void hier_free(struct hier *h, int n)
{
	for (int i = 0; i < n; i++)
		free(h[i].dir);
}

/* What one hierarchy holds of this process's pools. */
struct census {
	int pools;         /* ringjail-<ourpid>-* directories */
	int groups;        /* their sandbox groups */
	int busy;          /* groups whose cgroup.procs is not empty */
	int strays;        /* other directories in a pool parent */
	char busy_list[512];
};

static void count_pool(const char *pool, struct census *c)
{
	DIR *d = opendir(pool);
	cr_assert(d, "%s: %s", pool, strerror(errno));
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if (!all_digits(e->d_name)) {
			c->strays++;
			continue;
		}
		c->groups++;
		char path[1400];
		snprintf(path, sizeof path, "%s/%s/cgroup.procs", pool, e->d_name);
		char *procs = read_text(path);
		cr_assert(procs, "%s: %s", path, strerror(errno));
		if (procs[0]) {
			c->busy++;
			size_t l = strlen(c->busy_list);
			snprintf(c->busy_list + l, sizeof c->busy_list - l, "%s: %.40s; ", e->d_name, procs);
		}
		free(procs);
	}
	closedir(d);
}

static struct census census(const char *dir)
{
	struct census c = { 0 };
	char prefix[64];
	snprintf(prefix, sizeof prefix, "ringjail-%d-", (int)getpid());
	DIR *d = opendir(dir);
	if (!d)
		return c;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		char pool[1024];
		snprintf(pool, sizeof pool, "%s/%s", dir, e->d_name);
		c.pools++;
		count_pool(pool, &c);
	}
	closedir(d);
	return c;
}

/* What the many runs ended with. */
struct tally {
	unsigned done, not_ok, no_cgroup;
};

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	struct tally *t = ctx;
	if (ev->type != RJ_EVENT_COMPLETED && ev->type != RJ_EVENT_TIMEOUT)
		return;
	if (ev->result->status != RJ_STATUS_OK && t->not_ok++ < 5)
		fprintf(stderr, "run %llu: %s: %s\n", (unsigned long long)ev->id,
			rj_status_name(ev->result->status), ev->result->message);
	if (!(ev->result->hardening & RJ_LAYER_CGROUP))
		t->no_cgroup++;
	t->done++;
}

/* The groups of every hierarchy that holds a pool of ours; fails the test
 * on a stray group, more groups than max, or (when idle) a busy group.
 * Returns how many hierarchies hold one. */
static int check_pools(struct hier *h, int nh, int max, bool idle, const char *when)
{
	int with_pool = 0;
	for (int i = 0; i < nh; i++) {
		struct census c = census(h[i].dir);
		if (!c.pools)
			continue;
		with_pool++;
		fprintf(stderr, "%s: %s (%s): %d pool, %d groups, %d busy\n", when, h[i].name,
			h[i].dir, c.pools, c.groups, c.busy);
		cr_expect_eq(c.pools, 1, "%s: %d pools of this process in %s", when, c.pools, h[i].dir);
		cr_expect_leq(c.groups, max, "%s: %d groups in the %s pool, more than %d", when,
			      c.groups, h[i].name, max);
		cr_expect(!idle || c.busy == 0, "%s: %d groups of the %s pool still hold processes: %s", when,
			     c.busy, h[i].name, c.busy_list);
		cr_expect_eq(c.strays, 0, "%s: %d stray directories in the %s pool", when, c.strays,
			     h[i].name);
	}
	return with_pool;
}

Test(limits, pool_holds_at_most_the_concurrency_and_ends_empty, .timeout = 300)
{
	need_root();
	enum { CONC = 16 };
	/* 5,000 runs here; fewer on a slow host (tests/common/slowhost.h), but
	 * enough for a check midway (at 1,000). */
	unsigned runs_scaled = (unsigned)(5000 / host_slowdown());
	unsigned runs = runs_scaled > 1100 ? runs_scaled : 1100;
	struct hier h[5];
	int nh = hierarchies(h);
	cr_assert_gt(nh, 0, "no cgroup hierarchy found in /proc/self/mountinfo");
	struct tally t = { 0 };
	rj_executor *ex = executor_new(on_event, &t);
	int rc;
	rj_plan *p = CMD_PLAN("/bin/true");
	cr_assert_eq(rj_plan_set_capture(p, 0), 0);
	/* Before any run: only the probe group, in the memory and the pids
	 * hierarchies at least (one v2 hierarchy holds both). */
	int pools = check_pools(h, nh, 1, true, "before");
	char *v1mem = own_cgroup_dir("memory");
	cr_expect(pools >= 2 || (pools == 1 && !v1mem), "pools of this executor in %d hierarchies",
		  pools);
	free(v1mem);
	unsigned spawned = 0, peak = 0, next_check = 1000;
	double t0 = now_ms();
	while (t.done < runs) {
		while (spawned < runs && rj_executor_active(ex) < CONC) {
			uint64_t id;
			rc = rj_spawn(ex, p, NULL, &id);
			cr_assert_eq(rc, 0, "spawn %u: %s: %s", spawned, strerror(-rc), rj_executor_error(ex));
			spawned++;
		}
		if (rj_executor_active(ex) > peak)
			peak = rj_executor_active(ex);
		rc = rj_executor_run(ex, 1000);
		cr_assert_geq(rc, 0, "rj_executor_run: %s", strerror(-rc));
		cr_assert_lt(now_ms() - t0, scaled_ms(240000), "%u of %u runs done after %.0f s", t.done,
			     runs, scaled_ms(240));
		if (spawned >= next_check && spawned < runs) {
			check_pools(h, nh, CONC + 1, false, "midway");
			next_check += 1000;
		}
	}
	double secs = (now_ms() - t0) / 1e3;
	fprintf(stderr, "%u runs in %.1f s (%.0f/s), at most %u at once\n", runs, secs, runs / secs, peak);
	cr_expect_eq(t.not_ok, 0, "%u of %u runs of /bin/true were not ok", t.not_ok, runs);
	cr_expect_eq(t.no_cgroup, 0, "%u runs had no cgroup", t.no_cgroup);
	cr_expect_eq(peak, CONC);
	/* All ended, the executor still alive: the pool, empty. */
	cr_expect_eq(check_pools(h, nh, CONC + 1, true, "after"), pools, "the pool is gone");
	executor_free(ex);
	/* Freed: nothing of ours is left in any hierarchy. */
	for (int i = 0; i < nh; i++) {
		struct census c = census(h[i].dir);
		cr_expect_eq(c.pools, 0, "%d pools of a freed executor left in %s", c.pools, h[i].dir);
	}
	rj_plan_free(p);
	hier_free(h, nh);
}

/* The result of one run. */
struct one {
	struct rj_result res;
	bool done;
};

static void on_one(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	struct one *o = ctx;
	if (ev->type == RJ_EVENT_COMPLETED || ev->type == RJ_EVENT_TIMEOUT) {
		o->res = *ev->result;
		o->res.stdout_data = o->res.stderr_data = NULL;
		o->done = true;
	}
}

static void run_on(rj_executor *ex, struct one *o, const rj_plan *p, const char *what)
{
	memset(o, 0, sizeof *o);
	uint64_t id;
	int rc = rj_spawn(ex, p, NULL, &id);
	cr_assert_eq(rc, 0, "rj_spawn: %s", rj_executor_error(ex));
	double end = now_ms() + 30000;
	while (!o->done) {
		cr_assert_lt(now_ms(), end);
		cr_assert_geq(rj_executor_run(ex, 200), 0);
	}
	fprintf(stderr, "%s: status=%s cpu_ms=%.1f wall_ms=%.1f memory_kib=%llu\n", what,
		rj_status_name(o->res.status), o->res.cpu_ms, o->res.wall_ms,
		(unsigned long long)o->res.memory_kib);
}

Test(limits, figures_of_one_run_do_not_leak_into_the_next, .timeout = 60)
{
	need_root();
	struct one o;
	rj_executor *ex = executor_new(on_one, &o);
	/* A program that touches 100 MiB and burns some CPU doing it ... */
	rj_plan *big = CMD_PLAN("./touch", "100");
	cr_assert_eq(rj_plan_add_host_file(big, "touch", prog_path("touch"), RJ_MODE_KEEP_EXEC),
		0, "%s", rj_plan_error(big));
	rj_plan *small = CMD_PLAN("/bin/true");
	for (int round = 0; round < 3; round++) {
		run_on(ex, &o, big, "touch 100 MiB");
		cr_expect_eq(o.res.status, RJ_STATUS_OK, "%s", o.res.message);
		cr_expect_geq(o.res.memory_kib, 100 * 1024);
		double big_cpu = o.res.cpu_ms;
		/* ... then /bin/true, one at a time on the same executor (and
		 * so the same pooled group): its own figures only. */
		run_on(ex, &o, small, "/bin/true");
		cr_expect_eq(o.res.status, RJ_STATUS_OK, "%s", o.res.message);
		cr_expect_lt(o.res.memory_kib, 20 * 1024, "round %d: /bin/true after a 100 MiB run "
			     "reports a peak of %llu KiB", round, (unsigned long long)o.res.memory_kib);
		cr_expect_lt(o.res.cpu_ms, big_cpu, "round %d: /bin/true used %.1f ms of CPU, the "
			     "100 MiB run %.1f", round, o.res.cpu_ms, big_cpu);
		cr_expect_lt(o.res.cpu_ms, scaled_ms(20), "round %d: /bin/true used %.1f ms of CPU",
			     round, o.res.cpu_ms);
		cr_expect(!o.res.oom_killed);
	}
	executor_free(ex);
	rj_plan_free(big);
	rj_plan_free(small);
}
