/* Per-sandbox cgroups: one group per sandbox, taken from a pool that each
 * executor keeps, on cgroup v2 (the child lands in it atomically through
 * clone3's CLONE_INTO_CGROUP) or on cgroup v1 (the parent writes the child's
 * pid into each hierarchy before releasing it).
 *
 * Where the pool lives. Every hierarchy's pool parent, "ringjail-<pid>-<n>"
 * (n counts executors in this process), sits below ringjail's own cgroup as
 * /proc/self/cgroup names it, found through the mounts of /proc/self/mountinfo,
 * so that ringjail only ever touches what was given to it. v1 has no rule
 * against processes in inner groups, so this works wherever the caller may
 * mkdir. v2 hands controllers to children only of a group without processes
 * of its own (the root excepted), and ringjail itself sits in its own group;
 * so on v2 the pool goes below our group when that group already distributes
 * memory and pids or can be made to (the root cgroup, or a namespace root
 * set up that way), and otherwise beside it, in the parent, but only when
 * that parent was delegated to us (as an unprivileged user: we may mkdir
 * there at all; as root: systemd marked it with the "delegate" xattr), which
 * is the layout systemd's Delegate=yes with DelegateSubgroup= produces.
 * Anything else is refused with host->why saying how to set it up: ringjail
 * never creates groups in a tree that systemd manages.
 *
 * Pooling. Groups "0", "1", ... are made on demand and reused through a free
 * list; the first one is made at once, as a probe, so that the host flags say
 * only what was actually written. Counters that v1 can reset are reset at
 * acquire (max_usage_in_bytes, failcnt, cpuacct.usage); the others (v1
 * oom_kill and cpuacct.stat, v2 memory.events and cpu.stat) are read at
 * acquire and reported as differences. A group whose memory still holds more
 * than POOL_SLACK bytes when it comes back (page cache the sandbox read in
 * first, charged to it for as long as the pages live) is removed instead of
 * pooled: reusing it would inflate the next run's peak and shrink its limit,
 * and reclaiming it (force_empty, memory.reclaim) would evict a compiler or
 * an interpreter that the next run will need again, while a removed group
 * leaves its pages cached and uncharged to anyone running later.
 *
 * v2 peak. Since Linux 6.12 a write to memory.peak resets the peak only as
 * seen through the file descriptor that wrote it. So each acquire opens
 * memory.peak, writes to it, and keeps that fd until release, when it is
 * closed: a running v2 sandbox holds two fds (this one and the O_PATH fd for
 * CLONE_INTO_CGROUP), a pooled one none, and v1 groups none at all (each
 * access opens, reads or writes, and closes a file). Older kernels refuse the
 * write; their memory.peak is then reported only from a fresh group, and so
 * that every group is fresh there, groups are not pooled on such kernels.
 *
 * Killing. v2 has cgroup.kill (5.14). Without it, the pids in cgroup.procs
 * are signalled, and read again until none is left (a process may fork
 * between the read and the kill). A pid read there could in theory exit and
 * be reused between the read and the kill; the window is a few microseconds
 * and the sandbox's processes are reaped by the init of their own pid
 * namespace, never by us. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* v1 hierarchies we use; on v2 only the H_MEM slot holds the pool. */
enum { H_MEM, H_PIDS, H_CPU, H_N, H_V2 = H_N };

#define POOL_SLACK   (2ull << 20)
#define UNKNOWN      UINT64_MAX    /* no limit written yet */
#define BUSY_WAIT_NS (100 * 1000000LL)

struct rj__cg {
	struct rj__cgroups *cgs;
	struct rj__cg *next;          /* free list */
	unsigned id;
	bool fresh;                   /* never ran anything: counters all zero */
	bool peak_ok;                 /* mem peak valid for this run */
	int dirfd, peakfd;            /* v2, while acquired; else -1 */
	uint64_t mem_set, pids_set;   /* limits last written (0 = none) */
	uint64_t base_oom, base_max;  /* counters read at acquire */
	uint64_t base_user, base_sys, base_total;
};

struct rj__cgroups {
	bool v2, memsw, cpu_split, swap_max, kill, peak_noreset;
	int pool[H_N];                /* O_PATH fd of each pool parent, or -1 */
	char *ppath[H_N];             /* its path, to remove it at the end */
	struct rj__cg *free;
	struct rj__cg **grp;          /* every live group by id */
	unsigned ngrp;
	long hz;                      /* USER_HZ, for cpuacct.stat */
};

static atomic_uint executor_seq;

/* ---- small file helpers ---------------------------------------------- */

static int write_at(int dfd, const char *path, const char *s)
{
	size_t len = strlen(s);
	int fd = openat(dfd, path, O_WRONLY | O_CLOEXEC);
	ssize_t w;
	int r;

	if (fd < 0)
		return -errno;
	w = write(fd, s, len);
	r = w < 0 ? -errno : (size_t)w == len ? 0 : -EIO;
	close(fd);
	return r;
}

