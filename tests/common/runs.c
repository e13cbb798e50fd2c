/* The shared helpers of runs.h: plans, runs, executors and sessions. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runs.h"

/* Each suite compiles this file with the build folder of its helper
 * programs (and the prefix of their names, if any). */
#ifndef RJ_TEST_PROGS
#error "RJ_TEST_PROGS must name the build folder of the suite's progs/"
#endif
#ifndef RJ_TEST_PROG_PREFIX
#define RJ_TEST_PROG_PREFIX ""
#endif

#define CAPTURE (1u << 20)

/* ---- plans ------------------------------------------------------------- */

const char *progs_dir(void)
{
	/* as_nobody.sh --copy sets it to its copy, where nobody can read. */
	const char *env = getenv("RJ_TEST_PROGS");
	return env && env[0] == '/' ? env : RJ_TEST_PROGS;
}

const char *prog_path(const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, "%s/%s%s", progs_dir(), RJ_TEST_PROG_PREFIX, name);
	cr_assert(access(buf, X_OK) == 0, "helper program %s is missing: %s", buf, strerror(errno));
	return buf;
}

rj_plan *cmd_plan(const char *const *argv)
{
	rj_plan *p = rj_plan_new(argv);
	cr_assert(p, "rj_plan_new(%s): %s", argv[0], strerror(errno));
	cr_assert_eq(rj_plan_set_capture(p, CAPTURE), 0, "%s", rj_plan_error(p));
	return p;
}

rj_plan *prog_plan(const char *name, ...)
{
	va_list ap;
	va_start(ap, name);
	rj_plan *p = prog_planv(name, ap);
	va_end(ap);
	return p;
}

rj_plan *prog_planv(const char *name, va_list args)
{
	const char *argv[32];
	char self[256];
	size_t n = 0;
	snprintf(self, sizeof self, "./%s", name);
	argv[n++] = self;
	const char *a;
	while ((a = va_arg(args, const char *)) && n < 31)
		argv[n++] = a;
	argv[n] = NULL;
	rj_plan *p = cmd_plan(argv);
	const char *host = prog_path(name);
	int rc = rj_plan_add_host_file(p, name, host, RJ_MODE_KEEP_EXEC);
	cr_assert_eq(rc, 0, "rj_plan_add_host_file(%s): %s: %s", host, strerror(-rc),
		     rj_plan_error(p));
	return p;
}

void set_limit(rj_plan *p, enum rj_limit l, uint64_t v)
{
	int rc = rj_plan_set_limit(p, l, v);
	cr_assert_eq(rc, 0, "rj_plan_set_limit(%s, %llu) = %d: %s", rj_limit_name(l),
		     (unsigned long long)v, rc, rj_plan_error(p));
}

/* ---- outcomes ---------------------------------------------------------- */

/* Copies of captured output stay reachable until the test process ends:
 * a test may fail an assertion before it frees its outcome. */
static char **kept;
static size_t nkept;

/* The registry follows a buffer that moved (realloc), or takes a new one
 * (old NULL). */
static void track(char *old, char *now)
{
	for (size_t i = 0; old && i < nkept; i++)
		if (kept[i] == old) {
			kept[i] = now;
			return;
		}
	char **k = realloc(kept, (nkept + 1) * sizeof *k);
	cr_assert(k);
	kept = k;
	kept[nkept++] = now;
}

static void forget(char *p)
{
	for (size_t i = 0; p && i < nkept; i++)
		if (kept[i] == p)
			kept[i] = kept[--nkept];
	free(p);
}

