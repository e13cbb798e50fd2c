/* A plan compiled into what the child replays: argv/envp arrays, the mount
 * plan and the BPF program. Built once per plan version, shared read-only
 * by every sandbox spawned from it; the host's view and BPF programs are
 * cached process-wide because batch jobs build a new plan per job. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "seccomp.h"

/* ---- the host's read-only view, computed once per process ------------- */

/* Directories and files of the host that programs and runtimes need. Each
 * is bound read-only where it is a directory or file, and recreated where
 * it is a symlink (on merged-/usr systems /bin, /lib, ... are symlinks). */
static const char *const sys_paths[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/alternatives", "/etc/java-17-openjdk", "/etc/java-21-openjdk",
	"/etc/localtime", "/etc/nsswitch.conf", "/etc/locale.alias",
	"/etc/python3", "/etc/python3.11", "/etc/ssl", "/etc/ca-certificates",
	"/etc/gcc", "/etc/mime.types", "/etc/timezone", "/etc/host.conf",
	"/etc/protocols", "/etc/services", "/etc/debian_version",
};

static const char passwd_text[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"box:x:1000:1000:ringjail sandbox:/box:/bin/sh\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group_text[] =
	"root:x:0:\nbox:x:1000:\nnogroup:x:65534:\n";
static const char hosts_text[] = "127.0.0.1 localhost ringjail\n::1 localhost\n";

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom" };

struct view {
	struct rj__mop *ops;
	size_t n, cap;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct view host_view;
static bool host_view_done;

static struct rj__mop *view_add(struct view *v, enum rj__mop_kind k, const char *src, const char *dst)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct rj__mop *n = realloc(v->ops, cap * sizeof *n);
		if (!n)
			return NULL;
		v->ops = n;
		v->cap = cap;
	}
	struct rj__mop *op = &v->ops[v->n++];
	memset(op, 0, sizeof *op);
	op->kind = k;
	op->src = src;
	op->dst = dst;
	return op;
}

/* Strings of the host view live as long as the process (one small set). */
static int view_add_sys(struct view *v, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	const char *dst = path + 1;
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n <= 0)
			return 0;
		target[n] = '\0';
		char *t = strdup(target);
		return t && view_add(v, RJ__MOP_SYMLINK, t, dst) ? 0 : -ENOMEM;
	}
	if (S_ISDIR(st.st_mode))
		return view_add(v, RJ__MOP_BIND, path, dst) ? 0 : -ENOMEM;
	if (S_ISREG(st.st_mode))
		return view_add(v, RJ__MOP_BINDFILE, path, dst) ? 0 : -ENOMEM;
	return 0;
}

