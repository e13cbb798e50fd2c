/* Helpers of the limits suite: run plans on an executor of the test's own
 * (so the tests see the final event's type and can hold the loop back),
 * print the figures each run measured, and look at the host: its process
 * table and the cgroup hierarchies. Every helper fails the current
 * Criterion test itself. */
#ifndef LIMITS_UTIL_H
#define LIMITS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <criterion/criterion.h>

#include <ringjail.h>

#ifndef LIMITS_PROGS
#error "LIMITS_PROGS must name the build folder of tests/limits/progs"
#endif

#define MIB (1ull << 20)
#define SEC (1000000ull) /* RJ_LIMIT_TIME and RJ_LIMIT_WALL_TIME are in us */

/* What one sandbox ended with. */
struct outcome {
	struct rj_result res;      /* borrowed pointers replaced by out/err */
	enum rj_event_type final;  /* RJ_EVENT_COMPLETED or RJ_EVENT_TIMEOUT */
	char *out, *err;           /* captured output, NUL-terminated */
	int finals;                /* final events seen (must be 1) */
	bool done;
	pid_t marker_pid;          /* a host process with the marker, at the final event */
};

/* A plan running the helper program NAME of progs/ (copied in as
 * /box/NAME) with the arguments given, capturing 1 MiB per stream. */
rj_plan *prog_plan(const char *name, ...) __attribute__((sentinel));
/* A plan running argv as it is, capturing 1 MiB per stream. */
rj_plan *cmd_plan(const char *const *argv);
#define CMD_PLAN(...) cmd_plan((const char *const[]){ __VA_ARGS__, NULL })
void set_limit(rj_plan *p, enum rj_limit l, uint64_t v);

/* Run plan alone on a fresh executor and fill o; log its figures. */
void run_plan(const rj_plan *plan, struct outcome *o);
/* What to wait for before the loop runs at all (run_plan_held). */
struct hold {
	const char *marker;  /* the program's argv holds it */
	double cpu_ms;       /* until that process has used this much CPU */
	bool ended;          /* until it was seen, and the whole sandbox has
	                      * ended since: ringjail's init in it recorded
	                      * how the program ended and exited */
	int min_ms;          /* and at least this long after the spawn */
};
/* The same as run_plan, but after rj_spawn the loop is left alone until
 * what h says holds (failing the test after 20 s): the sandbox runs, yet
 * no timer, read or exit is handled meanwhile, as on a caller busy
 * elsewhere. Lets a test make several limits hold at once, whatever the
 * machine's load. */
void run_plan_held(const rj_plan *plan, const struct hold *h, struct outcome *o);
/* What run_plan_watch saw of the host while the sandbox ran. */
struct host_watch {
	const char *marker;  /* looked up at the final event (o->marker_pid) */
	int max_procs;       /* most host processes at once */
	int max_marked;      /* most host processes with the marker at once */
};
/* Run plan, sampling the host every 20 ms. */
void run_plan_watch(const rj_plan *plan, struct host_watch *w, struct outcome *o);
void outcome_log(const char *what, const struct outcome *o);
void outcome_free(struct outcome *o);

/* Assertions on an outcome, reporting its message and figures. */
#define EXPECT_STATUS(o, st)                                                  \
	cr_expect_eq((o)->res.status, (st), "status %s, expected %s (message '%s', " \
		     "exit %d, signal %d, cpu %.1f ms, wall %.1f ms, mem %llu KiB)", \
		     rj_status_name((o)->res.status), rj_status_name(st),     \
		     (o)->res.message, (o)->res.exit_code, (o)->res.signal,   \
		     (o)->res.cpu_ms, (o)->res.wall_ms,                       \
		     (unsigned long long)(o)->res.memory_kib)
#define EXPECT_RANGE(what, v, lo, hi)                                         \
	cr_expect((double)(v) >= (double)(lo) && (double)(v) <= (double)(hi), \
		  "%s = %.1f, expected within [%.1f, %.1f]", (what), (double)(v), \
		  (double)(lo), (double)(hi))

/* An executor calling cb(ctx); fails the test if it cannot be made. It is
 * freed at exit if the test fails before executor_free, so that a failed
 * test leaves no cgroup pool behind on the host. */
rj_executor *executor_new(rj_event_cb cb, void *ctx);
/* rj_executor_free, failing the test if it fails. */
void executor_free(rj_executor *ex);

double now_ms(void);
void sleep_ms(int ms);

/* ---- the host ---------------------------------------------------------- */

/* Processes (numeric /proc entries) on the host. */
int host_proc_count(void);
/* A host process other than ours whose argv holds marker, or 0. */
pid_t host_find_marker(const char *marker);
/* How many host processes (other than ours) have marker in their argv. */
int host_count_marker(const char *marker);
/* Children of this process that have not exited (zombies do not count). */
int live_children(void);
/* CPU time (user + system, every thread) of a host process so far, in
 * milliseconds; -1 when it is gone. */
double proc_cpu_ms(pid_t pid);
/* Read a small file whole (NUL-terminated, caller frees); NULL if not. */
char *read_text(const char *path);

/* The directory of this process's own cgroup in the v1 hierarchy that
 * holds controller ctrl ("memory", "pids", "cpuacct"), or in the v2
 * hierarchy when ctrl is NULL. Caller frees; NULL when there is none. */
char *own_cgroup_dir(const char *ctrl);
/* Whether the whitespace-separated list holds word. */
bool has_word(const char *list, const char *word);

#endif
