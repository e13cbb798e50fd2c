/*
 * bench/output: how fast a sandbox's stdout reaches the caller, beside a
 * plain pipe read by this process in the same run.
 *
 *   output [-b BYTES] [-r REPEATS] [-s READ_SIZE] [--pin CPU] [--head]
 *          [--only ringjail|baseline] [--json]
 *
 * The writer (progs/writer: 64 KiB write() calls; with --head, `head -c
 * BYTES /dev/zero` instead) writes BYTES (default 1 GiB) to stdout.
 * ringjail: the sandbox's STDOUT events are counted, nothing copied (no
 * capture), under a 2 GiB output limit and a 60 s wall limit. Baseline:
 * the same writer posix_spawned with its stdout on a default-sized pipe
 * (64 KiB) that this process drains with a plain read() loop, READ_SIZE
 * bytes at a time (default 256 KiB, the size of ringjail's provided
 * buffers; a read can return more than the pipe holds when the writer
 * refills it meanwhile), counting bytes. Both are timed
 * from the spawn call to the last byte and the program's end. REPEATS
 * alternating rounds (default 3); the medians and their ratio (the goal is
 * ringjail >= 0.7 x the pipe). Latency: the gap between two deliveries
 * (STDOUT events; read() returns), p50 and p99. --only runs one side, for
 * profiling.
 *
 * Where the scheduler puts the writer and the reader decides the figures
 * more than anything else here: on this 2-core machine the plain pipe ran
 * at 1.0-1.5 GB/s with the two on different CPUs and 3-4 GB/s on the same
 * one. --pin CPU keeps this process, the writers and the sandboxes (which
 * inherit the affinity) on one CPU, for figures that do not depend on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

#define MAX_READ (4u << 20)
#define MAX_GAPS (1u << 22)

static bool json;
static size_t read_size = 256u * 1024; /* the baseline's read() size */
static int pin = -1;                   /* the one CPU of --pin, or -1 */

struct xfer {
	double secs, mbps, gap_p50_us, gap_p99_us;
	uint64_t bytes;
	unsigned deliveries;
	bool ok;
	char why[512];
};

/* Gaps between deliveries, kept for the percentiles. */
struct gaps {
	double *v, last;
	unsigned n;
};

static void gap_note(struct gaps *g)
{
	double t = now_s();
	if (g->last > 0 && g->n < MAX_GAPS)
		g->v[g->n++] = (t - g->last) * 1e6;
	g->last = t;
}

static void gap_finish(struct gaps *g, struct xfer *x, uint64_t want)
{
	x->mbps = (double)x->bytes / x->secs / 1e6;
	x->gap_p50_us = percentile(g->v, g->n, 0.5);
	x->gap_p99_us = percentile(g->v, g->n, 0.99);
	if (x->ok && x->bytes != want) {
		x->ok = false;
		snprintf(x->why, sizeof x->why, "%llu bytes arrived, not %llu", (unsigned long long)x->bytes,
			 (unsigned long long)want);
	}
}

/* ---- baseline: a pipe and a read() loop ------------------------------------------ */

static struct xfer run_pipe(char *const argv[], uint64_t want, struct gaps *g)
{
	static char buf[MAX_READ];
	struct xfer x = { .ok = true };
	int p[2];
	pid_t pid;
	g->n = 0;
	g->last = 0;
	if (pipe2(p, O_CLOEXEC) < 0) {
		perror("output: pipe2");
		exit(1);
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	double t0 = now_s();
	int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r) {
		fprintf(stderr, "output: posix_spawn %s: %s\n", argv[0], strerror(r));
		exit(1);
	}
	for (;;) {
		ssize_t n = read(p[0], buf, read_size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		x.bytes += (uint64_t)n;
		x.deliveries++;
		gap_note(g);
	}
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	x.secs = now_s() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		x.ok = false;
		snprintf(x.why, sizeof x.why, "the writer did not exit 0 (wait status %#x)", st);
	}
	gap_finish(g, &x, want);
	return x;
}

/* ---- ringjail: STDOUT events, counted ------------------------------------------------ */

struct ctx {
	struct xfer *x;
	struct gaps *g;
	bool done;
};

