/* A plan's inputs, declared once (struct rj__inputs: their defaults, copy
 * and free), and what they compile into for the child to replay: argv/envp
 * arrays, the mount plan and the BPF program. A policy is built once per
 * plan version, shared read-only by every sandbox spawned from it; the
 * host's view and BPF programs are cached process-wide because batch jobs
 * build a new plan per job. Nothing here knows the plan: plan.c holds
 * inputs and asks for policies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "seccomp.h"

/* ---- inputs ------------------------------------------------------------- */

static const char *const default_env[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/box", "TMPDIR=/tmp",
	"LANG=C.UTF-8", NULL,
};

/* A copy of the NULL-terminated v (its count in *n_out), or NULL. */
static char **strv_dup(const char *const *v, size_t *n_out)
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

/* CLI.md's defaults: the environment and working directory here, the
 * limits in rj__inputs_limit. On failure rj__inputs_free releases what
 * was made: -E2BIG past RJ__MAX_ARGS arguments, or -ENOMEM. */
int rj__inputs_init(struct rj__inputs *in, const char *const *argv)
{
	size_t argc = 0;

	memset(in, 0, sizeof *in);
	in->argv = strv_dup(argv, &argc);
	in->env = strv_dup(default_env, &in->nenv);
	in->cwd = strdup("/box");
	if (in->argv && argc > RJ__MAX_ARGS)
		return -E2BIG;
	return in->argv && in->env && in->cwd ? 0 : -ENOMEM;
}

void rj__inputs_free(struct rj__inputs *in)
{
	strv_free(in->argv);
	strv_free(in->env);
	free(in->stdin_data);
	free(in->stdin_path);
	for (size_t i = 0; i < in->nfiles; i++) {
		free(in->files[i].path);
		free(in->files[i].data);
	}
	free(in->files);
	for (size_t i = 0; i < in->nmounts; i++) {
		free(in->mounts[i].host);
		free(in->mounts[i].box);
	}
	free(in->mounts);
	free(in->workdir);
	free(in->cwd);
	free(in->allow);
	free(in->deny);
	memset(in, 0, sizeof *in);
}

/* n bytes of src in new memory (at least one byte), or NULL. */
static void *mem_dup(const void *src, size_t n)
{
	void *out = malloc(n ? n : 1);
	if (out && n)
		memcpy(out, src, n);
	return out;
}

static int copy_files_and_mounts(struct rj__inputs *dst, const struct rj__inputs *src)
{
	if (src->nfiles && !(dst->files = calloc(src->nfiles, sizeof *dst->files)))
		return -ENOMEM;
	for (size_t i = 0; i < src->nfiles; i++, dst->nfiles++) {
		struct rj__file *f = &dst->files[i];
		*f = src->files[i];
		f->path = strdup(src->files[i].path);
		f->data = mem_dup(src->files[i].data, f->len);
		if (!f->path || !f->data)
			return -ENOMEM;
	}
	if (src->nmounts && !(dst->mounts = calloc(src->nmounts, sizeof *dst->mounts)))
		return -ENOMEM;
	for (size_t i = 0; i < src->nmounts; i++, dst->nmounts++) {
		struct rj__mount *m = &dst->mounts[i];
		m->flags = src->mounts[i].flags;
		m->host = strdup(src->mounts[i].host);
		m->box = strdup(src->mounts[i].box);
		if (!m->host || !m->box)
			return -ENOMEM;
	}
	return 0;
}

/* A deep copy of src into dst; on failure rj__inputs_free(dst) releases
 * what was made. 0 or -ENOMEM. Values are copied by the assignment; every
 * pointer is cleared and then copied below. */
