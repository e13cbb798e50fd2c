/* Helpers of the batch suite (util.h): the test's folder, files, and the
 * `ringjail batch` process on pipes. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- the test's folder --------------------------------------------------- */

/* Each test runs in a process of its own (Criterion forks), so these are
 * per test. */
static char test_dir[64];
static char tmp_dir[96];
static char **paths;
static size_t npaths;

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void suite_init(void)
{
	strcpy(test_dir, "/tmp/rj-batch-XXXXXX");
	cr_assert_not_null(mkdtemp(test_dir), "mkdtemp: %s", strerror(errno));
	/* The sandbox's own uid looks up its root's mount point under TMPDIR,
	 * so the folders on the way must be searchable by others. */
	cr_assert_eq(chmod(test_dir, 0755), 0);
	snprintf(tmp_dir, sizeof tmp_dir, "%s/tmp", test_dir);
	cr_assert_eq(mkdir(tmp_dir, 0755), 0, "mkdir %s: %s", tmp_dir, strerror(errno));
	/* A batch that exits while we still feed its stdin must not kill
	 * the test; the child gets SIGPIPE back at its default. */
	signal(SIGPIPE, SIG_IGN);
}

static void suite_fini(void)
{
	if (test_dir[0])
		nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t k = 0; k < npaths; k++)
		free(paths[k]);
	free(paths);
}

TestSuite(batch, .init = suite_init, .fini = suite_fini);

const char *tpath(const char *name)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/%s", test_dir, name), 0);
	paths = realloc(paths, (npaths + 1) * sizeof(*paths));
	cr_assert_not_null(paths);
	paths[npaths++] = p;
	return p;
}

const char *tfmt(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&p, fmt, ap);
	va_end(ap);
	cr_assert_geq(rc, 0);
	paths = realloc(paths, (npaths + 1) * sizeof(*paths));
	cr_assert_not_null(paths);
	paths[npaths++] = p;
	return p;
}

const char *ttmpdir(void)
{
	return tmp_dir;
}

void write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		cr_assert_gt(n, 0, "write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			data = realloc(data, cap);
			cr_assert_not_null(data);
		}
		size_t got = fread(data + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	data[n] = '\0';
	if (len)
		*len = n;
	return data;
}

void write_jobs(const char *path, const char *const *lines)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
	for (; *lines; lines++)
		fprintf(f, "%s\n", *lines);
	cr_assert_eq(fclose(f), 0);
}

/* ---- the process ---------------------------------------------------------- */

double now_s(void)
{
	return now_ms() / 1e3;
}

static void buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		cr_assert_not_null(b->data);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Our environment with TMPDIR pointing at the test's own folder, where
 * the sandboxes' root mount points go: what is left there is a leak. */
static char **child_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	cr_assert_not_null(env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "TMPDIR=", 7))
			env[k++] = environ[i];
	cr_assert_geq(asprintf(&env[k], "TMPDIR=%s", tmp_dir), 0);
	return env;
}

void proc_start(struct proc *p, const char *const *args, const char *feed,
		size_t feed_len, bool keep_stdin)
{
	proc_start_cmd(p, "batch", args, feed, feed_len, keep_stdin);
}

void proc_start_cmd(struct proc *p, const char *cmd, const char *const *args,
		    const char *feed, size_t feed_len, bool keep_stdin)
{
	int in[2], out[2], err[2];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, dfl;
	const char *argv[64];
	size_t n = 0;
	char **env = child_env();

	memset(p, 0, sizeof(*p));
	argv[n++] = RJ_CLI;
	argv[n++] = cmd;
	for (; *args; args++) {
		cr_assert_lt(n, sizeof(argv) / sizeof(argv[0]) - 1);
		argv[n++] = *args;
	}
	argv[n] = NULL;
	cr_assert_eq(pipe2(in, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(out, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(err, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* Criterion's runner may block or ignore signals; the CLI must start
	 * as it would from a shell. */
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGQUIT);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int rc = posix_spawn(&p->pid, RJ_CLI, &fa, &at, (char *const *)argv, env);
	cr_assert_eq(rc, 0, "posix_spawn %s: %s", RJ_CLI, strerror(rc));
	p->t0 = now_s();
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	for (n = 0; env[n + 1]; n++)
		;
	free(env[n]); /* the TMPDIR entry child_env made; the rest are ours */
	free(env);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = err[0];
	fcntl(p->in_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->err_fd, F_SETFL, O_NONBLOCK);
	p->feed = feed;
	p->feed_len = feed ? feed_len : 0;
	p->keep_stdin = keep_stdin;
	p->hwm_kib = -1;
	p->maxrss_kib = -1;
	p->status = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void sample_hwm(struct proc *p)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)p->pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		long kib;

		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1 && kib > p->hwm_kib)
			p->hwm_kib = kib;
	}
	fclose(f);
}

