/*
 * bench/throughput: N runs of a program at concurrency C through the
 * executor, beside a plain posix_spawn + waitpid pool running the same
 * program at the same concurrency in the same run.
 *
 *   throughput [-n RUNS] [-c CONC[,CONC...]] [-r REPEATS] [--only ringjail|baseline]
 *              [--json] [-- PROGRAM ARGS...]
 *
 * Prints runs/s and spawn-to-end latency p50/p99 for both, the ratio of
 * the rates, and the median over REPEATS alternating rounds (this machine
 * is noisy: the ratio of medians is the figure to quote).
 *
 * --only runs one side: `--only baseline -- bwrap ... /bin/true` measures
 * another sandbox through the same pool (run-all.sh does, for bubblewrap),
 * and `--only ringjail` is for profiling ringjail alone.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ringjail.h"

extern char **environ;

struct stats {
	double rate, p50_us, p99_us;
	unsigned failed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void percentiles(double *lat, unsigned n, struct stats *st)
{
	qsort(lat, n, sizeof *lat, cmp_double);
	st->p50_us = lat[n / 2] * 1e6;
	st->p99_us = lat[(size_t)((double)n * 0.99)] * 1e6;
}

/* ---- the baseline: posix_spawn + waitpid, C at a time ------------------ */

static struct stats run_baseline(char **argv, unsigned n, unsigned conc)
{
	struct stats st = { 0 };
	double *lat = calloc(n, sizeof *lat);
	pid_t *pids = calloc(conc, sizeof *pids);
	double *t0 = calloc(conc, sizeof *t0);
	unsigned started = 0, done = 0, running = 0;
	double start = now_s();
	while (done < n) {
		while (running < conc && started < n) {
			unsigned slot = 0;
			while (pids[slot])
				slot++;
			t0[slot] = now_s();
			if (posix_spawn(&pids[slot], argv[0], NULL, NULL, argv, environ) != 0) {
				st.failed++;
				pids[slot] = 0;
				done++;
			} else {
				running++;
			}
			started++;
		}
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0)
			break;
		for (unsigned i = 0; i < conc; i++) {
			if (pids[i] != pid)
				continue;
			lat[done++] = now_s() - t0[i];
			pids[i] = 0;
			running--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				st.failed++;
		}
	}
	st.rate = n / (now_s() - start);
	percentiles(lat, done, &st);
	free(lat);
	free(pids);
	free(t0);
	return st;
}

/* ---- ringjail ------------------------------------------------------------ */

struct rj_ctx {
	double *t0, *lat;
	unsigned done;
	unsigned failed;
};

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	struct rj_ctx *c = ctx;
	(void)ex;
	if (ev->type != RJ_EVENT_COMPLETED && ev->type != RJ_EVENT_TIMEOUT)
		return;
	unsigned i = (unsigned)(uintptr_t)ev->user_data;
	c->lat[c->done++] = now_s() - c->t0[i];
	if (ev->result->status != RJ_STATUS_OK) {
		if (c->failed++ == 0)
			fprintf(stderr, "throughput: a sandboxed run ended %s: %s\n",
				rj_status_name(ev->result->status), ev->result->message);
	}
}

static struct stats run_ringjail(rj_executor *ex, struct rj_ctx *c, const rj_plan *plan, unsigned n, unsigned conc)
{
	struct stats st = { 0 };
	c->done = 0;
	c->failed = 0;
	unsigned started = 0;
	double start = now_s();
	while (c->done < n) {
		while (started - c->done < conc && started < n) {
			c->t0[started] = now_s();
			int r = rj_spawn(ex, plan, (void *)(uintptr_t)started, NULL);
			if (r < 0) {
				fprintf(stderr, "throughput: rj_spawn: %s\n", rj_executor_error(ex));
				exit(1);
			}
			started++;
		}
		int r = rj_executor_run(ex, -1);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "throughput: rj_executor_run: %s\n", strerror(-r));
			exit(1);
		}
	}
	st.rate = n / (now_s() - start);
	st.failed = c->failed;
	percentiles(c->lat, c->done, &st);
	return st;
}

static int cmp_stats(const void *a, const void *b)
{
	return cmp_double(&((const struct stats *)a)->rate, &((const struct stats *)b)->rate);
}

static struct stats median(struct stats *s, unsigned k)
{
	struct stats copy[64];
	memcpy(copy, s, k * sizeof *s);
	qsort(copy, k, sizeof *copy, cmp_stats);
	struct stats m = copy[k / 2];
	/* latencies: the median of each figure on its own */
	double v[64];
	for (unsigned i = 0; i < k; i++)
		v[i] = s[i].p50_us;
	qsort(v, k, sizeof *v, cmp_double);
	m.p50_us = v[k / 2];
	for (unsigned i = 0; i < k; i++)
		v[i] = s[i].p99_us;
	qsort(v, k, sizeof *v, cmp_double);
	m.p99_us = v[k / 2];
	return m;
}

