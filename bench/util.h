/* What the bench programs share: clocks, statistics, /proc readings, a
 * plain posix_spawn pool (the baseline every figure is printed beside) and
 * a ringjail pool with the same shape. Not part of the library. */
#ifndef RJ_BENCH_UTIL_H
#define RJ_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ringjail.h"

#ifndef PROGS_DIR
#define PROGS_DIR "."
#endif

/* ---- clocks and /proc ---------------------------------------------------- */

double now_s(void);
/* This process's own CPU time (user + system), seconds. */
double self_cpu_s(void);
/* VmRSS of this process, KiB; -1 when /proc cannot tell. */
long rss_kib(void);
/* Open file descriptors of this process (entries of /proc/self/fd). */
int fd_count(void);
/* Files in an io_uring's fixed file table (the "UserFiles" entries of its
 * fdinfo), which hold a descriptor's place outside the fd table; -1 when
 * the kernel does not say. */
int ring_files(int ring_fd);
/* Path of a helper program built into bench/progs. */
const char *prog_path(const char *name);

/* ---- statistics ------------------------------------------------------------ */

struct summary {
	unsigned n;
	double median, min, max, mean, stdev;
	double spread; /* (max - min) / median */
};

int cmp_double(const void *a, const void *b);
/* Sorts v in place; nearest-rank percentile p in [0, 1]. */
double percentile(double *v, unsigned n, double p);
/* The median of v, which is left as it was. */
double median_of(const double *v, unsigned n);
struct summary summarize(const double *v, unsigned n);
/* The median of the double at offset off in each of k items of size
 * bytes (one figure of k rounds); MEDIAN_OF names the figure. */
double median_at(const void *items, unsigned k, size_t size, size_t off);
#define MEDIAN_OF(items, k, type, field) \
	median_at((items), (k), sizeof(type), offsetof(type, field))

/* The tail of a distribution: nearest-rank p50 and p99, and the max. */
struct tail {
	double p50, p99, max;
};
/* Sorts v in place. */
struct tail tail_of(double *v, unsigned n);

/* ---- one run's outcome, the same for both pools ---------------------------- */

struct run {
	double wall_ms;   /* ringjail: the result's; baseline: spawn to reap */
	double cpu_ms;    /* ringjail: the result's; baseline: wait4's rusage */
	double user_ms;   /* the user part of cpu_ms */
	double lat_ms;    /* spawn call to final event / reap, as the caller sees it */
	int status;       /* enum rj_status; the baseline maps its wait status */
	uint64_t out_bytes;
};

/* ---- the baseline: posix_spawn + wait4, conc at a time ----------------------- */

/* Runs argv n times, conc at a time, stdout and stderr to /dev/null;
 * fills runs[0..n). Returns how many could not be spawned or did not exit 0. */
unsigned spawn_pool(char *const argv[], unsigned n, unsigned conc, struct run *runs);
/* Iterations of progs/burn that take about target_ms of CPU here, from
 * the median of three unsandboxed runs of probe iterations. */
unsigned long long burn_iterations(double target_ms, unsigned long long probe);
/* A plan running progs/burn ITERATIONS (copied into /box) under a wall
 * limit of wall_us; exits the program when the library refuses it. */
rj_plan *burn_plan(const char *iterations, uint64_t wall_us);

/* ---- ringjail: the same pool on one executor ------------------------------- */

struct rj_pool {
	rj_executor *ex;
	struct run *runs;    /* indexed by spawn order */
	double *t0;
	unsigned cap;        /* room in runs and t0 */
	unsigned done;
	unsigned bad;        /* final events whose status was not `expect` */
	enum rj_status expect;
	uint32_t hardening;  /* of the last final event */
	char first_bad[512];
};

/* An executor whose events land in pool; cap runs at most per call. */
int rj_pool_new(struct rj_pool *pool, unsigned cap, unsigned ring_entries);
void rj_pool_free(struct rj_pool *pool);
/* Runs plan n times, conc at a time; fills pool->runs[0..n). Exits the
 * program when the library refuses a spawn or the loop fails: a bench has
 * nothing sensible to print after that. Returns pool->bad. */
unsigned rj_pool_run(struct rj_pool *pool, const rj_plan *plan, unsigned n, unsigned conc);

/* Prints s as a JSON string, quotes included. */
void json_str(const char *s);

/* Asks rj_run-like plans to fail loudly: prints why and exits. */
rj_plan *plan_or_die(const char *const *argv);
void check_or_die(int r, const rj_plan *plan, const char *what);

#endif
