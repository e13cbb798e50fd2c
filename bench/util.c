/* Helpers shared by the bench programs (see util.h). */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

double self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
}

long rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

int ring_files(int ring_fd)
{
	char path[64], line[512];
	int n = -1;
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ring_fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned slot;
		char c;
		if (!strncmp(line, "UserFiles:", 10))
			n = 0;
		else if (n >= 0 && sscanf(line, " %u: %c", &slot, &c) == 2)
			n++;
		else if (n >= 0)
			break;
	}
	fclose(f);
	return n;
}

const char *prog_path(const char *name)
{
	static char buf[4][512];
	static unsigned k;
	char *p = buf[k++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s", PROGS_DIR, name);
	if (access(p, X_OK) < 0) {
		fprintf(stderr, "bench: helper program %s is missing (build bench/progs first): %s\n", p,
			strerror(errno));
		exit(1);
	}
	return p;
}

/* ---- statistics ------------------------------------------------------------ */

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double percentile(double *v, unsigned n, double p)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)ceil(p * (double)n);
	return v[i ? i - 1 : 0];
}

double median_of(const double *v, unsigned n)
{
	if (!n)
		return NAN;
	double *c = malloc(n * sizeof *c);
	memcpy(c, v, n * sizeof *c);
	qsort(c, n, sizeof *c, cmp_double);
	double m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

struct summary summarize(const double *v, unsigned n)
{
	struct summary s = { .n = n, .min = INFINITY, .max = -INFINITY };
	double sum = 0, sq = 0;
	for (unsigned i = 0; i < n; i++) {
		s.min = v[i] < s.min ? v[i] : s.min;
		s.max = v[i] > s.max ? v[i] : s.max;
		sum += v[i];
	}
	s.mean = n ? sum / n : NAN;
	for (unsigned i = 0; i < n; i++)
		sq += (v[i] - s.mean) * (v[i] - s.mean);
	s.stdev = n > 1 ? sqrt(sq / (n - 1)) : 0;
	s.median = median_of(v, n);
	s.spread = (s.max - s.min) / s.median;
	return s;
}

double median_at(const void *items, unsigned k, size_t size, size_t off)
{
	double *v = malloc((k ? k : 1) * sizeof *v);
	for (unsigned i = 0; i < k; i++)
		memcpy(&v[i], (const char *)items + i * size + off, sizeof v[i]);
	double m = median_of(v, k);
	free(v);
	return m;
}

struct tail tail_of(double *v, unsigned n)
{
	struct tail t = { percentile(v, n, 0.5), percentile(v, n, 0.99), NAN };
	if (n)
		t.max = v[n - 1];
	return t;
}

/* ---- the baseline pool ------------------------------------------------------- */

unsigned spawn_pool(char *const argv[], unsigned n, unsigned conc, struct run *runs)
{
	pid_t *pid = calloc(conc, sizeof *pid);
	unsigned *which = calloc(conc, sizeof *which);
	double *t0 = calloc(conc, sizeof *t0);
	unsigned started = 0, ended = 0, running = 0, bad = 0;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	while (ended < n) {
		while (running < conc && started < n) {
			unsigned k = 0;
			while (pid[k])
				k++;
			which[k] = started;
			memset(&runs[started], 0, sizeof runs[started]);
			t0[k] = now_s();
			if (posix_spawn(&pid[k], argv[0], &fa, NULL, argv, environ) != 0) {
				pid[k] = 0;
				runs[started].status = RJ_STATUS_SETUP_ERROR;
				bad++;
				ended++;
			} else {
				running++;
			}
			started++;
		}
		if (!running)
			continue;
		int st;
		struct rusage ru;
		pid_t p = wait4(-1, &st, 0, &ru);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		double t = now_s();
		for (unsigned k = 0; k < conc; k++) {
			if (pid[k] != p)
				continue;
			struct run *r = &runs[which[k]];
			r->wall_ms = r->lat_ms = (t - t0[k]) * 1e3;
			r->cpu_ms = (tv_s(ru.ru_utime) + tv_s(ru.ru_stime)) * 1e3;
			r->user_ms = tv_s(ru.ru_utime) * 1e3;
			r->status = WIFEXITED(st) ? (WEXITSTATUS(st) ? RJ_STATUS_RUNTIME_ERROR : RJ_STATUS_OK)
						  : RJ_STATUS_SIGNALED;
			bad += r->status != RJ_STATUS_OK;
			pid[k] = 0;
			running--;
			ended++;
		}
	}
	posix_spawn_file_actions_destroy(&fa);
	free(pid);
	free(which);
	free(t0);
	return bad;
}

unsigned long long burn_iterations(double target_ms, unsigned long long probe)
{
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

rj_plan *burn_plan(const char *iterations, uint64_t wall_us)
{
	const char *argv[] = { "./burn", iterations, NULL };
	rj_plan *plan = plan_or_die(argv);
	check_or_die(rj_plan_add_host_file(plan, "burn", prog_path("burn"), RJ_MODE_KEEP_EXEC), plan, "add burn");
	check_or_die(rj_plan_set_limit(plan, RJ_LIMIT_WALL_TIME, wall_us), plan, "wall limit");
	return plan;
}

/* ---- the ringjail pool --------------------------------------------------------- */

static void pool_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	struct rj_pool *p = ctx;
	unsigned i = (unsigned)(uintptr_t)ev->user_data;
	(void)ex;
	if (ev->type == RJ_EVENT_STDOUT || ev->type == RJ_EVENT_STDERR) {
		p->runs[i].out_bytes += ev->len;
		return;
	}
	const struct rj_result *res = ev->result;
	struct run *r = &p->runs[i];
	r->lat_ms = (now_s() - p->t0[i]) * 1e3;
	r->wall_ms = res->wall_ms;
	r->cpu_ms = res->cpu_ms;
	r->user_ms = res->cpu_user_ms;
	r->status = (int)res->status;
	p->hardening = res->hardening;
	p->done++;
	if (res->status != p->expect && p->bad++ == 0)
		snprintf(p->first_bad, sizeof p->first_bad, "%s (expected %s): %s",
			 rj_status_name(res->status), rj_status_name(p->expect), res->message);
}

int rj_pool_new(struct rj_pool *pool, unsigned cap, unsigned ring_entries)
{
	memset(pool, 0, sizeof *pool);
	pool->cap = cap;
	pool->runs = calloc(cap, sizeof *pool->runs);
	pool->t0 = calloc(cap, sizeof *pool->t0);
	struct rj_executor_opts o = { .on_event = pool_event, .ctx = pool, .ring_entries = ring_entries };
	int r = rj_executor_new(&pool->ex, &o);
	if (r < 0)
		fprintf(stderr, "bench: cannot create an executor: %s\n", rj_executor_error(NULL));
	return r;
}

void rj_pool_free(struct rj_pool *pool)
{
	if (pool->ex)
		rj_executor_free(pool->ex);
	free(pool->runs);
	free(pool->t0);
	memset(pool, 0, sizeof *pool);
}

unsigned rj_pool_run(struct rj_pool *p, const rj_plan *plan, unsigned n, unsigned conc)
{
	unsigned started = 0;
	if (n > p->cap)
		n = p->cap;
	p->done = 0;
	p->bad = 0;
	p->first_bad[0] = '\0';
	while (p->done < n) {
		while (started - p->done < conc && started < n) {
			memset(&p->runs[started], 0, sizeof p->runs[started]);
			p->t0[started] = now_s();
			int r = rj_spawn(p->ex, plan, (void *)(uintptr_t)started, NULL);
			if (r < 0) {
				fprintf(stderr, "bench: rj_spawn: %s: %s\n", strerror(-r), rj_executor_error(p->ex));
				exit(1);
			}
			started++;
		}
		int r = rj_executor_run(p->ex, -1);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "bench: rj_executor_run: %s\n", strerror(-r));
			exit(1);
		}
	}
	return p->bad;
}

void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

rj_plan *plan_or_die(const char *const *argv)
{
	rj_plan *p = rj_plan_new(argv);
	if (!p) {
		fprintf(stderr, "bench: rj_plan_new(%s): %s\n", argv[0], strerror(errno));
		exit(1);
	}
	return p;
}

void check_or_die(int r, const rj_plan *plan, const char *what)
{
	if (r >= 0)
		return;
	fprintf(stderr, "bench: %s: %s: %s\n", what, strerror(-r), plan ? rj_plan_error(plan) : "");
	exit(1);
}