int rj__inputs_copy(struct rj__inputs *dst, const struct rj__inputs *src)
{
	*dst = *src;
	dst->argv = dst->env = NULL;
	dst->stdin_data = dst->stdin_path = dst->workdir = dst->cwd = NULL;
	dst->files = NULL, dst->nfiles = 0;
	dst->mounts = NULL, dst->nmounts = 0;
	dst->allow = dst->deny = NULL;
	if (!(dst->argv = strv_dup((const char *const *)src->argv, NULL)) ||
	    !(dst->env = strv_dup((const char *const *)src->env, NULL)))
		return -ENOMEM;
	if (src->stdin_len && !(dst->stdin_data = mem_dup(src->stdin_data, src->stdin_len)))
		return -ENOMEM;
	if ((src->stdin_path && !(dst->stdin_path = strdup(src->stdin_path))) ||
	    (src->workdir && !(dst->workdir = strdup(src->workdir))) ||
	    !(dst->cwd = strdup(src->cwd)))
		return -ENOMEM;
	if ((src->nallow && !(dst->allow = mem_dup(src->allow, src->nallow * sizeof *src->allow))) ||
	    (src->ndeny && !(dst->deny = mem_dup(src->deny, src->ndeny * sizeof *src->deny))))
		return -ENOMEM;
	return copy_files_and_mounts(dst, src);
}

/* The limit a run gets: the caller's, or CLI.md's default (the CPU limit
 * defaults to the wall limit; RLIMIT_AS is off: 0). */
uint64_t rj__inputs_limit(const struct rj__inputs *in, enum rj_limit l)
{
	static const uint64_t defaults[RJ_LIMIT__COUNT] = {
		[RJ_LIMIT_WALL_TIME] = 10ull * 1000000, [RJ_LIMIT_MEM] = 512ull << 20,
		[RJ_LIMIT_PIDS] = 64, [RJ_LIMIT_OUTPUT] = 64ull << 20,
		[RJ_LIMIT_FSIZE] = 64ull << 20, [RJ_LIMIT_DISK] = 256ull << 20,
		[RJ_LIMIT_OPEN_FILES] = 256, [RJ_LIMIT_STACK] = 8ull << 20,
	};
	if (in->limits_set & (1u << l))
		return in->limits[l];
	if (l == RJ_LIMIT_TIME)
		return rj__inputs_limit(in, RJ_LIMIT_WALL_TIME);
	return defaults[l];
}

/* ---- the host's read-only view, computed once per process ------------- */

/* Directories of the host that programs and runtimes need, bound
 * read-only where they are directories and recreated where they are
 * symlinks (on merged-/usr systems /bin, /lib, ... are symlinks). */
static const char *const sys_dirs[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/ld.so.conf.d", "/etc/alternatives", "/etc/java-17-openjdk",
	"/etc/java-21-openjdk", "/etc/python3", "/etc/python3.11", "/etc/ssl",
	"/etc/ca-certificates", "/etc/gcc",
};

/* Small files of /etc, copied into the root when the plan is compiled:
 * a write costs less than a bind mount, and nothing else of /etc shows. */
static const char *const sys_files[] = {
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf",
	"/etc/locale.alias", "/etc/timezone", "/etc/host.conf", "/etc/protocols",
	"/etc/services", "/etc/debian_version", "/etc/mime.types",
};