static void on_event(rj_executor *ex, const struct rj_event *ev, void *arg)
{
	struct ctx *c = arg;
	(void)ex;
	if (ev->type == RJ_EVENT_STDOUT) {
		c->x->bytes += ev->len;
		c->x->deliveries++;
		gap_note(c->g);
		return;
	}
	if (ev->type == RJ_EVENT_STDERR)
		return;
	const struct rj_result *r = ev->result;
	c->done = true;
	if (r->status != RJ_STATUS_OK) {
		c->x->ok = false;
		snprintf(c->x->why, sizeof c->x->why, "%s: %s", rj_status_name(r->status), r->message);
	} else if (r->stdout_bytes != c->x->bytes) {
		c->x->ok = false;
		snprintf(c->x->why, sizeof c->x->why, "the result says %llu stdout bytes, the events %llu",
			 (unsigned long long)r->stdout_bytes, (unsigned long long)c->x->bytes);
	}
}

static struct xfer run_rj(rj_executor *ex, struct ctx *c, const rj_plan *plan, uint64_t want)
{
	struct xfer x = { .ok = true };
	c->x = &x;
	c->done = false;
	c->g->n = 0;
	c->g->last = 0;
	double t0 = now_s();
	int r = rj_spawn(ex, plan, NULL, NULL);
	check_or_die(r, plan, "rj_spawn");
	while (!c->done) {
		r = rj_executor_run(ex, -1);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "output: rj_executor_run: %s\n", strerror(-r));
			exit(1);
		}
	}
	x.secs = now_s() - t0;
	gap_finish(c->g, &x, want);
	c->x = NULL;
	return x;
}

/* ---- main ---------------------------------------------------------------------- */

static double med(const struct xfer *x, unsigned k, size_t off)
{
	return median_at(x, k, sizeof *x, off);
}

static void report(const char *what, uint64_t bytes, unsigned k, const struct xfer *b, const struct xfer *s)
{
	double bm = med(b, k, offsetof(struct xfer, mbps)), sm = med(s, k, offsetof(struct xfer, mbps));
	double b50 = med(b, k, offsetof(struct xfer, gap_p50_us)), b99 = med(b, k, offsetof(struct xfer, gap_p99_us));
	double s50 = med(s, k, offsetof(struct xfer, gap_p50_us)), s99 = med(s, k, offsetof(struct xfer, gap_p99_us));
	unsigned bad = 0;
	for (unsigned i = 0; i < k; i++)
		bad += !b[i].ok + !s[i].ok;
	if (json) {
		printf("{\"bench\":\"output\",\"writer\":\"%s\",\"bytes\":%llu,\"repeats\":%u,\"baseline_read_size\":%zu,\"pinned_cpu\":%d,"
		       "\"baseline\":{\"mb_s\":%.1f,\"gap_p50_us\":%.1f,\"gap_p99_us\":%.1f,\"deliveries\":%u},"
		       "\"ringjail\":{\"mb_s\":%.1f,\"gap_p50_us\":%.1f,\"gap_p99_us\":%.1f,\"events\":%u},"
		       "\"ratio\":%.3f,\"failed\":%u}\n", what, (unsigned long long)bytes, k, read_size, pin, bm, b50, b99,
		       b[k - 1].deliveries, sm, s50, s99, s[k - 1].deliveries, sm / bm, bad);
		return;
	}
	printf("output: %llu bytes from %s, median of %u rounds (baseline: read() loop, %zu-byte reads)%s\n",
	       (unsigned long long)bytes, what, k, read_size, pin >= 0 ? ", all on one CPU" : "");
	printf("%-9s %9s %9s %9s %11s %7s\n", "who", "MB/s", "gap_p50", "gap_p99", "deliveries", "ratio");
	printf("%-9s %9.0f %9.1f %9.1f %11u\n", "baseline", bm, b50, b99, b[k - 1].deliveries);
	printf("%-9s %9.0f %9.1f %9.1f %11u %7.3f%s\n", "ringjail", sm, s50, s99, s[k - 1].deliveries, sm / bm,
	       bad ? "  (FAILURES, see stderr)" : "");
	printf("(gaps in us between deliveries; goal ratio >= 0.7)\n");
}