/* Reads a small file whole (cgroup files produce it in one read). */
static int read_at(int dfd, const char *path, char *buf, size_t n)
{
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t got;
	int r;

	if (fd < 0)
		return -errno;
	got = read(fd, buf, n - 1);
	r = got < 0 ? -errno : 0;
	buf[got < 0 ? 0 : got] = '\0';
	close(fd);
	return r;
}

/* The value of "key value" lines (cpu.stat, memory.events, oom_control). */
static int key_u64(const char *text, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			*v = strtoull(p + kl + 1, NULL, 10);
			return 0;
		}
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -ENOENT;
}

/* Whether word appears in list, split at any of seps. */
static bool has_word(const char *list, const char *word, const char *seps)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p; p += strcspn(p, seps), p += !!*p)
		if (strcspn(p, seps) == wl && !strncmp(p, word, wl))
			return true;
	return false;
}

static void gpath(char *buf, size_t n, unsigned id, const char *file)
{
	snprintf(buf, n, "%u/%s", id, file);
}

static int gwrite(const struct rj__cg *cg, int h, const char *file,
		  const char *val)
{
	char p[64];

	gpath(p, sizeof p, cg->id, file);
	return write_at(cg->cgs->pool[h], p, val);
}

static int gread(const struct rj__cg *cg, int h, const char *file, char *buf,
		 size_t n)
{
	char p[64];

	gpath(p, sizeof p, cg->id, file);
	return read_at(cg->cgs->pool[h], p, buf, n);
}

static int gread_u64(const struct rj__cg *cg, int h, const char *file,
		     uint64_t *v)
{
	char buf[64];
	int r = gread(cg, h, file, buf, sizeof buf);

	if (!r)
		*v = strtoull(buf, NULL, 10);
	return r;
}

static int gread_key(const struct rj__cg *cg, int h, const char *file,
		     const char *key, uint64_t *v)
{
	char buf[1024];
	int r = gread(cg, h, file, buf, sizeof buf);

	return r ? r : key_u64(buf, key, v);
}

/* Hierarchy slot holding the controller h: on v2 every one is in H_MEM. */
static int slot(const struct rj__cgroups *cgs, int h)
{
	return cgs->v2 ? H_MEM : h;
}

static bool have(const struct rj__cgroups *cgs, int h)
{
	return cgs->pool[slot(cgs, h)] >= 0;
}

/* Counts the pids in a cgroup.procs file, sending sig to each when not 0. */
static int scan_procs(int dfd, const char *path, int sig)
{
	char buf[4096];
	size_t have_n = 0;
	int n = 0, r = 0, fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got = read(fd, buf + have_n, sizeof buf - 1 - have_n);
		char *p = buf, *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : 0;
			break;
		}
		have_n += (size_t)got;
		buf[have_n] = '\0';
		for (; (nl = strchr(p, '\n')); p = nl + 1) {
			pid_t pid = (pid_t)strtol(p, NULL, 10);

			if (pid <= 0)
				continue;
			n++;
			if (sig)
				kill(pid, sig);
		}
		have_n = (size_t)(buf + have_n - p);
		memmove(buf, p, have_n);
	}
	close(fd);
	return r ? r : n;
}

/* Processes in the group, over every hierarchy it spans. */
static int grp_procs(const struct rj__cg *cg, int sig)
{
	char p[64];
	int n = 0;

	gpath(p, sizeof p, cg->id, "cgroup.procs");
	for (int h = 0; h < H_N; h++) {
		int r = cg->cgs->pool[h] < 0 ? 0 : scan_procs(cg->cgs->pool[h], p, sig);

		if (r < 0 && r != -ENOENT)
			return r;
		n += r > 0 ? r : 0;
	}
	return n;
}

/* ---- finding our cgroups ---------------------------------------------- */

/* Where a hierarchy is mounted, and our group's path in it. */
struct where {
	char *mnt, *root, *own;
};

/* mountinfo escapes blanks and backslashes as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*d = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

static const char *const ctrl_name[H_N] = { "memory", "pids", "cpuacct" };

/* One mountinfo line: "id parent dev root mountpoint opts... - type src sopts". */
static void mount_line(char *line, struct where w[H_N + 1])
{
	char *sep = strstr(line, " - "), *f[5], *save = NULL, *type, *sopts;
	int i, slot_i = -1;

	if (!sep)
		return;
	*sep = '\0';
	type = strtok_r(sep + 3, " \n", &save);
	strtok_r(NULL, " \n", &save);
	sopts = strtok_r(NULL, " \n", &save);
	if (!type || !sopts)
		return;
	if (!strcmp(type, "cgroup2"))
		slot_i = H_V2;
	for (i = 0; i < H_N && !strcmp(type, "cgroup"); i++)
		if (has_word(sopts, ctrl_name[i], ","))
			slot_i = i;
	if (slot_i < 0 || w[slot_i].mnt)
		return;
	save = NULL;
	for (i = 0; i < 5 && (f[i] = strtok_r(i ? NULL : line, " ", &save)); i++)
		;
	if (i < 5)
		return;
	unescape(f[3]);
	unescape(f[4]);
	w[slot_i].root = strdup(f[3]);
	w[slot_i].mnt = strdup(f[4]);
}

