/* Helpers of the core suite: run plans on an executor and keep, per
 * spawned id, what its events said and when they arrived. Every helper
 * fails the current Criterion test itself, so the tests stay short. What
 * the suites share (clocks, the host's processes, helper programs' paths)
 * is in tests/common. */
#ifndef RJ_TEST_UTIL_H
#define RJ_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ringjail.h"

#include "host.h"
#include "runs.h"

struct col;

/* What the collector learnt about one spawned sandbox. */
struct rec {
	uint64_t id;
	void *user_data;        /* what rj_spawn was given */
	char *out, *err;        /* the first keep bytes of each stream, NUL-ended */
	size_t out_len, err_len;
	uint64_t out_total;     /* every byte delivered through STDOUT events */
	uint64_t err_total;
	unsigned out_events, err_events;
	double first_out_ms;    /* since spawn; -1 when none */
	int finals;             /* COMPLETED + TIMEOUT events */
	int after_final;        /* events of any type after the first final */
	bool ud_mismatch;       /* an event carried another user_data */
	enum rj_event_type final_type;
	double final_ms;        /* since spawn */
	double spawn_ms;        /* since the collector was made */
	struct rj_result res;   /* copy; its borrowed pointers are not kept */
};

/* Called for each STDOUT/STDERR slice, after the collector recorded it. */
typedef void (*sink_fn)(struct col *c, struct rec *r, enum rj_event_type type,
			const void *data, size_t len);

struct col {
	struct rec *recs;
	size_t n, cap;
	size_t keep;            /* bytes kept per stream per sandbox */
	unsigned stray;         /* events whose user_data names no record */
	uint64_t t0_ns;
	sink_fn sink;
	void *sink_arg;
	rj_executor *ex;
};

/* A plan for argv; fails the test when it cannot be made. */
rj_plan *mkplan(const char *const *argv);
#define PLAN(...) mkplan((const char *const[]){ __VA_ARGS__, NULL })

/* A collector (keep bytes per stream) and its executor; flags as in
 * rj_executor_opts. */
void col_init(struct col *c, unsigned flags, size_t keep);
void col_free(struct col *c);
/* Spawn plan; returns the record's index. */
size_t col_spawn(struct col *c, const rj_plan *plan);
/* Run the loop until every spawned sandbox had its final event (failing
 * the test after limit_ms), then checks the event invariants. */
void col_wait(struct col *c, int limit_ms);
/* Run the loop for about ms milliseconds. */
void col_pump(struct col *c, int ms);
/* Every record: exactly one final event, nothing after it, its own
 * user_data, and no event for an id nobody spawned. */
void col_check_invariants(const struct col *c);

/* Run one plan to its end on a fresh executor; the record is copied out
 * (its output buffers belong to the caller: rec_free). */
struct rec run1(const rj_plan *plan, unsigned flags, int limit_ms);
void rec_free(struct rec *r);

#endif
