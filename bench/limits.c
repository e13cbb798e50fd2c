/*
 * bench/limits: what limits and cgroups cost, each beside a baseline
 * measured in the same run.
 *
 *   limits [-n RUNS] [-k KILLS] [-t TRUE_RUNS] [-r REPEATS] [--ms TARGET]
 *          [--only repeat|kill|cgroup] [--json]
 *
 * repeat  A CPU-bound static program (progs/burn, calibrated once to about
 *         TARGET ms of CPU, default 300) run RUNS times (default 20) at
 *         concurrency 2, sandboxed (copied into /box) and unsandboxed
 *         (posix_spawn; CPU time from wait4's rusage), two at a time in
 *         alternation. For CPU and wall time: median, min, max, stdev and
 *         spread = (max - min) / median, and the ratio of the spreads
 *         (ringjail / baseline; the goal is <= 1).
 * kill    How far past a limit a sandbox runs: a spinner under a 0.2 s CPU
 *         limit and `sleep 10` under a 0.2 s wall limit, KILLS times each
 *         (default 30); p50 and p99 of (cpu_ms - limit) and (wall_ms -
 *         limit). Baseline: the same program posix_spawned and killed by
 *         the kernel's own timers (a POSIX CPU-clock timer on the child, an
 *         absolute clock_nanosleep), CPU and wall from wait4.
 * cgroup  What a per-run cgroup costs: /bin/true TRUE_RUNS times (default
 *         1000) at concurrency 4 with the executor's cgroup pool, with
 *         pooling off (RJ_CGROUP_NO_POOL=1 while a second executor is
 *         created) and through posix_spawn, REPEATS rounds (default 3) in
 *         alternation; runs/s, latency p50/p99, the parent's CPU per run.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

#define LIMIT_US 200000u /* the CPU and wall limits of the kill part */

static bool json;

/* ---- repeatability ---------------------------------------------------------- */

static void print_summary_json(const char *name, struct summary s)
{
	printf("\"%s\":{\"median\":%.2f,\"min\":%.2f,\"max\":%.2f,\"stdev\":%.2f,\"spread\":%.4f}", name,
	       s.median, s.min, s.max, s.stdev, s.spread);
}

static void print_summary_row(const char *who, const char *what, struct summary s)
{
	printf("%-9s %-8s %9.1f %9.1f %9.1f %8.2f %8.2f%%\n", who, what, s.median, s.min, s.max, s.stdev,
	       s.spread * 100);
}

static void part_repeat(struct rj_pool *pool, unsigned n, double target_ms)
{
	unsigned long long iters = burn_iterations(target_ms, 50000000ull);
	char its[32];
	snprintf(its, sizeof its, "%llu", iters);
	char *base_argv[] = { (char *)prog_path("burn"), its, NULL };
	rj_plan *plan = burn_plan(its, 30000000);
	double *bc = calloc(n, sizeof *bc), *bw = calloc(n, sizeof *bw);
	double *sc = calloc(n, sizeof *sc), *sw = calloc(n, sizeof *sw);
	unsigned bad_b = 0, bad_s = 0;
	pool->expect = RJ_STATUS_OK;
	/* Two at a time, alternating, so that whatever else this shared
	 * machine runs meanwhile lands on both sides alike. */
	for (unsigned i = 0; i < n; i += 2) {
		unsigned k = n - i < 2 ? n - i : 2;
		struct run br[2];
		bad_b += spawn_pool(base_argv, k, 2, br);
		bad_s += rj_pool_run(pool, plan, k, 2);
		for (unsigned j = 0; j < k; j++) {
			bc[i + j] = br[j].cpu_ms;
			bw[i + j] = br[j].wall_ms;
			sc[i + j] = pool->runs[j].cpu_ms;
			sw[i + j] = pool->runs[j].wall_ms;
		}
		if (pool->bad)
			fprintf(stderr, "limits: a sandboxed run ended %s\n", pool->first_bad);
	}
	struct summary sbc = summarize(bc, n), sbw = summarize(bw, n);
	struct summary ssc = summarize(sc, n), ssw = summarize(sw, n);
	if (json) {
		printf("{\"bench\":\"limits\",\"part\":\"repeatability\",\"runs\":%u,\"conc\":2,"
		       "\"iterations\":%llu,\"baseline\":{", n, iters);
		print_summary_json("cpu_ms", sbc);
		putchar(',');
		print_summary_json("wall_ms", sbw);
		printf(",\"failed\":%u},\"ringjail\":{", bad_b);
		print_summary_json("cpu_ms", ssc);
		putchar(',');
		print_summary_json("wall_ms", ssw);
		printf(",\"failed\":%u},\"spread_ratio\":{\"cpu\":%.3f,\"wall\":%.3f}}\n", bad_s,
		       ssc.spread / sbc.spread, ssw.spread / sbw.spread);
	} else {
		printf("repeatability: %u runs of burn %s at concurrency 2 (ms)\n", n, its);
		printf("%-9s %-8s %9s %9s %9s %8s %9s\n", "who", "what", "median", "min", "max", "stdev",
		       "spread");
		print_summary_row("baseline", "cpu", sbc);
		print_summary_row("ringjail", "cpu", ssc);
		print_summary_row("baseline", "wall", sbw);
		print_summary_row("ringjail", "wall", ssw);
		printf("spread ratio ringjail/baseline: cpu %.2f, wall %.2f (goal <= 1)%s\n\n",
		       ssc.spread / sbc.spread, ssw.spread / sbw.spread,
		       bad_b + bad_s ? "  (some runs failed!)" : "");
	}
	fflush(stdout);
	free(bc);
	free(bw);
	free(sc);
	free(sw);
	rj_plan_free(plan);
}