static char *dup_bytes(const char *data, size_t len)
{
	char *s = malloc(len + 1);
	cr_assert(s);
	track(NULL, s);
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

static void keep(struct outcome *o, const struct rj_result *r)
{
	o->res = *r;
	o->out_len = r->stdout_data ? r->stdout_len : 0;
	o->err_len = r->stderr_data ? r->stderr_len : 0;
	o->out = dup_bytes(r->stdout_data, o->out_len);
	o->err = dup_bytes(r->stderr_data, o->err_len);
	o->res.stdout_data = o->out;
	o->res.stderr_data = o->err;
	o->done = true;
}

/* A final event for o: the marker looked up first of all (by the final
 * event the sandbox must be gone), then the result kept, from the first
 * final event only. */
static void take_final(struct outcome *o, const char *marker, const struct rj_event *ev)
{
	if (marker)
		o->marker_pid = host_find_marker(marker);
	if (o->finals++)
		return;
	o->final = ev->type;
	keep(o, ev->result);
}

void outcome_log(const char *what, const struct outcome *o)
{
	const struct rj_result *r = &o->res;
	char how[256] = "";
	size_t at = 0;
	for (int l = 0; l < RJ_LIMIT__COUNT && at < sizeof how; l++)
		at += (size_t)snprintf(how + at, sizeof how - at, "%s%s=%s", l ? " " : "",
				       rj_limit_name(l), rj_enforce_name(r->enforced[l]));
	fprintf(stderr, "%s: %s status=%s exit=%d signal=%d cpu_ms=%.1f (user %.1f sys %.1f) "
		"wall_ms=%.1f memory_kib=%llu oom_killed=%d stdout_bytes=%llu truncated=%d "
		"hardening=0x%x limits={%s} message='%s'\n--- stdout ---\n%.4000s\n"
		"--- stderr ---\n%.2000s\n",
		criterion_current_test->name, what, rj_status_name(r->status), r->exit_code,
		r->signal, r->cpu_ms, r->cpu_user_ms, r->cpu_sys_ms, r->wall_ms,
		(unsigned long long)r->memory_kib, r->oom_killed,
		(unsigned long long)r->stdout_bytes, r->output_truncated, r->hardening, how,
		r->message, o->out ? o->out : "", o->err ? o->err : "");
}

void outcome_free(struct outcome *o)
{
	forget(o->out);
	forget(o->err);
	forget(o->live);
	o->out = o->err = o->live = NULL;
}

/* ---- executors --------------------------------------------------------- */

/* Executors not freed yet: a failed assertion ends the test at once, and
 * its pool of cgroups would stay on the host. */
#define HELD_MAX 8
static rj_executor *held[HELD_MAX];

static void free_held(void)
{
	for (int i = 0; i < HELD_MAX; i++)
		if (held[i])
			rj_executor_free(held[i]);
}

rj_executor *executor_new(rj_event_cb cb, void *ctx)
{
	static bool registered;
	if (!registered)
		registered = atexit(free_held) == 0;
	struct rj_executor_opts opts = { .on_event = cb, .ctx = ctx };
	rj_executor *ex;
	int rc = rj_executor_new(&ex, &opts);
	cr_assert_eq(rc, 0, "rj_executor_new: %s: %s", strerror(-rc), rj_executor_error(NULL));
	for (int i = 0; i < HELD_MAX; i++)
		if (!held[i]) {
			held[i] = ex;
			break;
		}
	return ex;
}

void executor_free(rj_executor *ex)
{
	for (int i = 0; i < HELD_MAX; i++)
		if (held[i] == ex)
			held[i] = NULL;
	int rc = rj_executor_free(ex);
	cr_assert_eq(rc, 0, "rj_executor_free: %s", strerror(-rc));
}

/* ---- runs -------------------------------------------------------------- */

void run_plan(const rj_plan *plan, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	struct rj_result r;
	int rc = rj_run(plan, &r);
	cr_assert_eq(rc, 0, "rj_run: %s", strerror(-rc));
	keep(o, &r);
	outcome_log("run", o);
}

struct watch {
	struct outcome *o;
	const char *marker;
};

static void on_watched_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	struct watch *w = ctx;
	if (ev->type == RJ_EVENT_COMPLETED || ev->type == RJ_EVENT_TIMEOUT)
		take_final(w->o, w->marker, ev);
}

/* Sleeps, the loop untouched, until what h asks holds. */
static void hold_back(const struct hold *h, double t0)
{
	bool seen = false, ok = false;
	while (!ok) {
		cr_assert_lt(now_ms() - t0, 20000, "after 20 s the program (marker %s) had not "
			     "reached what the test waits for (seen %d)", h->marker, seen);
		sleep_ms(2);
		pid_t pid = h->marker ? host_find_marker(h->marker) : 0;
		seen |= pid > 0;
		ok = now_ms() - t0 >= h->min_ms;
		if (h->cpu_ms > 0)
			ok = ok && pid > 0 && proc_cpu_ms(pid) >= h->cpu_ms;
		/* The sandbox's init is our child; it exits once it has
		 * recorded the program's end (a zombie until the loop reaps
		 * it). Only then is that end certain to be in the result. */
		if (h->ended)
			ok = ok && seen && pid == 0 && live_children() == 0;
	}
}