/* One /proc/self/cgroup line: "id:controllers:path". */
static void cgroup_line(char *line, struct where w[H_N + 1])
{
	char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	int slot_i = -1;

	if (!c2)
		return;
	*c2 = '\0';
	c2[1 + strcspn(c2 + 1, "\n")] = '\0';
	if (!strcmp(line, "0:") && c1[1] == '\0')
		slot_i = H_V2;
	for (int i = 0; i < H_N && slot_i < 0; i++)
		if (has_word(c1 + 1, ctrl_name[i], ","))
			slot_i = i;
	if (slot_i >= 0 && !w[slot_i].own)
		w[slot_i].own = strdup(c2 + 1);
}

static void read_lines(const char *file, void (*fn)(char *, struct where *),
		       struct where *w)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) > 0)
		fn(line, w);
	free(line);
	fclose(f);
}

/* Our group's directory in a hierarchy, or NULL when it is not visible
 * through the mount (outside the mount's root, or in another namespace). */
static char *own_dir(const struct where *w)
{
	size_t rl;
	const char *rel;
	char *out;

	if (!w->mnt || !w->root || !w->own || strstr(w->own, "/.."))
		return NULL;
	rl = strcmp(w->root, "/") ? strlen(w->root) : 0;
	if (strncmp(w->own, w->root, rl) || (w->own[rl] && w->own[rl] != '/'))
		return NULL;
	rel = w->own + rl;
	if (!strcmp(rel, "/"))
		rel = "";
	return asprintf(&out, "%s%s", w->mnt, rel) < 0 ? NULL : out;
}

/* ---- pool parents and groups ----------------------------------------- */

static int pool_make(struct rj__cgroups *cgs, int h, const char *base,
		     unsigned *seq)
{
	for (int tries = 0; tries < 8; tries++) {
		char *p;
		int fd, r;

		if (asprintf(&p, "%s/ringjail-%d-%u", base, (int)getpid(), *seq) < 0)
			return -ENOMEM;
		if (mkdir(p, 0755) == 0) {
			fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0) {
				cgs->pool[h] = fd;
				cgs->ppath[h] = p;
				return 0;
			}
			r = -errno;
			rmdir(p);
		} else {
			r = -errno;
		}
		free(p);
		if (r != -EEXIST)
			return r;
		/* A stale pool of an earlier process with our pid: skip it. */
		*seq = atomic_fetch_add(&executor_seq, 1);
	}
	return -EEXIST;
}

static void pool_drop(struct rj__cgroups *cgs, int h)
{
	if (cgs->pool[h] < 0)
		return;
	close(cgs->pool[h]);
	rmdir(cgs->ppath[h]);
	free(cgs->ppath[h]);
	cgs->pool[h] = -1;
	cgs->ppath[h] = NULL;
}

/* Removes the group's directory in each hierarchy; false if one stays. */
static bool grp_rmdir(struct rj__cgroups *cgs, unsigned id)
{
	char name[16];
	bool ok = true;

	snprintf(name, sizeof name, "%u", id);
	for (int h = 0; h < H_N; h++)
		if (cgs->pool[h] >= 0 && unlinkat(cgs->pool[h], name, AT_REMOVEDIR) &&
		    errno != ENOENT)
			ok = false;
	return ok;
}

static void grp_close(struct rj__cg *cg)
{
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	if (cg->peakfd >= 0)
		close(cg->peakfd);
	cg->dirfd = cg->peakfd = -1;
}

/* Makes group `id` in every hierarchy in use, with the settings that never
 * change: no swap for its memory. */
