/* Helpers every suite shares for running sandboxes: plans for its helper
 * programs, runs alone (rj_run) or on an executor of the test's own (so
 * that the test sees the final event's type, can hold the loop back or
 * watch the host meanwhile), several sandboxes on one executor, and what
 * each ended with, its output copied and its figures logged. Every helper
 * fails the current Criterion test itself. */
#ifndef RJ_TESTS_RUNS_H
#define RJ_TESTS_RUNS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <criterion/criterion.h>

#include <ringjail.h>

#include "host.h"

/* What one sandbox ended with: the result, with its captured output
 * copied (NUL-terminated) so that it outlives the callback. The copies
 * stay reachable until the test process ends, even unfreed. */
struct outcome {
	struct rj_result res;      /* borrowed pointers replaced by out/err */
	enum rj_event_type final;  /* on an executor: COMPLETED or TIMEOUT */
	int finals;                /* on an executor: final events seen */
	char *out, *err;           /* captured output, NUL-terminated */
	size_t out_len, err_len;
	bool done;
	pid_t marker_pid;          /* a host process with the marker, at the final event */
	char *live;                /* session: stdout as it streams, NUL-terminated */
	size_t live_len;
	uint64_t id;               /* session: the sandbox's id */
};

/* ---- plans ------------------------------------------------------------- */

/* The folder of the suite's helper programs: the build's, or the copy
 * named by RJ_TEST_PROGS (tests/common/as_nobody.sh --copy). */
const char *progs_dir(void);
/* The host path of the suite's helper program NAME; the test fails when
 * it is missing. The string lives until the next call. */
const char *prog_path(const char *name);
/* A plan running the helper program NAME (copied in as /box/NAME) with
 * the arguments given (NULL-terminated), capturing 1 MiB per stream. */
rj_plan *prog_plan(const char *name, ...) __attribute__((sentinel));
rj_plan *prog_planv(const char *name, va_list args);
/* A plan running argv as it is, capturing 1 MiB per stream. */
rj_plan *cmd_plan(const char *const *argv);
#define CMD_PLAN(...) cmd_plan((const char *const[]){ __VA_ARGS__, NULL })
void set_limit(rj_plan *p, enum rj_limit l, uint64_t v);

/* ---- runs -------------------------------------------------------------- */

/* Run plan alone (rj_run) and fill o; log it. */
void run_plan(const rj_plan *plan, struct outcome *o);
/* Run plan alone on a fresh executor and fill o; log it. The test fails
 * unless exactly one final event came, and nothing after it. */
void run_plan_loop(const rj_plan *plan, struct outcome *o);
/* What to wait for before the loop runs at all (run_plan_held). */
struct hold {
	const char *marker;  /* the program's argv holds it */
	double cpu_ms;       /* until that process has used this much CPU */
	bool ended;          /* until it was seen, and the whole sandbox has
	                      * ended since: ringjail's init in it recorded
	                      * how the program ended and exited */
	int min_ms;          /* and at least this long after the spawn */
};
/* The same as run_plan_loop, but after rj_spawn the loop is left alone
 * until what h says holds (failing the test after 20 s): the sandbox
 * runs, yet no timer, read or exit is handled meanwhile, as on a caller
 * busy elsewhere. Lets a test make several limits hold at once, whatever
 * the machine's load. */
void run_plan_held(const rj_plan *plan, const struct hold *h, struct outcome *o);
/* What run_plan_watch saw of the host while the sandbox ran. */
struct host_watch {
	const char *marker;  /* looked up at the final event (o->marker_pid) */
	int max_procs;       /* most host processes at once */
	int max_marked;      /* most host processes with the marker at once */
};
/* run_plan_loop, sampling the host every 20 ms. */
void run_plan_watch(const rj_plan *plan, struct host_watch *w, struct outcome *o);
/* Print an outcome's figures and output for the test's log. */
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

/* ---- executors and sessions ---------------------------------------------- */

/* An executor calling cb(ctx); fails the test if it cannot be made. It is
 * freed at exit if the test fails before executor_free, so that a failed
 * test leaves no cgroup pool behind on the host. */
rj_executor *executor_new(rj_event_cb cb, void *ctx);
/* rj_executor_free, failing the test if it fails. */
void executor_free(rj_executor *ex);

/* Several sandboxes on one executor, for the tests of neighbours. */
#define SESSION_MAX 4
struct session {
	rj_executor *ex;
	struct outcome o[SESSION_MAX];
	int n;
	const char *scan_marker; /* looked up in the host's /proc at each final event */
};
void session_start(struct session *s);
/* Spawn plan; returns its index in s->o. */
int session_spawn(struct session *s, const rj_plan *plan);
/* Dispatch events for up to ms milliseconds. */
void session_pump(struct session *s, int ms);
/* Dispatch events until sandbox i ended (true) or ms passed (false). */
bool session_wait(struct session *s, int i, int ms);
/* Dispatch events until sandbox i has written needle on stdout (true), or
 * ended or ms passed without it (false). */
bool session_wait_output(struct session *s, int i, const char *needle, int ms);
/* Free the executor (killing what still runs) and log every outcome; the
 * outcomes stay readable. */
void session_end(struct session *s);

#endif
