/* The plan builder: copies everything it is given into the plan's inputs
 * (struct rj__inputs, policy.c) and validates early, so a bad argument is
 * refused at the setter with -EINVAL and a message. The first spawn after
 * a change compiles the inputs into a policy (policy.c), kept until the
 * next change. */
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

rj_plan *rj_plan_new(const char *const *argv)
{
	if (!argv || !argv[0] || !argv[0][0]) {
		errno = EINVAL;
		return NULL;
	}
	rj_plan *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	int r = rj__inputs_init(&p->in, argv);
	if (r < 0) {
		rj_plan_free(p);
		errno = -r;
		return NULL;
	}
	return p;
}

void rj_plan_free(rj_plan *p)
{
	if (!p)
		return;
	invalidate(p);
	rj__inputs_free(&p->in);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* The compiled policy is a cache: logically the plan is unchanged. */
struct rj__policy *rj__plan_policy(const rj_plan *cp, char *err, size_t errlen)
{
	rj_plan *p = (rj_plan *)cp;
	pthread_mutex_lock(&p->lock);
	if (!p->policy)
		p->policy = rj__policy_compile(&p->in, err, errlen);
	struct rj__policy *pol = p->policy ? rj__policy_get(p->policy) : NULL;
	int e = errno;
	pthread_mutex_unlock(&p->lock);
	errno = e;
	return pol;
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
	size_t at = p->in.nenv;
	for (size_t i = 0; i < p->in.nenv; i++)
		if (!strncmp(p->in.env[i], name, nl) && p->in.env[i][nl] == '=')
			at = i;
	if (!value) {
		if (at == p->in.nenv)
			return 0;
		free(p->in.env[at]);
		memmove(&p->in.env[at], &p->in.env[at + 1], (p->in.nenv - at) * sizeof *p->in.env);
		p->in.nenv--;
		return 0;
	}
	char *kv = malloc(nl + strlen(value) + 2);
	if (!kv)
		return -ENOMEM;
	strcpy(kv, name);
	kv[nl] = '=';
	strcpy(kv + nl + 1, value);
	if (at < p->in.nenv) {
		free(p->in.env[at]);
		p->in.env[at] = kv;
		return 0;
	}
	char **nv = realloc(p->in.env, (p->in.nenv + 2) * sizeof *nv);
	if (!nv) {
		free(kv);
		return -ENOMEM;
	}
	p->in.env = nv;
	p->in.env[p->in.nenv++] = kv;
	p->in.env[p->in.nenv] = NULL;
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
	free(p->in.stdin_data);
	free(p->in.stdin_path);
	p->in.stdin_path = NULL;
	p->in.stdin_data = copy;
	p->in.stdin_len = len;
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
 * Open a host file the caller named (a file to copy, stdin), for reading,
 * without blocking (a FIFO with no writer would hold the caller's event
 * loop) and only if it is a regular file. A path inside the plan's workdir
 * (set before) is resolved beneath it without following any symbolic
 * link: the workdir is kept across runs, so a link there may have been
 * planted by an earlier program to make a later run read a file of the
 * caller's. Everywhere else the path is the caller's own and is followed
 * as open() does. Returns the fd (O_NONBLOCK set) or -errno with err
 * saying why. spawn.c opens stdin at each spawn through this.
 */
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
		rj__fmt(err, errlen, "%s '%s' is %s", what, host, S_ISDIR(st.st_mode) ?
			"a directory" : "not a regular file (a FIFO or a device could block every run)");
		return -EINVAL;
	}
	return fd;
}

static int open_host_file(rj_plan *p, const char *host, const char *what)
{
	return rj__host_file_open(p->in.workdir, host, what, p->err, sizeof p->err);
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
	free(p->in.stdin_path);
	free(p->in.stdin_data);
	p->in.stdin_data = NULL;
	p->in.stdin_len = 0;
	p->in.stdin_path = copy;
	return 0;
}

/* The inputs of p, about to change (NULL without a plan): for the
 * setters of a flag or a number, which have nothing to check. */
static struct rj__inputs *edit(rj_plan *p)
{
	if (!p)
		return NULL;
	invalidate(p);
	return &p->in;
}