static int grp_new(struct rj__cgroups *cgs, unsigned id, struct rj__cg **out)
{
	struct rj__cg *cg;
	char name[16];

	if (id >= cgs->ngrp) {
		struct rj__cg **g = realloc(cgs->grp, (id + 64) * sizeof *g);

		if (!g)
			return -ENOMEM;
		memset(g + cgs->ngrp, 0, (id + 64 - cgs->ngrp) * sizeof *g);
		cgs->grp = g;
		cgs->ngrp = id + 64;
	}
	cg = calloc(1, sizeof *cg);
	if (!cg)
		return -ENOMEM;
	*cg = (struct rj__cg){ .cgs = cgs, .id = id, .fresh = true, .dirfd = -1,
			       .peakfd = -1, .mem_set = UNKNOWN, .pids_set = UNKNOWN };
	snprintf(name, sizeof name, "%u", id);
	for (int h = 0; h < H_N; h++) {
		if (cgs->pool[h] >= 0 && mkdirat(cgs->pool[h], name, 0755) &&
		    errno != EEXIST) {
			int r = -errno;

			grp_rmdir(cgs, id);
			free(cg);
			return r;
		}
	}
	if (cgs->v2 && cgs->swap_max)
		gwrite(cg, H_MEM, "memory.swap.max", "0");
	else if (!cgs->v2 && cgs->pool[H_MEM] >= 0)
		gwrite(cg, H_MEM, "memory.swappiness", "0");
	cgs->grp[id] = cg;
	*out = cg;
	return 0;
}

static int grp_new_any(struct rj__cgroups *cgs, struct rj__cg **out)
{
	unsigned id = 0;

	while (id < cgs->ngrp && cgs->grp[id])
		id++;
	return grp_new(cgs, id, out);
}

/* Kills what is in the group and waits, up to the deadline, for it to
 * empty; true once it is empty. */
static bool grp_drain(struct rj__cg *cg, const struct timespec *deadline)
{
	for (;;) {
		struct timespec now, nap = { 0, 2000000 };
		int n = grp_procs(cg, 0);

		if (n <= 0)
			return n == 0;
		rj__cg_kill(cg);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline->tv_sec ||
		    (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec))
			return false;
		nanosleep(&nap, NULL);
	}
}

static struct timespec deadline_in(long long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	ns += t.tv_nsec;
	t.tv_sec += (time_t)(ns / 1000000000LL);
	t.tv_nsec = (long)(ns % 1000000000LL);
	return t;
}

/* Forgets a group whose directories are gone; one that cannot be removed
 * stays listed, out of the pool, for rj__cgroups_free to try again. */
static void grp_drop(struct rj__cgroups *cgs, struct rj__cg *cg)
{
	grp_close(cg);
	if (!grp_rmdir(cgs, cg->id))
		return;
	cgs->grp[cg->id] = NULL;
	free(cg);
}

/* ---- detection --------------------------------------------------------- */

static bool ctrls_in(const char *dir, const char *file)
{
	char buf[256], *p;
	int r;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return false;
	r = read_at(AT_FDCWD, p, buf, sizeof buf);
	free(p);
	return !r && has_word(buf, "memory", " \n") && has_word(buf, "pids", " \n");
}

/* Gives the children of dir memory and pids, and cpu where it may. */
static int enable_ctrls(const char *dir)
{
	char *p;
	int r;

	if (asprintf(&p, "%s/cgroup.subtree_control", dir) < 0)
		return -ENOMEM;
	r = write_at(AT_FDCWD, p, "+memory +pids");
	if (!r)
		write_at(AT_FDCWD, p, "+cpu");
	free(p);
	return r;
}

/* A parent we may put the pool in: for an unprivileged user, permissions
 * decide (the mkdir fails unless it was delegated); root may write anywhere,
 * so it needs systemd's mark of a delegated group. */
static bool delegated(const char *dir)
{
	char v[4] = "";

	if (geteuid() != 0)
		return true;
	if (getxattr(dir, "trusted.delegate", v, sizeof v) <= 0 &&
	    getxattr(dir, "user.delegate", v, sizeof v) <= 0)
		return false;
	return v[0] == '1';
}

/* The v2 group to put the pool parent in (see the top of the file). */
static char *v2_base(const char *own, bool top, char *why, size_t n)
{
	int r;
	char *up;

	if (ctrls_in(own, "cgroup.subtree_control"))
		return strdup(own);
	r = enable_ctrls(own);
	if (!r)
		return strdup(own);
	if (r == -EBUSY && !top && (up = strdup(own))) {
		*strrchr(up, '/') = '\0';
		if (ctrls_in(up, "cgroup.subtree_control") && delegated(up))
			return up;
		free(up);
	}
	if (r == -EBUSY)
		snprintf(why, n, "cgroup v2: %s holds processes, so no group below "
			 "it may have controllers; run ringjail in a leaf of a "
			 "delegated cgroup (systemd: Delegate=yes plus "
			 "DelegateSubgroup=, or move its processes into a leaf)", own);
	else
		snprintf(why, n, "cgroup v2: cannot enable memory and pids below "
			 "%s (%s): run as root or in a cgroup delegated to this user "
			 "(systemd-run --user -p Delegate=yes)", own, strerror(-r));
	return NULL;
}