/* ---- kill latency ------------------------------------------------------------- */

/* The baseline CPU kill: a CPU-clock timer on the child's process clock,
 * which the kernel checks at its tick, then SIGKILL; CPU time from wait4. */
static double base_cpu_kill(char *const argv[])
{
	pid_t pid;
	clockid_t cid;
	timer_t tm;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return NAN;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	struct itimerspec its = { .it_value = { 0, LIMIT_US * 1000L } };
	if (clock_getcpuclockid(pid, &cid) || timer_create(cid, &sev, &tm) ||
	    timer_settime(tm, 0, &its, NULL)) {
		fprintf(stderr, "limits: cannot time the baseline's CPU: %s\n", strerror(errno));
		kill(pid, SIGKILL);
	} else {
		while (sigwaitinfo(&set, NULL) < 0 && errno == EINTR)
			;
		kill(pid, SIGKILL);
		timer_delete(tm);
	}
	int st;
	struct rusage ru;
	wait4(pid, &st, 0, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/* The baseline wall kill: sleep until spawn + limit, SIGKILL, reap. */
static double base_wall_kill(char *const argv[])
{
	pid_t pid;
	struct timespec t0, at;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return NAN;
	at = t0;
	at.tv_nsec += LIMIT_US * 1000L;
	at.tv_sec += at.tv_nsec / 1000000000L;
	at.tv_nsec %= 1000000000L;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
		;
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	return (now_s() - ((double)t0.tv_sec + (double)t0.tv_nsec / 1e9)) * 1e3;
}

static double load1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

struct kill_fig {
	double p50, p99, max;
	unsigned bad;
};

static struct kill_fig kill_figures(double *over, unsigned n, unsigned bad)
{
	struct tail t = tail_of(over, n);
	return (struct kill_fig){ t.p50, t.p99, t.max, bad };
}

static void kill_report(const char *what, unsigned n, struct kill_fig b, struct kill_fig s)
{
	if (json) {
		printf("{\"bench\":\"limits\",\"part\":\"%s\",\"limit_ms\":%.0f,\"n\":%u,"
		       "\"baseline\":{\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f},"
		       "\"ringjail\":{\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,\"bad\":%u}}\n",
		       what, LIMIT_US / 1e3, n, b.p50, b.p99, b.max, s.p50, s.p99, s.max, s.bad);
		return;
	}
	printf("%-10s %-9s %9.2f %9.2f %9.2f\n", what, "baseline", b.p50, b.p99, b.max);
	printf("%-10s %-9s %9.2f %9.2f %9.2f%s\n", what, "ringjail", s.p50, s.p99, s.max,
	       s.bad ? "  (wrong verdicts!)" : "");
}

/* One sandboxed and one baseline run at a time, alternating; over[] gets
 * (measure - limit) in ms, the measure being CPU or wall time. */
static void kill_part(struct rj_pool *pool, bool cpu, unsigned n)
{
	const char *box_argv_cpu[] = { "./burn", "0", NULL };
	const char *box_argv_wall[] = { "/bin/sleep", "10", NULL };
	char *base_cpu[] = { (char *)prog_path("burn"), "0", NULL };
	char *base_wall[] = { "/bin/sleep", "10", NULL };
	rj_plan *plan = plan_or_die(cpu ? box_argv_cpu : box_argv_wall);
	if (cpu)
		check_or_die(rj_plan_add_host_file(plan, "burn", prog_path("burn"), RJ_MODE_KEEP_EXEC),
			plan, "add burn");
	check_or_die(rj_plan_set_limit(plan, cpu ? RJ_LIMIT_TIME : RJ_LIMIT_WALL_TIME, LIMIT_US), plan,
		     "limit");
	double *bo = calloc(n, sizeof *bo), *so = calloc(n, sizeof *so);
	unsigned bad = 0;
	pool->expect = cpu ? RJ_STATUS_TIME_LIMIT : RJ_STATUS_WALL_TIME_LIMIT;
	for (unsigned i = 0; i < n; i++) {
		bo[i] = (cpu ? base_cpu_kill(base_cpu) : base_wall_kill(base_wall)) - LIMIT_US / 1e3;
		bad += rj_pool_run(pool, plan, 1, 1);
		const struct run *r = &pool->runs[0];
		so[i] = (cpu ? r->cpu_ms : r->wall_ms) - LIMIT_US / 1e3;
		if (pool->bad)
			fprintf(stderr, "limits: a sandbox ended %s\n", pool->first_bad);
		/* Say what an outlier looked like: a slow kill, a slow start or
		 * a slow loop (the caller's latency past the result's wall). */
		if (so[i] > 50)
			fprintf(stderr, "limits: %s outlier: %.1f ms past the limit (wall %.1f, cpu %.1f, "
				"spawn to final event %.1f ms; load %.2f)\n", cpu ? "cpu_kill" : "wall_kill",
				so[i], r->wall_ms, r->cpu_ms, r->lat_ms, load1());
	}
	kill_report(cpu ? "cpu_kill" : "wall_kill", n, kill_figures(bo, n, 0), kill_figures(so, n, bad));
	free(bo);
	free(so);
	rj_plan_free(plan);
}

static void part_kill(struct rj_pool *pool, unsigned n)
{
	if (!json) {
		printf("kill latency: ms past a %.0f ms limit (CPU for cpu_kill, wall for wall_kill), "
		       "%u runs each\n", LIMIT_US / 1e3, n);
		printf("%-10s %-9s %9s %9s %9s\n", "limit", "who", "p50", "p99", "max");
	}
	kill_part(pool, true, n);
	kill_part(pool, false, n);
	if (!json)
		printf("\n");
	fflush(stdout);
}

/* ---- what a cgroup costs --------------------------------------------------------- */

struct rate {
	double rate, p50_us, p99_us, cpu_us; /* cpu_us: this process's CPU per run */
	unsigned bad;
};

static struct rate rate_of(struct run *runs, unsigned n, double secs, double cpu_s, unsigned bad)
{
	double *lat = malloc(n * sizeof *lat);
	for (unsigned i = 0; i < n; i++)
		lat[i] = runs[i].lat_ms * 1e3;
	struct tail t = tail_of(lat, n);
	struct rate r = { n / secs, t.p50, t.p99, cpu_s * 1e6 / n, bad };
	free(lat);
	return r;
}

static struct rate one_rj_round(struct rj_pool *p, const rj_plan *plan, unsigned n, unsigned conc)
{
	double c0 = self_cpu_s(), t0 = now_s();
	unsigned bad = rj_pool_run(p, plan, n, conc);
	double secs = now_s() - t0, cpu = self_cpu_s() - c0;
	if (bad)
		fprintf(stderr, "limits: %u sandboxed runs failed, the first %s\n", bad, p->first_bad);
	return rate_of(p->runs, n, secs, cpu, bad);
}

static struct rate median_rate(const struct rate *r, unsigned k)
{
	struct rate m = {
		MEDIAN_OF(r, k, struct rate, rate), MEDIAN_OF(r, k, struct rate, p50_us),
		MEDIAN_OF(r, k, struct rate, p99_us), MEDIAN_OF(r, k, struct rate, cpu_us), 0
	};
	for (unsigned i = 0; i < k; i++)
		m.bad += r[i].bad;
	return m;
}

static void rate_row(const char *who, struct rate r, double base_rate)
{
	if (json) {
		printf("\"%s\":{\"rate\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f,\"parent_cpu_us\":%.0f,\"failed\":%u}",
		       who, r.rate, r.p50_us, r.p99_us, r.cpu_us, r.bad);
		return;
	}
	printf("%-10s %9.0f %9.0f %9.0f %12.0f %7.3f%s\n", who, r.rate, r.p50_us, r.p99_us, r.cpu_us,
	       r.rate / base_rate, r.bad ? "  (some runs failed!)" : "");
}

static void part_cgroup(struct rj_pool *pooled, unsigned n, unsigned repeats)
{
	const unsigned conc = 4;
	struct rj_pool nopool;
	/* The library reads RJ_CGROUP_NO_POOL when an executor is made. */
	setenv("RJ_CGROUP_NO_POOL", "1", 1);
	int r = rj_pool_new(&nopool, n, 1024);
	unsetenv("RJ_CGROUP_NO_POOL");
	if (r < 0)
		exit(1);
	const char *argv[] = { "/bin/true", NULL };
	char *base_argv[] = { "/bin/true", NULL };
	rj_plan *plan = plan_or_die(argv);
	struct run *br = calloc(n, sizeof *br);
	struct rate b[64], p[64], np[64];
	pooled->expect = nopool.expect = RJ_STATUS_OK;
	for (unsigned i = 0; i < repeats; i++) {
		double c0 = self_cpu_s(), t0 = now_s();
		unsigned bad = spawn_pool(base_argv, n, conc, br);
		b[i] = rate_of(br, n, now_s() - t0, self_cpu_s() - c0, bad);
		p[i] = one_rj_round(pooled, plan, n, conc);
		np[i] = one_rj_round(&nopool, plan, n, conc);
	}
	struct rate mb = median_rate(b, repeats), mp = median_rate(p, repeats), mn = median_rate(np, repeats);
	bool cg = pooled->hardening & RJ_LAYER_CGROUP && nopool.hardening & RJ_LAYER_CGROUP;
	double d_pool = 1e6 / mn.rate - 1e6 / mp.rate, d_base = 1e6 / mp.rate - 1e6 / mb.rate;
	if (json) {
		printf("{\"bench\":\"limits\",\"part\":\"cgroup_cost\",\"program\":\"/bin/true\",\"runs\":%u,"
		       "\"conc\":%u,\"repeats\":%u,\"cgroup_applied\":%s,", n, conc, repeats, cg ? "true" : "false");
		rate_row("baseline", mb, mb.rate);
		putchar(',');
		rate_row("pooled", mp, mb.rate);
		putchar(',');
		rate_row("no_pool", mn, mb.rate);
		printf(",\"no_pool_minus_pooled_us\":%.1f,\"pooled_minus_baseline_us\":%.1f,"
		       "\"parent_cpu_no_pool_minus_pooled_us\":%.1f}\n", d_pool, d_base, mn.cpu_us - mp.cpu_us);
	} else {
		printf("cgroup cost: /bin/true x %u at concurrency %u, median of %u rounds%s\n", n, conc, repeats,
		       cg ? "" : " (NO CGROUP WAS APPLIED: the figures say nothing about cgroups)");
		printf("%-10s %9s %9s %9s %12s %7s\n", "who", "runs/s", "p50_us", "p99_us", "parentcpu_us",
		       "ratio");
		rate_row("baseline", mb, mb.rate);
		rate_row("pooled", mp, mb.rate);
		rate_row("no_pool", mn, mb.rate);
		printf("per run: no pool costs %+.0f us of wall time over the pool (%+.0f us of parent CPU); "
		       "pooled ringjail costs %+.0f us over posix_spawn\n\n", d_pool, mn.cpu_us - mp.cpu_us,
		       d_base);
	}
	fflush(stdout);
	free(br);
	rj_plan_free(plan);
	rj_pool_free(&nopool);
}

/* ---- main --------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: limits [-n RUNS] [-k KILLS] [-t TRUE_RUNS] [-r REPEATS] [--ms TARGET]\n"
			"              [--only repeat|kill|cgroup] [--json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned n = 20, kills = 30, trues = 1000, repeats = 3;
	double target_ms = 300;
	const char *only = NULL;
	for (int i = 1; i < argc; i++) {
		bool more = i + 1 < argc;
		if (!strcmp(argv[i], "-n") && more)
			n = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-k") && more)
			kills = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-t") && more)
			trues = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-r") && more)
			repeats = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ms") && more)
			target_ms = atof(argv[++i]);
		else if (!strcmp(argv[i], "--only") && more)
			only = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else
			usage();
	}
	if (!n || !kills || !trues || !repeats || repeats > 64 || target_ms <= 0)
		usage();
	struct rj_pool pool;
	unsigned cap = trues > n ? trues : n;
	if (rj_pool_new(&pool, cap, 1024) < 0)
		return 1;
	if (!only || !strcmp(only, "repeat"))
		part_repeat(&pool, n, target_ms);
	if (!only || !strcmp(only, "kill"))
		part_kill(&pool, kills);
	if (!only || !strcmp(only, "cgroup"))
		part_cgroup(&pool, trues, repeats);
	rj_pool_free(&pool);
	return 0;
}
