#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "util.h"

#define CAPTURE (1u << 20)

rj_plan *cmd_plan(const char *const *argv)
{
	rj_plan *p = rj_plan_new(argv);
	cr_assert(p, "rj_plan_new: %s", strerror(errno));
	cr_assert_eq(rj_plan_set_capture(p, CAPTURE), 0, "%s", rj_plan_error(p));
	return p;
}

rj_plan *prog_plan(const char *name, ...)
{
	const char *argv[32];
	char self[256];
	snprintf(self, sizeof self, "./%s", name);
	size_t n = 0;
	argv[n++] = self;
	va_list ap;
	va_start(ap, name);
	const char *a;
	while ((a = va_arg(ap, const char *)) && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rj_plan *p = cmd_plan(argv);
	char host[512];
	snprintf(host, sizeof host, "%s/%s", PROGS_DIR, name);
	int rc = rj_plan_add_host_file(p, name, host, RJ_MODE_KEEP_EXEC);
	cr_assert_eq(rc, 0, "rj_plan_add_host_file(%s): %s: %s", host,
		     strerror(-rc), rj_plan_error(p));
	return p;
}

/* Copies of captured output stay reachable until the test process ends:
 * a test may fail an assertion before it frees its outcome. */
static char **kept;
static size_t nkept;

static char *dup_bytes(const char *data, size_t len)
{
	char *s = malloc(len + 1);
	cr_assert(s);
	char **k = realloc(kept, (nkept + 1) * sizeof *k);
	cr_assert(k);
	kept = k;
	kept[nkept++] = s;
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

static void keep(struct outcome *o, const struct rj_result *r)
{
	o->res = *r;
	o->out = dup_bytes(r->stdout_data, r->stdout_data ? r->stdout_len : 0);
	o->out_len = r->stdout_data ? r->stdout_len : 0;
	o->err = dup_bytes(r->stderr_data, r->stderr_data ? r->stderr_len : 0);
	o->err_len = r->stderr_data ? r->stderr_len : 0;
	o->res.stdout_data = o->out;
	o->res.stderr_data = o->err;
	o->done = true;
}

void outcome_log(const char *what, const struct outcome *o)
{
	fprintf(stderr, "%s: status %s exit %d signal %d wall %.1f ms mem %llu KiB "
		    "hardening 0x%x message '%s'\n--- stdout ---\n%.4000s\n"
		    "--- stderr ---\n%.2000s\n", what, rj_status_name(o->res.status),
		    o->res.exit_code, o->res.signal, o->res.wall_ms,
		    (unsigned long long)o->res.memory_kib, o->res.hardening,
		    o->res.message, o->out ? o->out : "", o->err ? o->err : "");
}

void run_plan(const rj_plan *plan, struct outcome *o)
{
	memset(o, 0, sizeof *o);
	struct rj_result r;
	int rc = rj_run(plan, &r);
	cr_assert_eq(rc, 0, "rj_run: %s", strerror(-rc));
	keep(o, &r);
	outcome_log("run", o);
}

/* The registry follows a buffer that moved (realloc). */
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

void outcome_free(struct outcome *o)
{
	forget(o->out);
	forget(o->err);
	forget(o->live);
	o->out = o->err = o->live = NULL;
}

/* ---- sessions ---------------------------------------------------------- */

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
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
	if (ev->type != RJ_EVENT_COMPLETED && ev->type != RJ_EVENT_TIMEOUT)
		return;
	/* Looked up before anything else: the sandbox must be gone by now. */
	if (s->scan_marker)
		o->marker_pid = host_find_marker(s->scan_marker);
	keep(o, ev->result);
}

void session_start(struct session *s)
{
	memset(s, 0, sizeof *s);
	struct rj_executor_opts opts = { .on_event = on_event, .ctx = s };
	int rc = rj_executor_new(&s->ex, &opts);
	cr_assert_eq(rc, 0, "rj_executor_new: %s: %s", strerror(-rc), rj_executor_error(NULL));
}

int session_spawn(struct session *s, const rj_plan *plan)
{
	cr_assert_lt(s->n, SESSION_MAX);
	int i = s->n++;
	uint64_t id;
	int rc = rj_spawn(s->ex, plan, (void *)(intptr_t)i, &id);
	cr_assert_eq(rc, 0, "rj_spawn: %s: %s", strerror(-rc), rj_executor_error(s->ex));
	return i;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
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

/* ---- the host side ------------------------------------------------------ */

bool running_as_root(void)
{
	return geteuid() == 0;
}

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

pid_t host_find_marker(const char *marker)
{
	DIR *d = opendir("/proc");
	cr_assert(d);
	pid_t found = 0, self = getpid();
	struct dirent *e;
	while (!found && (e = readdir(d))) {
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
		for (ssize_t off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1)
			if (strstr(buf + off, marker))
				found = atoi(e->d_name);
	}
	closedir(d);
	return found;
}

bool host_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, len) && (p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
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

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/* Pre-order, before nftw reads a folder: its owner may always open it. */
static int open_up(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (st->st_mode & 07777) | 0700);
	return 0;
}

int remove_tree(const char *dir)
{
	nftw(dir, open_up, 16, FTW_PHYS);
	return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