static bool file_at(int dfd, const char *path)
{
	struct stat st;

	return fstatat(dfd, path, &st, 0) == 0;
}

/* Pure v2: needs memory and pids offered to our group. */
static int v2_setup(struct rj__cgroups *cgs, const struct where *w,
		    struct rj__cg_host *host, unsigned *seq)
{
	char *own = own_dir(w), *base;
	int r = -EOPNOTSUPP;

	if (!own || !ctrls_in(own, "cgroup.controllers")) {
		free(own);
		return -EOPNOTSUPP;
	}
	base = v2_base(own, !strcmp(w->own, w->root), host->why, sizeof host->why);
	if (base)
		r = pool_make(cgs, H_MEM, base, seq);
	if (!r && (r = enable_ctrls(cgs->ppath[H_MEM])))
		pool_drop(cgs, H_MEM);
	if (base && r)
		snprintf(host->why, sizeof host->why, "cgroup v2: cannot make the "
			 "sandbox pool below %s (%s): delegate that cgroup to this "
			 "user", base, strerror(-r));
	free(own);
	free(base);
	return r;
}

/* Makes group 0 in slot h and writes the file the hierarchy is for. */
static int probe(struct rj__cgroups *cgs, int h, struct rj__cg *cg)
{
	static const char *const file[H_N] = { "memory.limit_in_bytes",
					       "pids.max", "cpuacct.usage" };
	static const char *const val[H_N] = { "-1", "max", "0" };
	int r;

	if (mkdirat(cgs->pool[h], "0", 0755) && errno != EEXIST)
		return -errno;
	if (cgs->v2) {
		r = gwrite(cg, h, "memory.max", "max");
		if (!r)
			r = gwrite(cg, h, "pids.max", "max");
	} else {
		r = gwrite(cg, h, file[h], val[h]);
	}
	if (r)
		unlinkat(cgs->pool[h], "0", AT_REMOVEDIR);
	return r;
}

/* Probes each pool with group 0 and fills the host flags from it. */
static void probe_all(struct rj__cgroups *cgs, struct rj__cg_host *host)
{
	struct rj__cg tmp = { .cgs = cgs, .id = 0 }, *cg;
	char buf[512];

	for (int h = 0; h < H_N; h++) {
		int r = cgs->pool[h] >= 0 ? probe(cgs, h, &tmp) : 0;

		if (r && cgs->v2)
			snprintf(host->why, sizeof host->why, "cgroup v2: cannot set "
				 "limits in %s (%s)", cgs->ppath[h], strerror(-r));
		if (r)
			pool_drop(cgs, h);
	}
	if (cgs->v2 && cgs->pool[H_MEM] >= 0) {
		cgs->swap_max = !gwrite(&tmp, H_MEM, "memory.swap.max", "0");
		cgs->kill = file_at(cgs->pool[H_MEM], "0/cgroup.kill");
		host->mem = host->pids = true;
		host->cpu = !gread(&tmp, H_MEM, "cpu.stat", buf, sizeof buf);
	} else {
		cgs->v2 = false;
		if (cgs->pool[H_MEM] >= 0)
			cgs->memsw = !gwrite(&tmp, H_MEM,
					     "memory.memsw.limit_in_bytes", "-1");
		cgs->cpu_split = cgs->pool[H_CPU] >= 0 &&
				 file_at(cgs->pool[H_CPU], "0/cpuacct.usage_user");
		host->mem = cgs->pool[H_MEM] >= 0;
		host->pids = cgs->pool[H_PIDS] >= 0;
		host->cpu = cgs->pool[H_CPU] >= 0;
	}
	host->v2 = cgs->v2 && host->mem;
	host->kill = host->v2 && cgs->kill;
	host->memsw = cgs->memsw;
	if ((host->mem || host->pids || host->cpu) && grp_new(cgs, 0, &cg) == 0) {
		cg->next = cgs->free;
		cgs->free = cg;
	}
}

static void v1_setup(struct rj__cgroups *cgs, struct where w[H_N + 1],
		     unsigned *seq)
{
	for (int h = 0; h < H_N; h++) {
		char *own = own_dir(&w[h]);

		if (own)
			pool_make(cgs, h, own, seq);
		free(own);
	}
}

static void why_missing(struct rj__cg_host *host)
{
	char what[32] = "";

	if (host->mem && host->pids) {
		/* A v2 attempt that failed before v1 took over is no news. */
		host->why[0] = '\0';
		if (!host->v2 && !host->memsw)
			snprintf(host->why, sizeof host->why, "cgroup v1 has no "
				 "memory.memsw.limit_in_bytes (boot with "
				 "swapaccount=1), so swap use is not bounded");
		return;
	}
	if (host->why[0])
		return;
	snprintf(what, sizeof what, "%s%s%s", host->mem ? "" : "memory",
		 !host->mem && !host->pids ? " and " : "",
		 host->pids ? "" : "pids");
	snprintf(host->why, sizeof host->why, "no writable %s cgroup: run as root "
		 "or delegate a cgroup subtree to this user (cgroup v2: systemd "
		 "Delegate=yes; v1: chown a memory and pids group to the user)", what);
}

