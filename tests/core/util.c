/* The core suite's collector (util.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "util.h"

rj_plan *mkplan(const char *const *argv)
{
	rj_plan *p = rj_plan_new(argv);
	cr_assert_not_null(p, "rj_plan_new(%s): %s", argv[0], strerror(errno));
	return p;
}

static void append(char **buf, size_t *len, size_t keep, const void *data, size_t n)
{
	if (*len >= keep)
		return;
	size_t take = n < keep - *len ? n : keep - *len;
	memcpy(*buf + *len, data, take);
	*len += take;
	(*buf)[*len] = '\0';
}

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	struct col *c = ctx;
	(void)ex;
	/* user_data is the record's index + 1, a hint to find the record
	 * fast; the id decides, and a record found only by its id got
	 * another sandbox's user_data. */
	uintptr_t ud = (uintptr_t)ev->user_data;
	struct rec *r = NULL;
	if (ud >= 1 && ud <= c->n && c->recs[ud - 1].id == ev->id)
		r = &c->recs[ud - 1];
	for (size_t i = 0; !r && i < c->n; i++)
		if (c->recs[i].id == ev->id)
			r = &c->recs[i];
	if (!r) {
		c->stray++;
		return;
	}
	double t = now_ms() - (double)c->t0_ns / 1e6 - r->spawn_ms;
	if (ev->user_data != r->user_data)
		r->ud_mismatch = true;
	if (r->finals)
		r->after_final++;
	switch (ev->type) {
	case RJ_EVENT_STDOUT:
		if (r->first_out_ms < 0)
			r->first_out_ms = t;
		r->out_events++;
		r->out_total += ev->len;
		append(&r->out, &r->out_len, c->keep, ev->data, ev->len);
		break;
	case RJ_EVENT_STDERR:
		r->err_events++;
		r->err_total += ev->len;
		append(&r->err, &r->err_len, c->keep, ev->data, ev->len);
		break;
	case RJ_EVENT_COMPLETED:
	case RJ_EVENT_TIMEOUT:
		if (!r->finals++) {
			r->final_type = ev->type;
			r->final_ms = t;
			cr_assert_not_null(ev->result, "final event without a result");
			r->res = *ev->result;
			r->res.stdout_data = r->res.stderr_data = NULL;
		}
		return;
	default:
		c->stray++;
		return;
	}
	if (c->sink)
		c->sink(c, r, ev->type, ev->data, ev->len);
}

void col_init(struct col *c, unsigned flags, size_t keep)
{
	memset(c, 0, sizeof *c);
	c->keep = keep;
	c->t0_ns = (uint64_t)(now_ms() * 1e6);
	struct rj_executor_opts o = { .on_event = on_event, .ctx = c, .flags = flags };
	int r = rj_executor_new(&c->ex, &o);
	cr_assert_eq(r, 0, "rj_executor_new = %d: %s", r, rj_executor_error(NULL));
}

void rec_free(struct rec *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

void col_free(struct col *c)
{
	if (c->ex) {
		int r = rj_executor_free(c->ex);
		cr_assert_eq(r, 0, "rj_executor_free = %d", r);
	}
	for (size_t i = 0; i < c->n; i++)
		rec_free(&c->recs[i]);
	free(c->recs);
	memset(c, 0, sizeof *c);
}

size_t col_spawn(struct col *c, const rj_plan *plan)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->recs = realloc(c->recs, c->cap * sizeof *c->recs);
		cr_assert_not_null(c->recs);
	}
	struct rec *r = &c->recs[c->n];
	memset(r, 0, sizeof *r);
	r->out = calloc(1, c->keep + 1);
	r->err = calloc(1, c->keep + 1);
	cr_assert(r->out && r->err);
	r->first_out_ms = -1;
	r->user_data = (void *)(uintptr_t)(c->n + 1);
	r->spawn_ms = now_ms() - (double)c->t0_ns / 1e6;
	int rc = rj_spawn(c->ex, plan, r->user_data, &r->id);
	cr_assert_eq(rc, 0, "rj_spawn = %d (%s): %s", rc, strerror(-rc), rj_executor_error(c->ex));
	for (size_t i = 0; i < c->n; i++)
		cr_assert_neq(c->recs[i].id, r->id, "rj_spawn handed out id %llu twice",
			      (unsigned long long)r->id);
	return c->n++;
}

static bool all_final(const struct col *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (!c->recs[i].finals)
			return false;
	return true;
}

void col_pump(struct col *c, int ms)
{
	double end = now_ms() + ms;
	for (double left = ms; left > 0; left = end - now_ms()) {
		int r = rj_executor_run(c->ex, left < 50 ? (int)left + 1 : 50);
		cr_assert_geq(r, 0, "rj_executor_run = %d", r);
	}
}

void col_wait(struct col *c, int limit_ms)
{
	double end = now_ms() + limit_ms;
	while (!all_final(c)) {
		cr_assert_lt(now_ms(), end, "sandboxes still running after %d ms (%u active)",
			     limit_ms, rj_executor_active(c->ex));
		int r = rj_executor_run(c->ex, 100);
		cr_assert_geq(r, 0, "rj_executor_run = %d", r);
	}
	cr_assert_eq(rj_executor_active(c->ex), 0, "every final event was dispatched, "
		     "yet rj_executor_active says %u", rj_executor_active(c->ex));
	col_check_invariants(c);
}

void col_check_invariants(const struct col *c)
{
	cr_assert_eq(c->stray, 0, "%u events named no spawned sandbox", c->stray);
	for (size_t i = 0; i < c->n; i++) {
		const struct rec *r = &c->recs[i];
		cr_assert_eq(r->finals, 1, "id %llu: %d final events", (unsigned long long)r->id,
			     r->finals);
		cr_assert_eq(r->after_final, 0, "id %llu: %d events after its final one",
			     (unsigned long long)r->id, r->after_final);
		cr_assert(!r->ud_mismatch, "id %llu: user_data not passed back",
			  (unsigned long long)r->id);
	}
}

struct rec run1(const rj_plan *plan, unsigned flags, int limit_ms)
{
	struct col c;
	col_init(&c, flags, 1 << 20);
	col_spawn(&c, plan);
	col_wait(&c, limit_ms);
	struct rec r = c.recs[0];
	c.recs[0].out = c.recs[0].err = NULL;
	col_free(&c);
	return r;
}