/* One side alone (--only): the same figures without a ratio. */
static void print_one(bool json, const char *prog, unsigned conc, unsigned n, unsigned repeats,
		      const char *who, const struct stats *m)
{
	if (json)
		printf("{\"program\":\"%s\",\"conc\":%u,\"runs\":%u,\"repeats\":%u,"
		       "\"%s\":{\"rate\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"failed\":%u}}\n", prog, conc,
		       n, repeats, who, m->rate, m->p50_us, m->p99_us, m->failed);
	else
		printf("%-5u %-10s %10.0f %10.0f %10.0f%s\n", conc, who, m->rate, m->p50_us, m->p99_us,
		       m->failed ? "  (some runs failed!)" : "");
}

int main(int argc, char **argv)
{
	unsigned n = 2000, repeats = 3, concs[16] = { 1, 4, 64 }, nconc = 3;
	bool json = false, do_base = true, do_rj = true;
	char *dflt[] = { "/bin/true", NULL };
	char **prog = dflt;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			n = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-r") && i + 1 < argc) {
			repeats = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			nconc = 0;
			for (char *t = strtok(argv[++i], ","); t && nconc < 16; t = strtok(NULL, ","))
				concs[nconc++] = (unsigned)atoi(t);
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			i++;
			do_base = !strcmp(argv[i], "baseline");
			do_rj = !strcmp(argv[i], "ringjail");
			if (!do_base && !do_rj) {
				fprintf(stderr, "throughput: --only takes ringjail or baseline\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--")) {
			prog = argv + i + 1;
			break;
		} else {
			fprintf(stderr, "usage: throughput [-n RUNS] [-c C1,C2,..] [-r REPEATS] [--only ringjail|baseline]\n"
					"                  [--json] [-- PROGRAM ARGS...]\n");
			return 2;
		}
	}
	if (!n || !repeats || repeats > 64 || !prog[0]) {
		fprintf(stderr, "throughput: bad -n, -r (1-64) or program\n");
		return 2;
	}
	struct rj_ctx c = { calloc(n, sizeof(double)), calloc(n, sizeof(double)), 0, 0 };
	struct rj_executor_opts o = { .on_event = on_event, .ctx = &c, .ring_entries = 1024 };
	rj_executor *ex = NULL;
	int r = do_rj ? rj_executor_new(&ex, &o) : 0;
	if (r < 0) {
		fprintf(stderr, "throughput: cannot create an executor: %s\n", rj_executor_error(NULL));
		return 1;
	}
	rj_plan *plan = rj_plan_new((const char *const *)prog);
	if (!plan) {
		fprintf(stderr, "throughput: bad program\n");
		return 2;
	}
	if (!json)
		printf("%-5s %-10s %10s %10s %10s %7s\n", "conc", "who", "runs/s", "p50_us", "p99_us", "ratio");
	for (unsigned k = 0; k < nconc; k++) {
		struct stats b[64], s[64];
		/* Alternate the two, so drift on a noisy machine hits both. */
		for (unsigned i = 0; i < repeats; i++) {
			b[i] = do_base ? run_baseline(prog, n, concs[k]) : (struct stats){ 0 };
			s[i] = do_rj ? run_ringjail(ex, &c, plan, n, concs[k]) : (struct stats){ 0 };
		}
		struct stats mb = median(b, repeats), ms = median(s, repeats);
		if (!do_base || !do_rj) {
			print_one(json, prog[0], concs[k], n, repeats, do_base ? "baseline" : "ringjail",
				  do_base ? &mb : &ms);
		} else if (json) {
			printf("{\"program\":\"%s\",\"conc\":%u,\"runs\":%u,\"repeats\":%u,"
			       "\"baseline\":{\"rate\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f},"
			       "\"ringjail\":{\"rate\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"failed\":%u},"
			       "\"ratio\":%.3f}\n", prog[0], concs[k], n, repeats, mb.rate, mb.p50_us,
			       mb.p99_us, ms.rate, ms.p50_us, ms.p99_us, ms.failed, ms.rate / mb.rate);
		} else {
			printf("%-5u %-10s %10.0f %10.0f %10.0f\n", concs[k], "baseline", mb.rate, mb.p50_us, mb.p99_us);
			printf("%-5u %-10s %10.0f %10.0f %10.0f %7.3f%s\n", concs[k], "ringjail", ms.rate, ms.p50_us,
			       ms.p99_us, ms.rate / mb.rate, ms.failed ? "  (some runs failed!)" : "");
		}
		fflush(stdout);
	}
	rj_plan_free(plan);
	if (ex)
		rj_executor_free(ex);
	free(c.t0);
	free(c.lat);
	return 0;
}