static int build_host_view(struct view *v)
{
	static char dev_src[5][16], dev_dst[5][16];
	for (size_t i = 0; i < sizeof sys_paths / sizeof *sys_paths; i++)
		if (view_add_sys(v, sys_paths[i]) < 0)
			return -ENOMEM;
	struct rj__mop *op;
	if (!(op = view_add(v, RJ__MOP_WRITE, NULL, "etc/passwd")))
		return -ENOMEM;
	op->data = passwd_text, op->len = sizeof passwd_text - 1, op->mode = 0644;
	if (!(op = view_add(v, RJ__MOP_WRITE, NULL, "etc/group")))
		return -ENOMEM;
	op->data = group_text, op->len = sizeof group_text - 1, op->mode = 0644;
	if (!(op = view_add(v, RJ__MOP_WRITE, NULL, "etc/hosts")))
		return -ENOMEM;
	op->data = hosts_text, op->len = sizeof hosts_text - 1, op->mode = 0644;
	if (!(op = view_add(v, RJ__MOP_TMPFS, NULL, "dev")))
		return -ENOMEM;
	op->arg = 64 << 10, op->mode = 0755;
	for (size_t i = 0; i < 5; i++) {
		rj__fmt(dev_src[i], sizeof dev_src[i], "/dev/%s", dev_nodes[i]);
		rj__fmt(dev_dst[i], sizeof dev_dst[i], "dev/%s", dev_nodes[i]);
		if (!(op = view_add(v, RJ__MOP_BINDFILE, dev_src[i], dev_dst[i])))
			return -ENOMEM;
		op->flags = RJ_MOUNT_RW; /* a device node: writable, no nodev */
	}
	static const char *const links[][2] = {
		{ "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
		{ "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
	};
	for (size_t i = 0; i < 4; i++)
		if (!view_add(v, RJ__MOP_SYMLINK, links[i][0], links[i][1]))
			return -ENOMEM;
	return view_add(v, RJ__MOP_PROC, NULL, "proc") ? 0 : -ENOMEM;
}

static const struct view *host_view_get(void)
{
	pthread_mutex_lock(&cache_lock);
	if (!host_view_done && build_host_view(&host_view) == 0)
		host_view_done = true;
	pthread_mutex_unlock(&cache_lock);
	return host_view_done ? &host_view : NULL;
}

/* ---- BPF programs, cached by their inputs ------------------------------ */

struct bpf_entry {
	struct bpf_entry *next;
	bool net;
	int *allow, *deny;
	size_t nallow, ndeny;
	struct sock_fprog prog;
};
static struct bpf_entry *bpf_cache;

static bool same_ints(const int *a, size_t na, const int *b, size_t nb)
{
	return na == nb && (na == 0 || !memcmp(a, b, na * sizeof *a));
}

static int bpf_get(const rj_plan *p, struct sock_fprog *out, char *err, size_t errlen)
{
	int r = 0;
	pthread_mutex_lock(&cache_lock);
	struct bpf_entry *e = bpf_cache;
	while (e && !(e->net == p->net && same_ints(e->allow, e->nallow, p->allow, p->nallow) &&
		      same_ints(e->deny, e->ndeny, p->deny, p->ndeny)))
		e = e->next;
	if (!e) {
		struct rj__seccomp_opts o = { p->net, p->allow, p->nallow, p->deny, p->ndeny };
		e = calloc(1, sizeof *e);
		if (!e) {
			r = -ENOMEM;
			goto out;
		}
		e->allow = malloc((p->nallow + 1) * sizeof(int));
		e->deny = malloc((p->ndeny + 1) * sizeof(int));
		r = e->allow && e->deny ? rj__seccomp_build(&o, &e->prog, err, errlen) : -ENOMEM;
		if (r < 0) {
			free(e->allow);
			free(e->deny);
			free(e);
			goto out;
		}
		if (p->nallow)
			memcpy(e->allow, p->allow, p->nallow * sizeof(int));
		if (p->ndeny)
			memcpy(e->deny, p->deny, p->ndeny * sizeof(int));
		e->nallow = p->nallow, e->ndeny = p->ndeny, e->net = p->net;
		e->next = bpf_cache;
		bpf_cache = e;
	}
	*out = e->prog; /* cached for the life of the process */
out:
	pthread_mutex_unlock(&cache_lock);
	return r;
}

/* ---- policies ----------------------------------------------------------- */

struct rj__policy *rj__policy_get(struct rj__policy *pol)
{
	atomic_fetch_add(&pol->refs, 1);
	return pol;
}

void rj__policy_put(struct rj__policy *pol)
{
	if (!pol || atomic_fetch_sub(&pol->refs, 1) != 1)
		return;
	for (size_t i = 0; pol->argv && pol->argv[i]; i++)
		free(pol->argv[i]);
	free(pol->argv);
	for (size_t i = 0; pol->envp && pol->envp[i]; i++)
		free(pol->envp[i]);
	free(pol->envp);
	free(pol->stdin_data);
	free(pol->stdin_path);
	for (size_t i = 0; i < pol->nfiles; i++) {
		free(pol->files[i].path);
		free(pol->files[i].data);
	}
	free(pol->files);
	for (size_t i = 0; i < pol->nmounts; i++) {
		free(pol->mounts[i].host);
		free(pol->mounts[i].box);
	}
	free(pol->mounts);
	free(pol->workdir);
	free(pol->cwd);
	free(pol->mops);
	free(pol);
}

static char **copy_strv(char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	char **out = calloc(n + 1, sizeof *out);
	for (size_t i = 0; out && i < n; i++) {
		if (!(out[i] = strdup(v[i]))) {
			while (i--)
				free(out[i]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static int copy_inputs(struct rj__policy *pol, const rj_plan *p)
{
	pol->argv = copy_strv(p->argv);
	pol->envp = copy_strv(p->env);
	if (!pol->argv || !pol->envp)
		return -ENOMEM;
	for (size_t i = 0; pol->envp[i]; i++)
		if (!strncmp(pol->envp[i], "PATH=", 5))
			pol->path_env = pol->envp[i] + 5;
	if (p->stdin_len && !(pol->stdin_data = malloc(p->stdin_len)))
		return -ENOMEM;
	if (p->stdin_len)
		memcpy(pol->stdin_data, p->stdin_data, p->stdin_len);
	pol->stdin_len = p->stdin_len;
	if (p->stdin_path && !(pol->stdin_path = strdup(p->stdin_path)))
		return -ENOMEM;
	pol->stdin_open = p->stdin_open;
	if (p->nfiles && !(pol->files = calloc(p->nfiles, sizeof *pol->files)))
		return -ENOMEM;
	for (size_t i = 0; i < p->nfiles; i++, pol->nfiles++) {
		struct rj__file *f = &pol->files[i];
		*f = p->files[i];
		f->path = strdup(p->files[i].path);
		f->data = malloc(f->len ? f->len : 1);
		if (!f->path || !f->data)
			return -ENOMEM;
		memcpy(f->data, p->files[i].data, f->len);
	}
	if (p->nmounts && !(pol->mounts = calloc(p->nmounts, sizeof *pol->mounts)))
		return -ENOMEM;
	for (size_t i = 0; i < p->nmounts; i++, pol->nmounts++) {
		pol->mounts[i].flags = p->mounts[i].flags;
		pol->mounts[i].host = strdup(p->mounts[i].host);
		pol->mounts[i].box = strdup(p->mounts[i].box);
		if (!pol->mounts[i].host || !pol->mounts[i].box)
			return -ENOMEM;
	}
	if (p->workdir && !(pol->workdir = strdup(p->workdir)))
		return -ENOMEM;
	return (pol->cwd = strdup(p->cwd)) ? 0 : -ENOMEM;
}

static void fill_limits(struct rj__policy *pol, const rj_plan *p)
{
	static const uint64_t defaults[RJ_LIMIT__COUNT] = {
		[RJ_LIMIT_WALL_TIME] = RJ__DEF_WALL_US, [RJ_LIMIT_MEM] = RJ__DEF_MEM,
		[RJ_LIMIT_PIDS] = RJ__DEF_PIDS, [RJ_LIMIT_OUTPUT] = RJ__DEF_OUTPUT,
		[RJ_LIMIT_FSIZE] = RJ__DEF_FSIZE, [RJ_LIMIT_DISK] = RJ__DEF_DISK,
		[RJ_LIMIT_OPEN_FILES] = RJ__DEF_NOFILE, [RJ_LIMIT_STACK] = RJ__DEF_STACK,
	};
	for (int i = 0; i < RJ_LIMIT__COUNT; i++)
		pol->limits[i] = (p->limits_set & (1u << i)) ? p->limits[i] : defaults[i];
	/* CLI.md: the CPU limit defaults to the wall limit. */
	if (!(p->limits_set & (1u << RJ_LIMIT_TIME)))
		pol->limits[RJ_LIMIT_TIME] = pol->limits[RJ_LIMIT_WALL_TIME];
	pol->limits_set = p->limits_set;
	pol->best_effort = p->best_effort;
	pol->net = p->net;
	pol->capture = p->capture;
}

/* The per-plan part of the mount plan follows the host view: the
 * workspace, /tmp, /dev/shm, and the caller's mounts. */
static int build_mops(struct rj__policy *pol, const struct view *hv)
{
	struct view v = { 0 };
	for (size_t i = 0; i < hv->n; i++)
		if (!view_add(&v, hv->ops[i].kind, hv->ops[i].src, hv->ops[i].dst))
			goto nomem;
		else
			v.ops[v.n - 1] = hv->ops[i];
	uint64_t disk = pol->limits[RJ_LIMIT_DISK];
	struct rj__mop *op;
	if (!pol->workdir) {
		if (!(op = view_add(&v, RJ__MOP_TMPFS, NULL, "box")))
			goto nomem;
		op->arg = disk, op->mode = 0755;
	} else if (!view_add(&v, RJ__MOP_BINDFD, NULL, "box")) {
		goto nomem;
	} else {
		v.ops[v.n - 1].arg = UINT64_MAX; /* the workdir's fd */
		v.ops[v.n - 1].flags = RJ_MOUNT_RW;
	}
	if (!(op = view_add(&v, RJ__MOP_TMPFS, NULL, "tmp")))
		goto nomem;
	op->arg = disk, op->mode = 01777;
	if (!(op = view_add(&v, RJ__MOP_TMPFS, NULL, "dev/shm")))
		goto nomem;
	op->arg = disk, op->mode = 01777;
	for (size_t i = 0; i < pol->nmounts; i++) {
		if (!(op = view_add(&v, RJ__MOP_BINDFD, NULL, pol->mounts[i].box + 1)))
			goto nomem;
		op->arg = i;
		op->flags = pol->mounts[i].flags;
	}
	pol->mops = v.ops;
	pol->nmops = v.n;
	return 0;
nomem:
	free(v.ops);
	return -ENOMEM;
}

static struct rj__policy *compile(const rj_plan *p, char *err, size_t errlen)
{
	const struct view *hv = host_view_get();
	struct rj__policy *pol = calloc(1, sizeof *pol);
	int r = -ENOMEM;
	if (!pol || !hv)
		goto fail;
	atomic_init(&pol->refs, 1);
	if ((r = copy_inputs(pol, p)) < 0)
		goto fail;
	fill_limits(pol, p);
	if ((r = build_mops(pol, hv)) < 0)
		goto fail;
	if ((r = bpf_get(p, &pol->bpf, err, errlen)) < 0)
		goto fail;
	return pol;
fail:
	if (r == -ENOMEM)
		rj__fmt(err, errlen, "out of memory while compiling the plan");
	if (pol)
		rj__policy_put(pol);
	errno = -r;
	return NULL;
}

struct rj__policy *rj__plan_policy(const rj_plan *cp, char *err, size_t errlen)
{
	/* The compiled policy is a cache: logically the plan is unchanged. */
	rj_plan *p = (rj_plan *)cp;
	pthread_mutex_lock(&p->lock);
	if (!p->policy)
		p->policy = compile(p, err, errlen);
	struct rj__policy *pol = p->policy ? rj__policy_get(p->policy) : NULL;
	int e = errno;
	pthread_mutex_unlock(&p->lock);
	errno = e;
	return pol;
}
