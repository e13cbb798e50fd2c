/* The shared helpers of host.h: what the tests see of the host. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "host.h"

/* ---- clocks ------------------------------------------------------------ */

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

/* ---- files and text ------------------------------------------------------ */

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

bool host_path_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
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

bool has_line(const char *text, const char *line)
{
	size_t len = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, len) && (p[len] == '\n' || p[len] == '\0'))
			return true;
	return false;
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

bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* ---- processes --------------------------------------------------------- */

bool running_as_root(void)
{
	return geteuid() == 0;
}

/* Entries of dir that keep accepts (every one but . and .. when keep is
 * NULL). */
static int count_dir(const char *dir, bool (*keep)(const char *name))
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (keep ? keep(e->d_name) : strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int host_proc_count(void)
{
	return count_dir("/proc", all_digits);
}

int count_fds(void)
{
	return count_dir("/proc/self/fd", NULL) - 1; /* the directory's own fd */
}

/* Whether a process's argv (len bytes of NUL-terminated elements, a NUL
 * after the last) is the one looked for. */
typedef bool (*argv_match)(const char *args, size_t len, const void *want);

/* Host processes other than ours whose argv matches: the first's pid in
 * *first, the count returned (stopping at the first unless all). */
static int scan_argv(argv_match match, const void *want, bool all, pid_t *first)
{
	DIR *d = opendir("/proc");
	cr_assert(d);
	pid_t self = getpid();
	int count = 0;
	/* Room for a whole long command line, not only its start; on the
	 * stack, as threads of a test may look at once. */
	char buf[65536];
	*first = 0;
	struct dirent *e;
	while ((all || !count) && (e = readdir(d))) {
		if (!all_digits(e->d_name) || atoi(e->d_name) == self)
			continue;
		char path[300];
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (match(buf, (size_t)n, want) && !count++)
			*first = atoi(e->d_name);
	}
	closedir(d);
	return count;
}

static bool holds_marker(const char *args, size_t len, const void *marker)
{
	for (size_t off = 0; off < len; off += strlen(args + off) + 1)
		if (strstr(args + off, marker))
			return true;
	return false;
}

static bool holds_arg(const char *args, size_t len, const void *arg)
{
	for (size_t off = 0; off < len; off += strlen(args + off) + 1)
		if (!strcmp(args + off, arg))
			return true;
	return false;
}

/* The argv looked for, laid out as /proc/PID/cmdline holds it. */
struct whole_argv {
	char args[4096];
	size_t len;
};

static bool is_argv(const char *args, size_t len, const void *want)
{
	const struct whole_argv *w = want;
	return len == w->len && !memcmp(args, w->args, len);
}

pid_t host_find_marker(const char *marker)
{
	pid_t pid;
	scan_argv(holds_marker, marker, false, &pid);
	return pid;
}

int host_count_marker(const char *marker)
{
	pid_t pid;
	return scan_argv(holds_marker, marker, true, &pid);
}

int host_count_arg(const char *arg)
{
	pid_t pid;
	return scan_argv(holds_arg, arg, true, &pid);
}

int count_procs(const char *const *argv)
{
	struct whole_argv w = { .len = 0 };
	for (size_t i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;
		cr_assert_lt(w.len + l, sizeof w.args);
		memcpy(w.args + w.len, argv[i], l);
		w.len += l;
	}
	pid_t pid;
	return scan_argv(is_argv, &w, true, &pid);
}

int live_children(void)
{
	DIR *d = opendir("/proc");
	cr_assert(d);
	int n = 0, self = (int)getpid();
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!all_digits(e->d_name))
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

/* ---- cgroups ----------------------------------------------------------- */

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
