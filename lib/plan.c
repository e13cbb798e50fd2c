/* The plan builder: copies everything it is given and validates early, so
 * a bad argument is refused at the setter with -EINVAL and a message. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "internal.h"
#include "seccomp.h"

#define MAX_INLINE_FILE (1ull << 30)

static int fail(rj_plan *p, int err, const char *fmt, const char *arg)
{
	rj__fmt(p->err, sizeof p->err, fmt, arg ? arg : "");
	return -err;
}

/* A plan changed: the next spawn compiles a new policy. Sandboxes already
 * running keep their reference to the old one. */
static void invalidate(rj_plan *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->policy)
		rj__policy_put(p->policy);
	p->policy = NULL;
	pthread_mutex_unlock(&p->lock);
	p->err[0] = '\0';
}

static char **strv_dup(const char *const *v, size_t *n_out)
{
	size_t n = 0;
	while (v[n])
		n++;
	char **out = calloc(n + 1, sizeof *out);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(v[i]);
		if (!out[i]) {
			while (i--)
				free(out[i]);
			free(out);
			return NULL;
		}
	}
	if (n_out)
		*n_out = n;
	return out;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static const char *const default_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/box", "TMPDIR=/tmp",
	"LANG=C.UTF-8", NULL,
};

rj_plan *rj_plan_new(const char *const *argv)
{
	if (!argv || !argv[0] || !argv[0][0]) {
		errno = EINVAL;
		return NULL;
	}
	size_t argc;
	rj_plan *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->argv = strv_dup(argv, &argc);
	p->env = strv_dup(default_env, &p->nenv);
	p->cwd = strdup("/box");
	if (!p->argv || !p->env || !p->cwd || argc > RJ__MAX_ARGS) {
		rj_plan_free(p);
		errno = argc > RJ__MAX_ARGS ? E2BIG : ENOMEM;
		return NULL;
	}
	return p;
}

