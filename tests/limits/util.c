#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define CAPTURE (1u << 20)

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- plans ------------------------------------------------------------- */

rj_plan *cmd_plan(const char *const *argv)
{
	rj_plan *p = rj_plan_new(argv);
	cr_assert(p, "rj_plan_new(%s): %s", argv[0], strerror(errno));
	cr_assert_eq(rj_plan_set_capture(p, CAPTURE), 0, "%s", rj_plan_error(p));
	return p;
}

rj_plan *prog_plan(const char *name, ...)
{
	const char *argv[32];
	char self[256], host[1024];
	size_t n = 0;
	snprintf(self, sizeof self, "./%s", name);
	argv[n++] = self;
	va_list ap;
	va_start(ap, name);
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rj_plan *p = cmd_plan(argv);
	snprintf(host, sizeof host, "%s/limits_%s", LIMITS_PROGS, name);
	cr_assert_eq(access(host, X_OK), 0, "helper %s: %s", host, strerror(errno));
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

/* ---- running ----------------------------------------------------------- */

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

struct watch {
	struct outcome *o;
	const char *marker;
};

static char *dup_bytes(const char *data, size_t len)
{
	char *s = malloc(len + 1);
	cr_assert(s);
	if (data && len)
		memcpy(s, data, len);
	s[data ? len : 0] = '\0';
	return s;
}

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	struct watch *w = ctx;
	struct outcome *o = w->o;
	if (ev->type != RJ_EVENT_COMPLETED && ev->type != RJ_EVENT_TIMEOUT)
		return;
	/* First of all: by the final event, the sandbox must be gone. */
	if (w->marker)
		o->marker_pid = host_find_marker(w->marker);
	if (o->finals++)
		return;
	o->final = ev->type;
	o->res = *ev->result;
	o->out = dup_bytes(ev->result->stdout_data, ev->result->stdout_len);
	o->err = dup_bytes(ev->result->stderr_data, ev->result->stderr_len);
	o->res.stdout_data = o->out;
	o->res.stderr_data = o->err;
	o->done = true;
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
	rj_executor *ex = executor_new(on_event, &w);
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

void run_plan(const rj_plan *plan, struct outcome *o)
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
		"hardening=0x%x limits={%s} message='%s'\n  stdout: %.300s\n  stderr: %.300s\n",
		criterion_current_test->name, what, rj_status_name(r->status), r->exit_code,
		r->signal, r->cpu_ms, r->cpu_user_ms, r->cpu_sys_ms, r->wall_ms,
		(unsigned long long)r->memory_kib, r->oom_killed,
		(unsigned long long)r->stdout_bytes, r->output_truncated, r->hardening, how,
		r->message, o->out ? o->out : "", o->err ? o->err : "");
}

void outcome_free(struct outcome *o)
{
	free(o->out);
	free(o->err);
	o->out = o->err = NULL;
}

/* ---- the host ---------------------------------------------------------- */

static bool is_pid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int host_proc_count(void)
{
	DIR *d = opendir("/proc");
	cr_assert(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += is_pid_name(e->d_name);
	closedir(d);
	return n;
}

/* Host processes other than ours whose argv holds marker: the first's
 * pid in *first, the count returned (stopping at the first if all is
 * false). */
static int scan_marker(const char *marker, bool all, pid_t *first)
{
	DIR *d = opendir("/proc");
	cr_assert(d);
	pid_t self = getpid();
	int count = 0;
	*first = 0;
	struct dirent *e;
	while ((all || !count) && (e = readdir(d))) {
		if (!is_pid_name(e->d_name) || atoi(e->d_name) == self)
			continue;
		char path[300], buf[4096];
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		bool hit = false;
		for (ssize_t off = 0; off < n && !hit; off += (ssize_t)strlen(buf + off) + 1)
			hit = strstr(buf + off, marker) != NULL;
		if (hit && !count++)
			*first = atoi(e->d_name);
	}
	closedir(d);
	return count;
}

pid_t host_find_marker(const char *marker)
{
	pid_t pid;
	scan_marker(marker, false, &pid);
	return pid;
}

int host_count_marker(const char *marker)
{
	pid_t pid;
	return scan_marker(marker, true, &pid);
}

int live_children(void)
{
	DIR *d = opendir("/proc");
	cr_assert(d);
	int n = 0, self = (int)getpid();
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!is_pid_name(e->d_name))
			continue;
		char path[300];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		char *st = read_text(path);
		const char *p = st ? strrchr(st, ')') : NULL;
		char state = 0;
		int ppid = 0;
		if (p && sscanf(p + 2, "%c %d", &state, &ppid) == 2 && ppid == self && state != 'Z')
			n++;
		free(st);
	}
	closedir(d);
	return n;
}

double proc_cpu_ms(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *st = read_text(path);
	if (!st)
		return -1;
	/* Fields after the command's closing parenthesis: state is field 3,
	 * utime and stime are fields 14 and 15, in clock ticks. */
	const char *p = strrchr(st, ')');
	unsigned long long ut = 0, stime = 0;
	int got = p ? sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			     &ut, &stime) : 0;
	free(st);
	if (got != 2)
		return -1;
	return (double)(ut + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

char *read_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
			cap *= 2;
		}
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p;) {
		p += strspn(p, " \t\n,");
		size_t l = strcspn(p, " \t\n,");
		if (l == wl && !strncmp(p, word, wl))
			return true;
		p += l;
	}
	return false;
}

/* From /proc/self/mountinfo: the mount point and root of the hierarchy
 * (v1 with ctrl among its super options, or v2 when ctrl is NULL). */
static bool find_mount(const char *ctrl, char *mnt, char *root, size_t n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;
	cr_assert(f);
	while (!found && getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - "), type[32], sopts[512], r[1024], m[1024];
		if (!sep || sscanf(sep + 3, "%31s %*s %511s", type, sopts) != 2)
			continue;
		if (ctrl ? strcmp(type, "cgroup") || !has_word(sopts, ctrl) : strcmp(type, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %1023s %1023s", r, m) != 2)
			continue;
		snprintf(mnt, n, "%s", m);
		snprintf(root, n, "%s", r);
		found = true;
	}
	free(line);
	fclose(f);
	return found;
}

char *own_cgroup_dir(const char *ctrl)
{
	char mnt[1024], root[1024];
	if (!find_mount(ctrl, mnt, root, sizeof mnt))
		return NULL;
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *line = NULL, *out = NULL;
	size_t cap = 0;
	cr_assert(f);
	while (!out && getline(&line, &cap, f) > 0) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		bool match = ctrl ? has_word(c1 + 1, ctrl) : !strcmp(line, "0:") && c1[1] == '\0';
		if (!match)
			continue;
		const char *own = c2 + 1;
		size_t rl = strcmp(root, "/") ? strlen(root) : 0;
		if (strncmp(own, root, rl))
			break;
		const char *rel = strcmp(own + rl, "/") ? own + rl : "";
		cr_assert_geq(asprintf(&out, "%s%s", mnt, rel), 0);
	}
	free(line);
	fclose(f);
	return out;
}