int rj_plan_set_stdin_open(rj_plan *p, bool open_)
{
	struct rj__inputs *in = edit(p);
	if (in)
		in->stdin_open = open_;
	return in ? 0 : -EINVAL;
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

/* A workspace file's name and mode, as rj_plan_add_file takes them. */
static int file_check(rj_plan *p, const char *box_path, unsigned mode)
{
	if (!box_path_ok(box_path))
		return fail(p, EINVAL, "file name '%s' must be relative to /box, without '..' or empty parts", box_path);
	if (mode & ~07777u)
		return fail(p, EINVAL, "file '%s': mode must be at most 07777", box_path);
	return 0;
}

/* Add a checked file to the plan, taking data (malloc'd). */
static int push_file(rj_plan *p, const char *box_path, char *data, size_t len, unsigned mode)
{
	struct rj__file *nf = realloc(p->in.files, (p->in.nfiles + 1) * sizeof *nf);
	char *path = nf ? strdup(box_path) : NULL;

	if (nf)
		p->in.files = nf;
	if (!path) {
		free(data);
		return -ENOMEM;
	}
	p->in.files[p->in.nfiles++] = (struct rj__file){ path, data, len, mode };
	return 0;
}

int rj_plan_add_file(rj_plan *p, const char *box_path, const void *data,
		     size_t len, unsigned mode)
{
	if (!p || !box_path || (!data && len))
		return -EINVAL;
	invalidate(p);
	int r = file_check(p, box_path, mode);
	if (r < 0)
		return r;
	if (len > MAX_INLINE_FILE)
		return fail(p, EFBIG, "file '%s' is larger than 1 GiB", box_path);
	char *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	return push_file(p, box_path, copy, len, mode);
}

/* The whole of a host file (opened as rj__host_file_open says), with its
 * mode on the host. 0, or -errno with the plan's message set. */
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

int rj_plan_add_host_file(rj_plan *p, const char *box_path, const char *host_path, unsigned mode)
{
	if (!p || !box_path || !host_path)
		return -EINVAL;
	invalidate(p);
	int r = file_check(p, box_path, mode == RJ_MODE_KEEP_EXEC ? 0 : mode);
	if (r < 0)
		return r;
	char *data = NULL;
	size_t len = 0;
	mode_t host_mode = 0;
	if ((r = read_host_file(p, host_path, &data, &len, &host_mode)) < 0)
		return r;
	/* The copy keeps the executable bit, nothing else of the host's mode. */
	if (mode == RJ_MODE_KEEP_EXEC)
		mode = (host_mode & 0111) ? 0755 : 0644;
	return push_file(p, box_path, data, len, mode);
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
 * workspace: rj_plan_set_workdir). Below /box and /tmp it is fine. */
static const char *reserved_box_dir(const char *box)
{
	if (at_or_below(box, "/proc"))
		return "the sandbox's own /proc is mounted there";
	if (at_or_below(box, "/dev"))
		return "the sandbox's own /dev (null, zero, random, ...) is there";
	if (!strcmp(box, "/box"))
		return "it would replace the workspace (for a kept workspace set the plan's "
		       "workdir, rj_plan_set_workdir; else use a path below /box)";
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
	struct rj__mount *nm = realloc(p->in.mounts, (p->in.nmounts + 1) * sizeof *nm);
	if (!nm)
		return -ENOMEM;
	p->in.mounts = nm;
	nm[p->in.nmounts].host = strdup(host_dir);
	nm[p->in.nmounts].box = strdup(box_dir);
	nm[p->in.nmounts].flags = flags;
	if (!nm[p->in.nmounts].host || !nm[p->in.nmounts].box) {
		free(nm[p->in.nmounts].host);
		free(nm[p->in.nmounts].box);
		return -ENOMEM;
	}
	p->in.nmounts++;
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
	free(p->in.workdir);
	p->in.workdir = copy;
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
	free(p->in.cwd);
	p->in.cwd = copy;
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
	if ((l == RJ_LIMIT_WALL_TIME || l == RJ_LIMIT_TIME) && v > RJ__MAX_TIME_US)
		return fail(p, EINVAL, "limit '%s' must be at most one year (31536000000000 µs)",
			    rj_limit_name(l));
	p->in.limits[l] = v;
	p->in.limits_set |= 1u << l;
	return 0;
}

uint64_t rj_plan_get_limit(const rj_plan *p, enum rj_limit l)
{
	if (!p || (unsigned)l >= RJ_LIMIT__COUNT)
		return 0;
	return rj__inputs_limit(&p->in, l);
}

int rj_plan_set_best_effort(rj_plan *p, bool on)
{
	struct rj__inputs *in = edit(p);
	if (in)
		in->best_effort = on;
	return in ? 0 : -EINVAL;
}

int rj_plan_set_net(rj_plan *p, bool on)
{
	struct rj__inputs *in = edit(p);
	if (in)
		in->net = on;
	return in ? 0 : -EINVAL;
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
	return add_syscall(p, name, &p->in.allow, &p->in.nallow);
}

int rj_plan_deny_syscall(rj_plan *p, const char *name)
{
	return add_syscall(p, name, &p->in.deny, &p->in.ndeny);
}

int rj_plan_set_capture(rj_plan *p, size_t max)
{
	struct rj__inputs *in = edit(p);
	if (in)
		in->capture = max;
	return in ? 0 : -EINVAL;
}