static const char passwd_text[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"box:x:1000:1000:ringjail sandbox:/box:/bin/sh\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group_text[] =
	"root:x:0:\nbox:x:1000:\nnogroup:x:65534:\n";
static const char hosts_text[] = "127.0.0.1 localhost ringjail\n::1 localhost\n";

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom" };

/* Files of /proc that show the whole host whatever the pid namespace, the
 * ones container runtimes mask: every lock with its holder and range (a
 * channel between sandboxes, too), the key descriptions of every user the
 * sandbox's namespace maps (rootless, the caller's), timers and scheduler
 * state naming host processes, kernel symbols and loaded modules, kernel
 * memory, and the SysRq trigger. /dev/null is bound over each after /proc
 * is mounted, so each reads as empty. */
static const char *const proc_masked[] = {
	"locks", "keys", "key-users", "timer_list", "sched_debug", "kallsyms",
	"sysrq-trigger", "kcore",
};

struct view {
	struct rj__mop *ops;
	size_t n, cap;
};

/* The host view comes in two parts: what is created in the root before it
 * is sealed read-only (directories, mount points, files, symlinks), and
 * the read-only binds; the plan's writable mounts follow the seal. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct view host_prep, host_binds, proc_masks;
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
static int add_sys_dir(const char *path)
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
		return t && view_add(&host_prep, RJ__MOP_SYMLINK, t, dst) ? 0 : -ENOMEM;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	if (!view_add(&host_prep, RJ__MOP_DIR, NULL, dst))
		return -ENOMEM;
	return view_add(&host_binds, RJ__MOP_BIND, path, dst) ? 0 : -ENOMEM;
}

static int add_sys_file(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof target - 1);
		char *t = n > 0 ? strndup(target, (size_t)n) : NULL;
		if (n <= 0)
			return 0;
		return t && view_add(&host_prep, RJ__MOP_SYMLINK, t, path + 1) ? 0 : -ENOMEM;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (4 << 20))
		return 0;
	FILE *f = fopen(path, "rbe");
	if (!f)
		return 0;
	char *data = malloc((size_t)st.st_size + 1);
	size_t len = data ? fread(data, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	struct rj__mop *op = data ? view_add(&host_prep, RJ__MOP_WRITE, NULL, path + 1) : NULL;
	if (!op) {
		free(data);
		return -ENOMEM;
	}
	op->data = data, op->len = len, op->mode = 0644;
	return 0;
}

static int add_text(const char *dst, const char *text, size_t len)
{
	struct rj__mop *op = view_add(&host_prep, RJ__MOP_WRITE, NULL, dst);
	if (!op)
		return -ENOMEM;
	op->data = text, op->len = len, op->mode = 0644;
	return 0;
}

/* The sandbox's /proc is a procfs of the same kernel: what the host's
 * lacks (kcore, sched_debug, per configuration) it lacks too, and a bind
 * needs a file to cover. */
static int build_proc_masks(void)
{
	static char dst[sizeof proc_masked / sizeof *proc_masked][32];
	for (size_t i = 0; i < sizeof proc_masked / sizeof *proc_masked; i++) {
		char host[64];
		struct stat st;
		rj__fmt(host, sizeof host, "/proc/%s", proc_masked[i]);
		rj__fmt(dst[i], sizeof dst[i], "proc/%s", proc_masked[i]);
		/* A host that masks them itself shows a device node here; the
		 * sandbox's fresh procfs still has the file. */
		if (lstat(host, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		if (!view_add(&proc_masks, RJ__MOP_BINDFILE, "/dev/null", dst[i]))
			return -ENOMEM;
	}
	return 0;
}

static int build_host_view(void)
{
	static char dev_src[5][16], dev_dst[5][16];
	for (size_t i = 0; i < sizeof sys_dirs / sizeof *sys_dirs; i++)
		if (add_sys_dir(sys_dirs[i]) < 0)
			return -ENOMEM;
	for (size_t i = 0; i < sizeof sys_files / sizeof *sys_files; i++)
		if (add_sys_file(sys_files[i]) < 0)
			return -ENOMEM;
	if (add_text("etc/passwd", passwd_text, sizeof passwd_text - 1) < 0 ||
	    add_text("etc/group", group_text, sizeof group_text - 1) < 0 ||
	    add_text("etc/hosts", hosts_text, sizeof hosts_text - 1) < 0)
		return -ENOMEM;
	static const char *const dirs[] = { "box", "tmp", "proc", "dev" };
	for (size_t i = 0; i < 4; i++)
		if (!view_add(&host_prep, RJ__MOP_DIR, NULL, dirs[i]))
			return -ENOMEM;
	for (size_t i = 0; i < 5; i++) {
		rj__fmt(dev_src[i], sizeof dev_src[i], "/dev/%s", dev_nodes[i]);
		rj__fmt(dev_dst[i], sizeof dev_dst[i], "dev/%s", dev_nodes[i]);
		if (!view_add(&host_prep, RJ__MOP_FILE, NULL, dev_dst[i]))
			return -ENOMEM;
	}
	/* POSIX shared memory lands in the sandbox's own /tmp. */
	static const char *const links[][2] = {
		{ "/proc/self/fd", "dev/fd" }, { "/proc/self/fd/0", "dev/stdin" },
		{ "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
		{ "/tmp", "dev/shm" },
	};
	for (size_t i = 0; i < 5; i++)
		if (!view_add(&host_prep, RJ__MOP_SYMLINK, links[i][0], links[i][1]))
			return -ENOMEM;
	/* Device nodes are bound after the seal: writable, and not nodev. */
	for (size_t i = 0; i < 5; i++)
		if (!view_add(&host_binds, RJ__MOP_BINDFILE, dev_src[i], dev_dst[i]))
			return -ENOMEM;
	return build_proc_masks();
}

static bool host_view_get(void)
{
	pthread_mutex_lock(&cache_lock);
	if (!host_view_done && build_host_view() == 0)
		host_view_done = true;
	pthread_mutex_unlock(&cache_lock);
	return host_view_done;
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

static int bpf_get(const struct rj__inputs *in, struct sock_fprog *out, char *err, size_t errlen)
{
	int r = 0;
	pthread_mutex_lock(&cache_lock);
	struct bpf_entry *e = bpf_cache;
	while (e && !(e->net == in->net && same_ints(e->allow, e->nallow, in->allow, in->nallow) &&
		      same_ints(e->deny, e->ndeny, in->deny, in->ndeny)))
		e = e->next;
	if (!e) {
		struct rj__seccomp_opts o = { in->net, in->allow, in->nallow, in->deny, in->ndeny };
		e = calloc(1, sizeof *e);
		if (!e) {
			r = -ENOMEM;
			goto out;
		}
		e->allow = malloc((in->nallow + 1) * sizeof(int));
		e->deny = malloc((in->ndeny + 1) * sizeof(int));
		r = e->allow && e->deny ? rj__seccomp_build(&o, &e->prog, err, errlen) : -ENOMEM;
		if (r < 0) {
			free(e->allow);
			free(e->deny);
			free(e);
			goto out;
		}
		if (in->nallow)
			memcpy(e->allow, in->allow, in->nallow * sizeof(int));
		if (in->ndeny)
			memcpy(e->deny, in->deny, in->ndeny * sizeof(int));
		e->nallow = in->nallow, e->ndeny = in->ndeny, e->net = in->net;
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
	rj__inputs_free(&pol->in);
	free(pol->mops);
	free(pol);
}

/* The limits in force, and PATH for the program's lookup. */
static void fill_derived(struct rj__policy *pol)
{
	for (int i = 0; i < RJ_LIMIT__COUNT; i++)
		pol->limits[i] = rj__inputs_limit(&pol->in, (enum rj_limit)i);
	/* A workdir's disk bound is checked from time to time: a single file
	 * is bounded exactly, by the kernel. */
	if (pol->in.workdir && pol->limits[RJ_LIMIT_FSIZE] > pol->limits[RJ_LIMIT_DISK])
		pol->limits[RJ_LIMIT_FSIZE] = pol->limits[RJ_LIMIT_DISK];
	for (size_t i = 0; pol->in.env[i]; i++)
		if (!strncmp(pol->in.env[i], "PATH=", 5))
			pol->path_env = pol->in.env[i] + 5;
}

static bool in_writable(const char *box_rel)
{
	return !strncmp(box_rel, "box/", 4) || !strcmp(box_rel, "box") ||
	       !strncmp(box_rel, "tmp/", 4) || !strcmp(box_rel, "tmp");
}

static int append(struct view *v, const struct view *from, bool devices)
{
	for (size_t i = 0; i < from->n; i++) {
		if ((from->ops[i].kind == RJ__MOP_BINDFILE) != devices)
			continue;
		struct rj__mop *op = view_add(v, from->ops[i].kind, NULL, NULL);
		if (!op)
			return -ENOMEM;
		*op = from->ops[i];
	}
	return 0;
}

/* The system binds, the seal that makes the root and them read-only, and
 * the device nodes bound after it (writable, not nodev). */
static int append_sealed(struct view *v)
{
	if (append(v, &host_binds, false) < 0 || !view_add(v, RJ__MOP_SEAL, NULL, ""))
		return -ENOMEM;
	return append(v, &host_binds, true);
}

/* The mount plan: everything created in the root first, then the system
 * binds, one seal that makes all of it read-only, and then what stays
 * writable: the workspace, /tmp, the device nodes, the caller's mounts
 * and /proc, with its host-wide files masked. */
static int build_mops(struct rj__policy *pol)
{
	struct view v = { 0 };
	struct rj__mop *op;
	uint64_t disk = pol->limits[RJ_LIMIT_DISK];
	if (append(&v, &host_prep, false) < 0)
		goto nomem;
	for (size_t i = 0; i < pol->in.nmounts; i++)
		if (!in_writable(pol->in.mounts[i].box + 1) &&
		    !view_add(&v, RJ__MOP_DIR, NULL, pol->in.mounts[i].box + 1))
			goto nomem;
	if (append_sealed(&v) < 0)
		goto nomem;
	/* What follows is made anew for every run; what precedes is the same
	 * for every plan whose mounts lie in /box or /tmp, which the prepared
	 * root (root mode) holds already. */
	pol->run_mops = v.n;
	pol->prepared_ok = true;
	for (size_t i = 0; i < pol->in.nmounts; i++)
		if (!in_writable(pol->in.mounts[i].box + 1))
			pol->prepared_ok = false;
	if (!pol->in.workdir) {
		if (!(op = view_add(&v, RJ__MOP_TMPFS, NULL, "box")))
			goto nomem;
		op->arg = disk, op->mode = 0755;
	} else if (!(op = view_add(&v, RJ__MOP_BINDFD, NULL, "box"))) {
		goto nomem;
	} else {
		op->arg = UINT64_MAX; /* the workdir */
		op->flags = RJ_MOUNT_RW;
	}
	if (!(op = view_add(&v, RJ__MOP_TMPFS, NULL, "tmp")))
		goto nomem;
	op->arg = disk, op->mode = 01777;
	for (size_t i = 0; i < pol->in.nmounts; i++) {
		if (!(op = view_add(&v, RJ__MOP_BINDFD, NULL, pol->in.mounts[i].box + 1)))
			goto nomem;
		op->arg = i;
		op->flags = pol->in.mounts[i].flags;
	}
	if (!view_add(&v, RJ__MOP_PROC, NULL, "proc") || append(&v, &proc_masks, true) < 0)
		goto nomem;
	pol->mops = v.ops;
	pol->nmops = v.n;
	return 0;
nomem:
	free(v.ops);
	return -ENOMEM;
}

struct rj__policy *rj__policy_compile(const struct rj__inputs *in, char *err, size_t errlen)
{
	bool hv = host_view_get();
	struct rj__policy *pol = calloc(1, sizeof *pol);
	int r = -ENOMEM;
	if (!pol || !hv)
		goto fail;
	atomic_init(&pol->refs, 1);
	if ((r = rj__inputs_copy(&pol->in, in)) < 0)
		goto fail;
	fill_derived(pol);
	if ((r = build_mops(pol)) < 0)
		goto fail;
	if ((r = bpf_get(in, &pol->bpf, err, errlen)) < 0)
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

/* The part of the mount plan every plan shares: built once into the
 * prepared root of root mode. The array is the caller's to free. */
int rj__host_mops(struct rj__mop **ops, size_t *n)
{
	struct view v = { 0 };
	if (!host_view_get() || append(&v, &host_prep, false) < 0 || append_sealed(&v) < 0) {
		free(v.ops);
		return -ENOMEM;
	}
	*ops = v.ops;
	*n = v.n;
	return 0;
}