/* Read one ready fd into b; closes it at EOF. */
static void drain(int *fd, struct buf *b)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(*fd, chunk, sizeof chunk);

		if (n > 0) {
			buf_add(b, chunk, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close_fd(fd); /* EOF, or an error that ends the stream */
		return;
	}
}

static void feed(struct proc *p)
{
	while (p->fed < p->feed_len) {
		ssize_t n = write(p->in_fd, p->feed + p->fed, p->feed_len - p->fed);

		if (n > 0) {
			p->fed += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close_fd(&p->in_fd); /* EPIPE: the batch is gone */
		return;
	}
	if (!p->keep_stdin)
		close_fd(&p->in_fd);
}

void proc_pump(struct proc *p, int ms)
{
	double end = now_s() + ms / 1e3, last_sample = 0;

	for (;;) {
		struct pollfd fds[3];
		nfds_t n = 0;
		double t = now_s();

		if (!p->exited && t - last_sample >= 0.005) {
			sample_hwm(p);
			last_sample = t;
		}
		if (p->in_fd >= 0 && p->fed < p->feed_len)
			fds[n++] = (struct pollfd){ .fd = p->in_fd, .events = POLLOUT };
		else if (p->in_fd >= 0 && !p->keep_stdin)
			close_fd(&p->in_fd);
		if (p->out_fd >= 0)
			fds[n++] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
		if (p->err_fd >= 0)
			fds[n++] = (struct pollfd){ .fd = p->err_fd, .events = POLLIN };
		if (n == 0 || t >= end)
			return;
		/* Wake at least every 5 ms so that VmHWM is sampled. */
		int left = (int)((end - t) * 1e3) + 1;
		if (poll(fds, n, left < 5 ? left : 5) < 0 && errno != EINTR)
			cr_assert_fail("poll: %s", strerror(errno));
		for (nfds_t k = 0; k < n; k++) {
			if (!fds[k].revents)
				continue;
			if (fds[k].fd == p->in_fd)
				feed(p);
			else if (fds[k].fd == p->out_fd)
				drain(&p->out_fd, &p->out);
			else if (fds[k].fd == p->err_fd)
				drain(&p->err_fd, &p->err);
		}
	}
}

size_t proc_lines(const struct proc *p)
{
	size_t n = 0;

	for (size_t k = 0; k < p->out.len; k++)
		n += p->out.data[k] == '\n';
	return n;
}

static bool reap(struct proc *p, bool block)
{
	struct rusage ru;
	int st;
	pid_t r;

	do
		r = wait4(p->pid, &st, block ? 0 : WNOHANG, &ru);
	while (r < 0 && errno == EINTR);
	cr_assert_geq(r, 0, "wait4: %s", strerror(errno));
	if (r == 0)
		return false;
	p->exited = true;
	p->wall_s = now_s() - p->t0;
	p->maxrss_kib = ru.ru_maxrss;
	p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return true;
}

/* The names left in the batch's TMPDIR, or NULL. */
static char *tmpdir_leftovers(void)
{
	DIR *d = opendir(tmp_dir);
	struct dirent *e;
	char *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fprintf(f, " %s", e->d_name);
	closedir(d);
	fclose(f);
	if (len == 0) {
		free(list);
		return NULL;
	}
	return list;
}

void proc_finish(struct proc *p, double timeout_s)
{
	double end = p->t0 + timeout_s;

	p->keep_stdin = false;
	if (p->fed >= p->feed_len)
		close_fd(&p->in_fd);
	while ((p->out_fd >= 0 || p->err_fd >= 0) && now_s() < end)
		proc_pump(p, 50);
	while (!p->exited && now_s() < end) {
		if (!reap(p, false))
			usleep(2000);
	}
	if (!p->exited) {
		kill(p->pid, SIGKILL);
		reap(p, true);
		close_fd(&p->in_fd);
		close_fd(&p->out_fd);
		close_fd(&p->err_fd);
		cr_assert_fail("ringjail batch did not end within %.0f s (killed); "
			       "%zu result lines so far; stderr: %.2000s", timeout_s,
			       proc_lines(p), p->err.data ? p->err.data : "");
	}
	char *left = tmpdir_leftovers();
	cr_expect_null(left, "the batch left in its TMPDIR %s:%s", tmp_dir, left);
	free(left);
}

void proc_free(struct proc *p)
{
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	close_fd(&p->err_fd);
	free(p->out.data);
	free(p->err.data);
	memset(&p->out, 0, sizeof p->out);
	memset(&p->err, 0, sizeof p->err);
}