static void run_full(const rj_plan *plan, const struct hold *h, struct host_watch *hw,
		     struct outcome *o)
{
	memset(o, 0, sizeof *o);
	struct watch w = { o, hw ? hw->marker : NULL };
	rj_executor *ex = executor_new(on_watched_event, &w);
	int rc;
	uint64_t id;
	double t0 = now_ms();
	rc = rj_spawn(ex, plan, NULL, &id);
	cr_assert_eq(rc, 0, "rj_spawn: %s: %s", strerror(-rc), rj_executor_error(ex));
	if (h)
		hold_back(h, t0);
	double end = now_ms() + 120000;
	while (!o->done) {
		cr_assert_lt(now_ms(), end, "no final event after 120 s");
		rc = rj_executor_run(ex, hw ? 20 : 200);
		cr_assert_geq(rc, 0, "rj_executor_run: %s", strerror(-rc));
		if (hw && !o->done) {
			int n = host_proc_count(), m = host_count_marker(hw->marker);
			hw->max_procs = n > hw->max_procs ? n : hw->max_procs;
			hw->max_marked = m > hw->max_marked ? m : hw->max_marked;
		}
	}
	/* Nothing may follow the final event. */
	rc = rj_executor_run(ex, 0);
	cr_assert_geq(rc, 0);
	cr_assert_eq(rj_executor_active(ex), 0, "%u sandboxes still active", rj_executor_active(ex));
	cr_assert_eq(o->finals, 1, "%d final events", o->finals);
	executor_free(ex);
}

void run_plan_loop(const rj_plan *plan, struct outcome *o)
{
	run_full(plan, NULL, NULL, o);
	outcome_log("run", o);
}

void run_plan_held(const rj_plan *plan, const struct hold *h, struct outcome *o)
{
	run_full(plan, h, NULL, o);
	outcome_log("run (loop held back)", o);
}

void run_plan_watch(const rj_plan *plan, struct host_watch *w, struct outcome *o)
{
	w->max_procs = w->max_marked = 0;
	run_full(plan, NULL, w, o);
	outcome_log("run (host watched)", o);
}

/* ---- sessions ---------------------------------------------------------- */

static void on_session_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	struct session *s = ctx;
	struct outcome *o = &s->o[(intptr_t)ev->user_data];
	if (ev->type == RJ_EVENT_STDOUT) {
		char *old = o->live;
		char *l = realloc(o->live, o->live_len + ev->len + 1);
		cr_assert(l);
		track(old, l);
		memcpy(l + o->live_len, ev->data, ev->len);
		o->live = l;
		o->live_len += ev->len;
		l[o->live_len] = '\0';
		return;
	}
	if (ev->type == RJ_EVENT_COMPLETED || ev->type == RJ_EVENT_TIMEOUT)
		take_final(o, s->scan_marker, ev);
}

void session_start(struct session *s)
{
	memset(s, 0, sizeof *s);
	struct rj_executor_opts opts = { .on_event = on_session_event, .ctx = s };
	int rc = rj_executor_new(&s->ex, &opts);
	cr_assert_eq(rc, 0, "rj_executor_new: %s: %s", strerror(-rc), rj_executor_error(NULL));
}

int session_spawn(struct session *s, const rj_plan *plan)
{
	cr_assert_lt(s->n, SESSION_MAX);
	int i = s->n++;
	int rc = rj_spawn(s->ex, plan, (void *)(intptr_t)i, &s->o[i].id);
	cr_assert_eq(rc, 0, "rj_spawn: %s: %s", strerror(-rc), rj_executor_error(s->ex));
	return i;
}

void session_pump(struct session *s, int ms)
{
	double end = now_ms() + ms;
	for (double left = ms; left > 0; left = end - now_ms()) {
		int rc = rj_executor_run(s->ex, (int)left + 1);
		cr_assert_geq(rc, 0, "rj_executor_run: %s", strerror(-rc));
		if (rj_executor_active(s->ex) == 0)
			return;
	}
}

bool session_wait(struct session *s, int i, int ms)
{
	double end = now_ms() + ms;
	while (!s->o[i].done && now_ms() < end) {
		int rc = rj_executor_run(s->ex, 50);
		cr_assert_geq(rc, 0, "rj_executor_run: %s", strerror(-rc));
	}
	return s->o[i].done;
}

bool session_wait_output(struct session *s, int i, const char *needle, int ms)
{
	double end = now_ms() + ms;
	for (;;) {
		if (s->o[i].live && strstr(s->o[i].live, needle))
			return true;
		if (s->o[i].done || now_ms() >= end)
			return false;
		int rc = rj_executor_run(s->ex, 20);
		cr_assert_geq(rc, 0, "rj_executor_run: %s", strerror(-rc));
	}
}

void session_end(struct session *s)
{
	if (s->ex)
		rj_executor_free(s->ex);
	s->ex = NULL;
	for (int i = 0; i < s->n; i++) {
		char what[32];
		snprintf(what, sizeof what, "sandbox %d", i);
		if (s->o[i].done)
			outcome_log(what, &s->o[i]);
	}
}