int rj__cgroups_new(struct rj__cgroups **out, struct rj__cg_host *host)
{
	struct where w[H_N + 1] = { { 0 } };
	struct rj__cgroups *cgs = calloc(1, sizeof *cgs);
	unsigned seq = atomic_fetch_add(&executor_seq, 1);

	*out = NULL;
	memset(host, 0, sizeof *host);
	if (!cgs)
		return -ENOMEM;
	for (int h = 0; h < H_N; h++)
		cgs->pool[h] = -1;
	cgs->hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
	read_lines("/proc/self/mountinfo", mount_line, w);
	read_lines("/proc/self/cgroup", cgroup_line, w);
	cgs->v2 = v2_setup(cgs, &w[H_V2], host, &seq) == 0;
	if (!cgs->v2)
		v1_setup(cgs, w, &seq);
	probe_all(cgs, host);
	why_missing(host);
	for (int i = 0; i <= H_N; i++) {
		free(w[i].mnt);
		free(w[i].root);
		free(w[i].own);
	}
	*out = cgs;
	return 0;
}

void rj__cgroups_free(struct rj__cgroups *cgs)
{
	struct timespec dl;

	if (!cgs)
		return;
	for (unsigned id = 0; id < cgs->ngrp; id++)
		if (cgs->grp[id] && grp_procs(cgs->grp[id], 0) > 0)
			rj__cg_kill(cgs->grp[id]);
	dl = deadline_in(BUSY_WAIT_NS);
	for (unsigned id = 0; id < cgs->ngrp; id++) {
		struct rj__cg *cg = cgs->grp[id];

		if (!cg)
			continue;
		grp_close(cg);
		grp_drain(cg, &dl);
		grp_rmdir(cgs, id);
		free(cg);
	}
	for (int h = 0; h < H_N; h++)
		pool_drop(cgs, h);
	free(cgs->grp);
	free(cgs);
}

/* ---- one run ----------------------------------------------------------- */

/* v1 insists on memsw >= limit at every moment, so which of the two goes
 * first depends on whether the limit goes up or down: try the memory limit
 * first, and when the kernel refuses it (it would exceed memsw), raise memsw
 * first instead. */
static int v1_set_mem(struct rj__cg *cg, const char *val)
{
	int r = gwrite(cg, H_MEM, "memory.limit_in_bytes", val);

	if (!cg->cgs->memsw)
		return r;
	if (r == -EINVAL) {
		r = gwrite(cg, H_MEM, "memory.memsw.limit_in_bytes", val);
		return r ? r : gwrite(cg, H_MEM, "memory.limit_in_bytes", val);
	}
	return r ? r : gwrite(cg, H_MEM, "memory.memsw.limit_in_bytes", val);
}

/* Writes the limits that differ from the ones the group already has. */
static int set_limits(struct rj__cg *cg, uint64_t mem, uint64_t pids)
{
	struct rj__cgroups *cgs = cg->cgs;
	char v[32];
	int r = 0;

	if (have(cgs, H_MEM) && mem != cg->mem_set) {
		cg->mem_set = UNKNOWN;
		snprintf(v, sizeof v, mem ? "%llu" : cgs->v2 ? "max" : "-1",
			 (unsigned long long)mem);
		r = cgs->v2 ? gwrite(cg, H_MEM, "memory.max", v) : v1_set_mem(cg, v);
		if (r)
			return r;
		cg->mem_set = mem;
	}
	if (have(cgs, H_PIDS) && pids != cg->pids_set) {
		cg->pids_set = UNKNOWN;
		snprintf(v, sizeof v, pids ? "%llu" : "max", (unsigned long long)pids);
		r = gwrite(cg, slot(cgs, H_PIDS), "pids.max", v);
		if (!r)
			cg->pids_set = pids;
	}
	return r;
}

/* v1: reset what can be reset, note the rest. A fresh group starts at 0. */
static int v1_begin(struct rj__cg *cg)
{
	struct rj__cgroups *cgs = cg->cgs;
	char buf[128];
	int r = 0;

	cg->base_oom = cg->base_user = cg->base_sys = 0;
	cg->peak_ok = have(cgs, H_MEM);
	if (cg->fresh)
		return 0;
	if (have(cgs, H_MEM)) {
		r = gwrite(cg, H_MEM, "memory.max_usage_in_bytes", "0");
		if (!r)
			r = gwrite(cg, H_MEM, "memory.failcnt", "0");
		if (!r)
			r = gread_key(cg, H_MEM, "memory.oom_control", "oom_kill",
				      &cg->base_oom);
	}
	if (!r && have(cgs, H_CPU))
		r = gwrite(cg, H_CPU, "cpuacct.usage", "0");
	if (!r && have(cgs, H_CPU) && !cgs->cpu_split &&
	    !(r = gread(cg, H_CPU, "cpuacct.stat", buf, sizeof buf))) {
		key_u64(buf, "user", &cg->base_user);
		key_u64(buf, "system", &cg->base_sys);
	}
	return r;
}