void rj_plan_free(rj_plan *p)
{
	if (!p)
		return;
	invalidate(p);
	strv_free(p->argv);
	strv_free(p->env);
	free(p->stdin_data);
	free(p->stdin_path);
	for (size_t i = 0; i < p->nfiles; i++) {
		free(p->files[i].path);
		free(p->files[i].data);
	}
	free(p->files);
	for (size_t i = 0; i < p->nmounts; i++) {
		free(p->mounts[i].host);
		free(p->mounts[i].box);
	}
	free(p->mounts);
	free(p->workdir);
	free(p->cwd);
	free(p->allow);
	free(p->deny);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

const char *rj_plan_error(const rj_plan *p)
{
	return p ? p->err : "no plan";
}

static bool env_name_ok(const char *name)
{
	if (!name[0])
		return false;
	for (const char *c = name; *c; c++)
		if (*c == '=')
			return false;
	return true;
}

int rj_plan_set_env(rj_plan *p, const char *name, const char *value)
{
	if (!p || !name)
		return -EINVAL;
	invalidate(p);
	if (!env_name_ok(name))
		return fail(p, EINVAL, "environment variable name '%s' is empty or holds '='", name);
	size_t nl = strlen(name);
	size_t at = p->nenv;
	for (size_t i = 0; i < p->nenv; i++)
		if (!strncmp(p->env[i], name, nl) && p->env[i][nl] == '=')
			at = i;
	if (!value) {
		if (at == p->nenv)
			return 0;
		free(p->env[at]);
		memmove(&p->env[at], &p->env[at + 1], (p->nenv - at) * sizeof *p->env);
		p->nenv--;
		return 0;
	}
	char *kv = malloc(nl + strlen(value) + 2);
	if (!kv)
		return -ENOMEM;
	strcpy(kv, name);
	kv[nl] = '=';
	strcpy(kv + nl + 1, value);
	if (at < p->nenv) {
		free(p->env[at]);
		p->env[at] = kv;
		return 0;
	}
	char **nv = realloc(p->env, (p->nenv + 2) * sizeof *nv);
	if (!nv) {
		free(kv);
		return -ENOMEM;
	}
	p->env = nv;
	p->env[p->nenv++] = kv;
	p->env[p->nenv] = NULL;
	return 0;
}

int rj_plan_set_stdin(rj_plan *p, const void *data, size_t len)
{
	if (!p || (!data && len))
		return -EINVAL;
	invalidate(p);
	char *copy = len ? malloc(len) : NULL;
	if (len && !copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	free(p->stdin_data);
	free(p->stdin_path);
	p->stdin_path = NULL;
	p->stdin_data = copy;
	p->stdin_len = len;
	return 0;
}

/* Put path in absolute form without "." components or repeated slashes
 * (".." is kept: only the kernel can resolve it). 0, or -errno. */
static int abs_clean(const char *path, char *out, size_t n)
{
	size_t len = 0;

	if (path[0] != '/') {
		if (!getcwd(out, n))
			return -errno;
		len = strlen(out);
	}
	for (const char *c = path; *c;) {
		const char *end = strchrnul(c, '/');
		size_t k = (size_t)(end - c);

		if (k && !(k == 1 && c[0] == '.')) {
			if (len + 1 + k + 1 > n)
				return -ENAMETOOLONG;
			if (!len || out[len - 1] != '/')
				out[len++] = '/';
			memcpy(out + len, c, k);
			len += k;
		}
		c = *end ? end + 1 : end;
	}
	if (!len)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/* Where host lies inside dir (both clean and absolute): the rest of host
 * after dir's path, or NULL. */
static const char *path_below(const char *host, const char *dir)
{
	size_t n = strlen(dir);

	if (n > 1 && !strncmp(host, dir, n) && host[n] == '/' && host[n + 1])
		return host + n + 1;
	return NULL;
}

/* Open rest beneath the workdir without following any link; -errno. */
static int open_beneath(const char *workdir, const char *rest, int flags)
{
	struct open_how how = { .flags = (uint64_t)flags, .resolve =
		RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int wfd = open(workdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (wfd < 0)
		return -errno;
	int fd = (int)syscall(SYS_openat2, wfd, rest, &how, sizeof how);
	int e = errno;
	close(wfd);
	return fd < 0 ? -e : fd;
}

/*
 * Open a host file the caller named, for reading, without blocking (a FIFO
 * with no writer would hold the caller's event loop) and only if it is a
 * regular file. A path inside the plan's workdir (set before) is resolved
 * beneath it without following any symbolic link: the workdir is kept
 * across runs, so a link there may have been planted by an earlier
 * program to make a later run read a file of the caller's. Everywhere
 * else the path is the caller's own and is followed as open() does.
 * Returns the fd, or -errno with the plan's message set.
 */
/* A host file named by the plan (a file to copy, stdin): a regular file,
 * opened without blocking; one inside the plan's workdir is opened beneath
 * it without following links. Returns the fd (O_NONBLOCK set) or -errno
 * with err saying why. spawn.c opens stdin at each spawn through this. */
int rj__host_file_open(const char *workdir, const char *host, const char *what, char *err, size_t errlen)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	char abs[4096], dir[4096], *real = NULL;
	const char *rest = NULL;
	int fd;

	if (workdir && abs_clean(host, abs, sizeof abs) == 0) {
		if (abs_clean(workdir, dir, sizeof dir) == 0)
			rest = path_below(abs, dir);
		if (!rest && (real = realpath(workdir, NULL)))
			rest = path_below(abs, real);
	}
	if (rest)
		fd = open_beneath(real ? real : workdir, rest, flags);
	else if ((fd = open(host, flags)) < 0)
		fd = -errno;
	free(real);
	if (fd == -ELOOP && rest)
		rj__fmt(err, errlen, "%s '%s' lies in the workdir and is "
			"reached through a symbolic link there, which an earlier run "
			"could have planted: name the file itself", what, host);
	else if (fd == -EXDEV && rest)
		rj__fmt(err, errlen, "%s '%s' leaves the workdir through "
			"'..' inside it: name the file itself", what, host);
	if ((fd == -ELOOP || fd == -EXDEV) && rest)
		return fd;
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = fd < 0 ? -fd : errno;
		if (fd >= 0)
			close(fd);
		rj__fmt(err, errlen, "cannot read %s '%s': %s", what, host,
			e == ENOSYS ? "this kernel has no openat2 (Linux 5.6)" : strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		rj__fmt(err, errlen, "%s '%s' is not a regular file (a FIFO or "
			"a device could block every run)", what, host);
		return -EINVAL;
	}
	return fd;
}

static int open_host_file(rj_plan *p, const char *host, const char *what)
{
	return rj__host_file_open(p->workdir, host, what, p->err, sizeof p->err);
}

int rj_plan_set_stdin_file(rj_plan *p, const char *path)
{
	if (!p || !path)
		return -EINVAL;
	invalidate(p);
	if (!path[0])
		return fail(p, EINVAL, "stdin file name is empty%s", "");
	/* Checked now, as the files are: a FIFO or a device would block the
	 * spawn (and with it the event loop), and a link planted in the
	 * workdir would feed the program a file of the caller's. */
	int fd = open_host_file(p, path, "stdin file");
	if (fd < 0)
		return fd;
	close(fd);
	char *copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	free(p->stdin_path);
	free(p->stdin_data);
	p->stdin_data = NULL;
	p->stdin_len = 0;
	p->stdin_path = copy;
	return 0;
}

int rj_plan_set_stdin_open(rj_plan *p, bool open_)
{
	if (!p)
		return -EINVAL;
	invalidate(p);
	p->stdin_open = open_;
	return 0;
}

/* A workspace path: relative, no "..", no empty or "." components. */
static bool box_path_ok(const char *path)
{
	if (!path[0] || path[0] == '/' || strlen(path) > 1024)
		return false;
	const char *c = path;
	while (*c) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c = *end ? end + 1 : end;
	}
	return path[strlen(path) - 1] != '/';
}

int rj_plan_add_file(rj_plan *p, const char *box_path, const void *data,
		     size_t len, unsigned mode)
{
	if (!p || !box_path || (!data && len))
		return -EINVAL;
	invalidate(p);
	if (!box_path_ok(box_path))
		return fail(p, EINVAL, "file name '%s' must be relative to /box, without '..' or empty parts", box_path);
	if (mode & ~07777u)
		return fail(p, EINVAL, "file '%s': mode must be at most 07777", box_path);
	if (len > MAX_INLINE_FILE)
		return fail(p, EFBIG, "file '%s' is larger than 1 GiB", box_path);
	struct rj__file *nf = realloc(p->files, (p->nfiles + 1) * sizeof *nf);
	if (!nf)
		return -ENOMEM;
	p->files = nf;
	struct rj__file *f = &p->files[p->nfiles];
	f->path = strdup(box_path);
	f->data = malloc(len ? len : 1);
	if (!f->path || !f->data) {
		free(f->path);
		free(f->data);
		return -ENOMEM;
	}
	if (len)
		memcpy(f->data, data, len);
	f->len = len;
	f->mode = mode & 07777u;
	p->nfiles++;
	return 0;
}

static int read_host_file(rj_plan *p, const char *host, char **data, size_t *len, mode_t *mode)
{
	int fd = open_host_file(p, host, "host file");
	struct stat st;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > MAX_INLINE_FILE) {
		close(fd);
		return fail(p, EFBIG, "host file '%s' is larger than 1 GiB", host);
	}
	char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	size_t got = 0;
	int e = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			e = n < 0 ? errno : 0;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (!buf)
		return -ENOMEM;
	if (e) {
		free(buf);
		rj__fmt(p->err, sizeof p->err, "cannot read host file '%s': %s", host, strerror(e));
		return -e;
	}
	*data = buf;
	*len = got;
	*mode = st.st_mode;
	return 0;
}

int rj_plan_add_host_file(rj_plan *p, const char *box_path, const char *host_path)
{
	if (!p || !box_path || !host_path)
		return -EINVAL;
	invalidate(p);
	if (!box_path_ok(box_path))
		return fail(p, EINVAL, "file name '%s' must be relative to /box, without '..' or empty parts", box_path);
	char *data = NULL;
	size_t len = 0;
	mode_t mode = 0;
	int r = read_host_file(p, host_path, &data, &len, &mode);
	if (r < 0)
		return r;
	/* The copy keeps the executable bit, nothing else of the host's mode. */
	unsigned m = (mode & 0111) ? 0755 : 0644;
	r = rj_plan_add_file(p, box_path, data, len, m);
	free(data);
	return r;
}

static bool abs_path_ok(const char *path)
{
	if (path[0] != '/' || strlen(path) > 1024)
		return false;
	return path[1] == '\0' || box_path_ok(path + 1);
}

/* Is path `top` itself or below it? Both absolute and normalized. */
static bool at_or_below(const char *path, const char *top)
{
	size_t n = strlen(top);
	return !strncmp(path, top, n) && (path[n] == '\0' || path[n] == '/');
}

/* Where a caller's directory may not go: the sandbox's own /proc and /dev
 * (and what lies below them), whose mounts would hide it or which it would
 * hide, and /box and /tmp themselves, which it would silently replace (the
 * workspace: use --workdir). Below /box and /tmp it is fine. */
static const char *reserved_box_dir(const char *box)
{
	if (at_or_below(box, "/proc"))
		return "the sandbox's own /proc is mounted there";
	if (at_or_below(box, "/dev"))
		return "the sandbox's own /dev (null, zero, random, ...) is there";
	if (!strcmp(box, "/box"))
		return "it would replace the workspace (use --workdir for a kept workspace, "
		       "or a path below /box)";
	if (!strcmp(box, "/tmp"))
		return "it would replace the sandbox's own /tmp (use a path below /tmp)";
	return NULL;
}

int rj_plan_add_mount(rj_plan *p, const char *host_dir, const char *box_dir, unsigned flags)
{
	if (!p || !host_dir)
		return -EINVAL;
	invalidate(p);
	if (!box_dir)
		box_dir = host_dir;
	if (flags & ~(RJ_MOUNT_RW | RJ_MOUNT_NOEXEC))
		return fail(p, EINVAL, "unknown mount flags%s", "");
	if (!abs_path_ok(box_dir) || !strcmp(box_dir, "/"))
		return fail(p, EINVAL, "mount point '%s' must be an absolute path without '..', other than /", box_dir);
	const char *why = reserved_box_dir(box_dir);
	if (why) {
		rj__fmt(p->err, sizeof p->err, "mount point '%s' cannot take a directory: %s", box_dir, why);
		return -EINVAL;
	}
	struct stat st;
	if (stat(host_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail(p, errno ? errno : ENOTDIR, "host directory '%s' cannot be used (missing or not a directory)", host_dir);
	struct rj__mount *nm = realloc(p->mounts, (p->nmounts + 1) * sizeof *nm);
	if (!nm)
		return -ENOMEM;
	p->mounts = nm;
	nm[p->nmounts].host = strdup(host_dir);
	nm[p->nmounts].box = strdup(box_dir);
	nm[p->nmounts].flags = flags;
	if (!nm[p->nmounts].host || !nm[p->nmounts].box) {
		free(nm[p->nmounts].host);
		free(nm[p->nmounts].box);
		return -ENOMEM;
	}
	p->nmounts++;
	return 0;
}

/* The directory is checked here for an early, clear refusal, and again on
 * the locked descriptor when each sandbox starts (it may have changed). */
int rj_plan_set_workdir(rj_plan *p, const char *host_dir)
{
	if (!p)
		return -EINVAL;
	invalidate(p);
	if (host_dir) {
		int fd = open(host_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return fail(p, ENOTDIR, "workdir '%s' is not an existing directory", host_dir);
		int r = rj__workdir_check(fd, host_dir, rj__caps_is_root(), p->err, sizeof p->err);
		close(fd);
		if (r < 0)
			return r;
	}
	char *copy = host_dir ? strdup(host_dir) : NULL;
	if (host_dir && !copy)
		return -ENOMEM;
	free(p->workdir);
	p->workdir = copy;
	return 0;
}

int rj_plan_set_cwd(rj_plan *p, const char *box_dir)
{
	if (!p || !box_dir)
		return -EINVAL;
	invalidate(p);
	if (!abs_path_ok(box_dir))
		return fail(p, EINVAL, "working directory '%s' must be an absolute path without '..'", box_dir);
	char *copy = strdup(box_dir);
	if (!copy)
		return -ENOMEM;
	free(p->cwd);
	p->cwd = copy;
	return 0;
}

int rj_plan_set_limit(rj_plan *p, enum rj_limit l, uint64_t v)
{
	if (!p || (unsigned)l >= RJ_LIMIT__COUNT)
		return -EINVAL;
	invalidate(p);
	if (v == 0)
		return fail(p, EINVAL, "limit '%s' must be greater than 0", rj_limit_name(l));
	if (v == RJ_UNLIMITED && l != RJ_LIMIT_STACK && l != RJ_LIMIT_AS)
		return fail(p, EINVAL, "limit '%s' cannot be unlimited", rj_limit_name(l));
	/* Deadlines are nanoseconds on CLOCK_MONOTONIC: a year keeps every
	 * sum of them far from overflowing. */
	if ((l == RJ_LIMIT_WALL_TIME || l == RJ_LIMIT_TIME) && v > RJ__MAX_TIME_US)
		return fail(p, EINVAL, "limit '%s' must be at most one year (31536000000000 µs)",
			    rj_limit_name(l));
	p->limits[l] = v;
	p->limits_set |= 1u << l;
	return 0;
}

/* The limit a run of this plan gets: the caller's, or CLI.md's default
 * (the CPU limit defaults to the wall limit; RLIMIT_AS is off: 0). */
uint64_t rj__plan_limit(const rj_plan *p, enum rj_limit l)
{
	static const uint64_t defaults[RJ_LIMIT__COUNT] = {
		[RJ_LIMIT_WALL_TIME] = RJ__DEF_WALL_US, [RJ_LIMIT_MEM] = RJ__DEF_MEM,
		[RJ_LIMIT_PIDS] = RJ__DEF_PIDS, [RJ_LIMIT_OUTPUT] = RJ__DEF_OUTPUT,
		[RJ_LIMIT_FSIZE] = RJ__DEF_FSIZE, [RJ_LIMIT_DISK] = RJ__DEF_DISK,
		[RJ_LIMIT_OPEN_FILES] = RJ__DEF_NOFILE, [RJ_LIMIT_STACK] = RJ__DEF_STACK,
	};
	if (p->limits_set & (1u << l))
		return p->limits[l];
	if (l == RJ_LIMIT_TIME)
		return rj__plan_limit(p, RJ_LIMIT_WALL_TIME);
	return defaults[l];
}

uint64_t rj_plan_get_limit(const rj_plan *p, enum rj_limit l)
{
	if (!p || (unsigned)l >= RJ_LIMIT__COUNT)
		return 0;
	return rj__plan_limit(p, l);
}

int rj_plan_set_best_effort(rj_plan *p, bool on)
{
	if (!p)
		return -EINVAL;
	invalidate(p);
	p->best_effort = on;
	return 0;
}

int rj_plan_set_net(rj_plan *p, bool on)
{
	if (!p)
		return -EINVAL;
	invalidate(p);
	p->net = on;
	return 0;
}

static int add_syscall(rj_plan *p, const char *name, int **v, size_t *n)
{
	if (!p || !name)
		return -EINVAL;
	invalidate(p);
	int nr = rj__seccomp_resolve(name);
	if (nr < 0)
		return fail(p, EINVAL, "unknown system call '%s' on this architecture", name);
	int *nv = realloc(*v, (*n + 1) * sizeof *nv);
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = nr;
	*v = nv;
	return 0;
}

int rj_plan_allow_syscall(rj_plan *p, const char *name)
{
	return add_syscall(p, name, &p->allow, &p->nallow);
}

int rj_plan_deny_syscall(rj_plan *p, const char *name)
{
	return add_syscall(p, name, &p->deny, &p->ndeny);
}

int rj_plan_set_capture(rj_plan *p, size_t max)
{
	if (!p)
		return -EINVAL;
	invalidate(p);
	p->capture = max;
	return 0;
}
