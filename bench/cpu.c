/*
 * bench/cpu: does compute-bound work run at native speed in a sandbox?
 *
 *   cpu [-r ROUNDS] [--ms TARGET] [--json]
 *
 * progs/burn (a dependent chain of xorshift rounds: no memory traffic, no
 * system calls), calibrated once to about TARGET ms of CPU (default 1000),
 * run ROUNDS times (default 5) sandboxed (copied into /box) and as many
 * times unsandboxed (posix_spawn; CPU time from wait4's rusage), one at a
 * time, alternating. Prints the median CPU time (total and user) and wall
 * time of each, their ratio (the goal: within 2%), and the spread of each
 * side, since a difference smaller than the spread is noise.
 *
 * The sandbox's CPU time is its cgroup's (every process, init and setup
 * included, split into user and system by tick counts on cgroup v1); the
 * baseline's is the program's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static unsigned long long calibrate(double target_ms)
{
	const unsigned long long probe = 100000000ull;
	char n[32];
	snprintf(n, sizeof n, "%llu", probe);
	char *argv[] = { (char *)prog_path("burn"), n, NULL };
	struct run runs[3];
	double cpu[3];
	spawn_pool(argv, 3, 1, runs);
	for (int i = 0; i < 3; i++)
		cpu[i] = runs[i].cpu_ms;
	double m = median_of(cpu, 3);
	return (unsigned long long)((double)probe * target_ms / (m > 0.01 ? m : 0.01));
}

int main(int argc, char **argv)
{
	unsigned rounds = 5;
	double target_ms = 1000;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-r") && i + 1 < argc)
			rounds = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
			target_ms = atof(argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else {
			fprintf(stderr, "usage: cpu [-r ROUNDS] [--ms TARGET] [--json]\n");
			return 2;
		}
	}
	if (!rounds || rounds > 64 || target_ms <= 0) {
		fprintf(stderr, "cpu: bad -r (1-64) or --ms\n");
		return 2;
	}
	unsigned long long iters = calibrate(target_ms);
	char its[32];
	snprintf(its, sizeof its, "%llu", iters);
	char *base_argv[] = { (char *)prog_path("burn"), its, NULL };
	const char *box_argv[] = { "./burn", its, NULL };
	rj_plan *plan = plan_or_die(box_argv);
	check_or_die(rj_plan_add_host_file(plan, "burn", prog_path("burn"), RJ_MODE_KEEP_EXEC),
		plan, "add burn");
	check_or_die(rj_plan_set_limit(plan, RJ_LIMIT_WALL_TIME, 60000000), plan, "wall limit");
	struct rj_pool pool;
	if (rj_pool_new(&pool, 1, 0) < 0)
		return 1;
	pool.expect = RJ_STATUS_OK;
	double bc[64], bu[64], bw[64], sc[64], su[64], sw[64];
	unsigned bad = 0;
	for (unsigned i = 0; i < rounds; i++) {
		struct run br;
		bad += spawn_pool(base_argv, 1, 1, &br);
		bc[i] = br.cpu_ms;
		bw[i] = br.wall_ms;
		bu[i] = br.user_ms;
		bad += rj_pool_run(&pool, plan, 1, 1);
		sc[i] = pool.runs[0].cpu_ms;
		sw[i] = pool.runs[0].wall_ms;
		su[i] = pool.runs[0].user_ms;
		if (pool.bad)
			fprintf(stderr, "cpu: a sandboxed run ended %s\n", pool.first_bad);
	}
	struct summary b = summarize(bc, rounds), s = summarize(sc, rounds);
	double bum = median_of(bu, rounds), sum = median_of(su, rounds);
	double bwm = median_of(bw, rounds), swm = median_of(sw, rounds);
	if (json) {
		printf("{\"bench\":\"cpu\",\"iterations\":%llu,\"rounds\":%u,"
		       "\"baseline\":{\"cpu_ms\":%.2f,\"user_ms\":%.2f,\"wall_ms\":%.2f,\"spread\":%.4f},"
		       "\"ringjail\":{\"cpu_ms\":%.2f,\"user_ms\":%.2f,\"wall_ms\":%.2f,\"spread\":%.4f},"
		       "\"ratio\":%.4f,\"user_ratio\":%.4f,\"failed\":%u}\n", iters, rounds, b.median, bum, bwm,
		       b.spread, s.median, sum, swm, s.spread, s.median / b.median, sum / bum, bad);
	} else {
		printf("cpu: burn %s, %u alternating rounds, medians (ms)\n", its, rounds);
		printf("%-9s %9s %9s %9s %8s\n", "who", "cpu", "user", "wall", "spread");
		printf("%-9s %9.1f %9.1f %9.1f %7.2f%%\n", "baseline", b.median, bum, bwm, b.spread * 100);
		printf("%-9s %9.1f %9.1f %9.1f %7.2f%%\n", "ringjail", s.median, sum, swm, s.spread * 100);
		printf("ratio ringjail/baseline: cpu %.4f, user %.4f (goal within 2%%)%s\n", s.median / b.median,
		       sum / bum, bad ? "  (some runs failed!)" : "");
	}
	rj_pool_free(&pool);
	rj_plan_free(plan);
	return bad ? 1 : 0;
}