/* v2: the reset of memory.peak holds only for the fd that wrote it, so that
 * fd stays open until release (see the top of the file). */
static int v2_peak_open(struct rj__cg *cg)
{
	char p[64];
	int fd;

	gpath(p, sizeof p, cg->id, "memory.peak");
	fd = openat(cg->cgs->pool[H_MEM], p, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && write(fd, "reset\n", 6) == 6) {
		cg->peak_ok = true;
	} else {
		if (fd >= 0)
			close(fd);
		fd = openat(cg->cgs->pool[H_MEM], p, O_RDONLY | O_CLOEXEC);
		cg->cgs->peak_noreset = fd >= 0;
		cg->peak_ok = fd >= 0 && cg->fresh;
	}
	cg->peakfd = fd;
	return 0;
}

static int v2_begin(struct rj__cg *cg)
{
	char p[16], buf[1024];
	int r = 0;

	snprintf(p, sizeof p, "%u", cg->id);
	cg->dirfd = openat(cg->cgs->pool[H_MEM], p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg->dirfd < 0)
		return -errno;
	v2_peak_open(cg);
	cg->base_oom = cg->base_max = 0;
	cg->base_user = cg->base_sys = cg->base_total = 0;
	if (cg->fresh)
		return 0;
	r = gread(cg, H_MEM, "memory.events", buf, sizeof buf);
	if (!r) {
		key_u64(buf, "oom_kill", &cg->base_oom);
		key_u64(buf, "max", &cg->base_max);
		r = gread(cg, H_MEM, "cpu.stat", buf, sizeof buf);
	}
	if (!r) {
		key_u64(buf, "usage_usec", &cg->base_total);
		key_u64(buf, "user_usec", &cg->base_user);
		key_u64(buf, "system_usec", &cg->base_sys);
	}
	return r;
}

int rj__cg_acquire(struct rj__cgroups *cgs, uint64_t mem_bytes, uint64_t pids,
		   struct rj__cg **out)
{
	struct rj__cg *cg = cgs->free;
	int r;

	*out = NULL;
	if (!have(cgs, H_MEM) && !have(cgs, H_PIDS) && !have(cgs, H_CPU))
		return -EOPNOTSUPP;
	if (cg)
		cgs->free = cg->next;
	else if ((r = grp_new_any(cgs, &cg)))
		return r;
	cg->next = NULL;
	r = set_limits(cg, mem_bytes, pids);
	if (!r)
		r = cgs->v2 ? v2_begin(cg) : v1_begin(cg);
	if (r) {
		grp_drop(cgs, cg);
		return r;
	}
	*out = cg;
	return 0;
}

int rj__cg_v2_fd(const struct rj__cg *cg)
{
	return cg && cg->cgs->v2 ? cg->dirfd : -1;
}

int rj__cg_attach(struct rj__cg *cg, pid_t pid)
{
	char v[24];

	if (cg->cgs->v2)
		return 0;
	snprintf(v, sizeof v, "%d", (int)pid);
	for (int h = 0; h < H_N; h++) {
		int r = have(cg->cgs, h) ? gwrite(cg, h, "cgroup.procs", v) : 0;

		if (r)
			return r;
	}
	return 0;
}

static uint64_t delta(uint64_t now, uint64_t base)
{
	return now > base ? now - base : 0;
}

int rj__cg_cpu_ns(struct rj__cg *cg, uint64_t *ns)
{
	uint64_t v = 0;
	int r;

	if (!have(cg->cgs, H_CPU))
		return -EOPNOTSUPP;
	if (!cg->cgs->v2)
		return gread_u64(cg, H_CPU, "cpuacct.usage", ns);
	r = gread_key(cg, H_MEM, "cpu.stat", "usage_usec", &v);
	*ns = r ? 0 : delta(v, cg->base_total) * 1000;
	return r;
}