/* One side alone (--only): its rate and gaps, for profiling. */
static void report_one(const char *who, const struct xfer *x, unsigned k)
{
	printf("%-9s %9.0f MB/s, gaps p50 %.1f us, p99 %.1f us, %u deliveries%s\n", who,
	       med(x, k, offsetof(struct xfer, mbps)), med(x, k, offsetof(struct xfer, gap_p50_us)),
	       med(x, k, offsetof(struct xfer, gap_p99_us)), x[k - 1].deliveries, x[k - 1].ok ? "" : " (FAILED)");
}

int main(int argc, char **argv)
{
	uint64_t bytes = 1ull << 30;
	unsigned repeats = 3;
	bool head = false, do_base = true, do_rj = true;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-b") && i + 1 < argc)
			bytes = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			repeats = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pin") && i + 1 < argc)
			pin = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			read_size = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--head"))
			head = true;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			i++;
			do_base = !strcmp(argv[i], "baseline");
			do_rj = !strcmp(argv[i], "ringjail");
		} else if (!strcmp(argv[i], "--json"))
			json = true;
		else {
			fprintf(stderr, "usage: output [-b BYTES] [-r REPEATS] [-s READ_SIZE] [--pin CPU] [--head]\n"
					"              [--only ringjail|baseline] [--json]\n");
			return 2;
		}
	}
	if (!bytes || !repeats || repeats > 64 || (!do_base && !do_rj) || !read_size || read_size > MAX_READ) {
		fprintf(stderr, "output: bad -b, -r (1-64) or -s (1 to %u)\n", MAX_READ);
		return 2;
	}
	if (pin >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(pin, &set);
		if (sched_setaffinity(0, sizeof set, &set) < 0) {
			fprintf(stderr, "output: cannot pin to CPU %d: %s\n", pin, strerror(errno));
			return 2;
		}
	}
	char n[32];
	snprintf(n, sizeof n, "%llu", (unsigned long long)bytes);
	char *base_argv[] = { (char *)prog_path("writer"), n, NULL };
	char *head_argv[] = { "/usr/bin/head", "-c", n, "/dev/zero", NULL };
	const char *box_argv[] = { "./writer", n, NULL };
	rj_plan *plan = plan_or_die(head ? (const char *const *)head_argv : box_argv);
	if (!head)
		check_or_die(rj_plan_add_host_file(plan, "writer", prog_path("writer"), RJ_MODE_KEEP_EXEC),
			plan, "add writer");
	check_or_die(rj_plan_set_limit(plan, RJ_LIMIT_OUTPUT, 2ull << 30), plan, "output limit");
	check_or_die(rj_plan_set_limit(plan, RJ_LIMIT_WALL_TIME, 60000000), plan, "wall limit");
	struct gaps g = { calloc(MAX_GAPS, sizeof(double)), 0, 0 };
	struct ctx c = { NULL, &g, false };
	struct rj_executor_opts o = { .on_event = on_event, .ctx = &c };
	rj_executor *ex;
	if (rj_executor_new(&ex, &o) < 0) {
		fprintf(stderr, "output: cannot create an executor: %s\n", rj_executor_error(NULL));
		return 1;
	}
	struct xfer b[64], s[64];
	for (unsigned i = 0; i < repeats; i++) {
		b[i] = do_base ? run_pipe(head ? head_argv : base_argv, bytes, &g) : (struct xfer){ .ok = true };
		s[i] = do_rj ? run_rj(ex, &c, plan, bytes) : (struct xfer){ .ok = true };
		if (!b[i].ok)
			fprintf(stderr, "output: baseline round %u: %s\n", i + 1, b[i].why);
		if (!s[i].ok)
			fprintf(stderr, "output: ringjail round %u: %s\n", i + 1, s[i].why);
	}
	if (do_base && do_rj)
		report(head ? "head -c N /dev/zero" : "progs/writer", bytes, repeats, b, s);
	else
		report_one(do_base ? "baseline" : "ringjail", do_base ? b : s, repeats);
	rj_executor_free(ex);
	rj_plan_free(plan);
	free(g.v);
	return 0;
}