static int v1_cpu(struct rj__cg *cg, struct rj__cg_stats *st)
{
	uint64_t u = 0, s = 0;
	char buf[128];
	int r = gread_u64(cg, H_CPU, "cpuacct.usage", &st->cpu_total_ns);

	if (!r && cg->cgs->cpu_split) {
		r = gread_u64(cg, H_CPU, "cpuacct.usage_user", &st->cpu_user_ns);
		if (!r)
			r = gread_u64(cg, H_CPU, "cpuacct.usage_sys", &st->cpu_sys_ns);
	} else if (!r && !(r = gread(cg, H_CPU, "cpuacct.stat", buf, sizeof buf))) {
		/* Ticks of USER_HZ, only split the exact total roughly. */
		key_u64(buf, "user", &u);
		key_u64(buf, "system", &s);
		st->cpu_user_ns = delta(u, cg->base_user) * (1000000000ull / cg->cgs->hz);
		st->cpu_sys_ns = delta(s, cg->base_sys) * (1000000000ull / cg->cgs->hz);
	}
	return r;
}

static int v1_stats(struct rj__cg *cg, struct rj__cg_stats *st)
{
	uint64_t oom = 0;
	int r = 0;

	if (have(cg->cgs, H_MEM)) {
		r = gread_u64(cg, H_MEM, "memory.max_usage_in_bytes", &st->mem_peak_bytes);
		if (!r)
			r = gread_u64(cg, H_MEM, "memory.failcnt", &st->mem_failcnt);
		if (!r)
			r = gread_key(cg, H_MEM, "memory.oom_control", "oom_kill", &oom);
		st->oom_kills = delta(oom, cg->base_oom);
	}
	if (!r && have(cg->cgs, H_CPU))
		r = v1_cpu(cg, st);
	return r;
}

static int v2_stats(struct rj__cg *cg, struct rj__cg_stats *st)
{
	uint64_t v = 0;
	char buf[1024];
	ssize_t got;
	int r = gread(cg, H_MEM, "memory.events", buf, sizeof buf);

	if (!r) {
		key_u64(buf, "oom_kill", &v);
		st->oom_kills = delta(v, cg->base_oom);
		v = 0;
		key_u64(buf, "max", &v);
		st->mem_failcnt = delta(v, cg->base_max);
		r = gread(cg, H_MEM, "cpu.stat", buf, sizeof buf);
	}
	if (!r) {
		v = 0;
		key_u64(buf, "usage_usec", &v);
		st->cpu_total_ns = delta(v, cg->base_total) * 1000;
		v = 0;
		key_u64(buf, "user_usec", &v);
		st->cpu_user_ns = delta(v, cg->base_user) * 1000;
		v = 0;
		key_u64(buf, "system_usec", &v);
		st->cpu_sys_ns = delta(v, cg->base_sys) * 1000;
	}
	/* pread at 0 makes the kernel print the file again, through the fd
	 * whose write reset the peak. */
	if (!r && cg->peak_ok && cg->peakfd >= 0) {
		got = pread(cg->peakfd, buf, sizeof buf - 1, 0);
		buf[got > 0 ? got : 0] = '\0';
		st->mem_peak_bytes = got > 0 ? strtoull(buf, NULL, 10) : 0;
	}
	return r;
}

int rj__cg_stats(struct rj__cg *cg, struct rj__cg_stats *st)
{
	memset(st, 0, sizeof *st);
	return cg->cgs->v2 ? v2_stats(cg, st) : v1_stats(cg, st);
}

int rj__cg_kill(struct rj__cg *cg)
{
	int n = 0;

	if (cg->cgs->v2 && cg->cgs->kill)
		return gwrite(cg, H_MEM, "cgroup.kill", "1");
	/* Without cgroup.kill, a process may fork between our read of
	 * cgroup.procs and its SIGKILL: read again until a pass finds nobody
	 * or only the dying, bounded so that a stuck exit cannot hold us. */
	for (int pass = 0; pass < 16; pass++) {
		n = grp_procs(cg, SIGKILL);
		if (n <= 0)
			break;
	}
	return n < 0 ? n : 0;
}

/* Memory still charged to an empty group (page cache, kernel objects). */
static uint64_t leftover(struct rj__cg *cg)
{
	uint64_t v = 0;

	if (!have(cg->cgs, H_MEM))
		return 0;
	if (gread_u64(cg, H_MEM, cg->cgs->v2 ? "memory.current" :
		      "memory.usage_in_bytes", &v))
		return UINT64_MAX;
	return v;
}

void rj__cg_release(struct rj__cgroups *cgs, struct rj__cg *cg)
{
	struct timespec dl;

	if (!cg)
		return;
	grp_close(cg);
	cg->fresh = false;
	if (grp_procs(cg, 0) != 0) {
		dl = deadline_in(BUSY_WAIT_NS);
		if (!grp_drain(cg, &dl))
			return;   /* still busy: out of the pool, freed at the end */
	}
	if ((cgs->v2 && cgs->peak_noreset) || leftover(cg) > POOL_SLACK) {
		grp_drop(cgs, cg);
		return;
	}
	cg->next = cgs->free;
	cgs->free = cg;
}
