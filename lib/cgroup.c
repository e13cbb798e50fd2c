/* Per-sandbox cgroups, pooled per executor: cgroup v2 (the child lands in
 * its group atomically through clone3's CLONE_INTO_CGROUP) or cgroup v1 (the
 * parent writes the child's pid into each hierarchy before letting it go on).
 * This file is the pool, and what both versions share: finding our groups,
 * the pool parents, groups, limits, killing. What differs between them is in
 * cgroup_v1.c and cgroup_v2.c.
 *
 * Where the pool lives. Each hierarchy's pool parent, "ringjail-<pid>-<n>"
 * (n counts this process's executors), sits below ringjail's own cgroup as
 * /proc/self/cgroup names it, found through /proc/self/mountinfo: ringjail
 * touches only what was given to it. v1 allows processes in inner groups, so
 * any group we may mkdir in will do; v2 does not, which leaves fewer places
 * (cgroup_v2.c says which). Anything else is refused with host->why saying
 * what to do: no groups in trees systemd manages.
 *
 * Pooling. Groups "0", "1", ... are made when the pool is empty and reused;
 * group 0 is made at once as a probe, so the host flags say only what could
 * be written. Counters v1 can reset are reset at acquire; the others (v1
 * oom_kill and cpuacct.stat, v2 memory.events and cpu.stat) are read then and
 * reported as differences. A group with more than POOL_SLACK bytes still
 * charged when it comes back (page cache the sandbox read first stays
 * charged to it) is removed, not pooled: reused, it would inflate the next
 * peak and shrink the next limit; reclaimed (force_empty, memory.reclaim), it
 * would evict the compiler or interpreter the next run needs again, while a
 * removed group leaves those pages cached.
 *
 * Killing. v2 has cgroup.kill (5.14). Otherwise the pids in cgroup.procs are
 * signalled and the file read again, as a process may fork between the read
 * and the signal. A listed pid could be reaped and reused in between; the
 * window is microseconds, and the sandbox's own pid namespace init reaps its
 * processes, not us. */
#include "cgroup_priv.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POOL_SLACK (2ull << 20)
#define UNKNOWN    UINT64_MAX     /* no limit written yet */
#define DRAIN_MS   100            /* how long a busy group may take to empty */

static atomic_uint executor_seq;

/* ---- files ------------------------------------------------------------- */

int rj__cg_write_at(int dfd, const char *path, const char *s)
{
	size_t len = strlen(s);
	int r, fd = openat(dfd, path, O_WRONLY | O_CLOEXEC);
	ssize_t w;

	if (fd < 0)
		return -errno;
	/* v1 memory resizes reclaim and give up with EINTR when a signal
	 * looks pending, which io_uring's task work makes happen: retry. */
	do
		w = write(fd, s, len);
	while (w < 0 && errno == EINTR);
	r = w < 0 ? -errno : (size_t)w == len ? 0 : -EIO;
	close(fd);
	return r;
}

/* Reads a small file whole: cgroup files come in one read. */
int rj__cg_read_at(int dfd, const char *path, char *buf, size_t n)
{
	int r, fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0)
		return -errno;
	do
		got = read(fd, buf, n - 1);
	while (got < 0 && errno == EINTR);
	r = got < 0 ? -errno : 0;
	buf[got < 0 ? 0 : got] = '\0';
	close(fd);
	return r;
}

/* The value of a "key value" line (cpu.stat, memory.events, oom_control);
 * 0 when the key is absent. */
uint64_t rj__cg_key_u64(const char *text, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

bool rj__cg_has_word(const char *list, const char *word, const char *seps)
{
	size_t wl = strlen(word);

	for (const char *p = list; *p; p += strcspn(p, seps), p += !!*p)
		if (strcspn(p, seps) == wl && !strncmp(p, word, wl))
			return true;
	return false;
}

/* Files of a group are reached from its pool parent's fd as "<id>/file". */
int rj__cg_write(const struct rj__cg *cg, int h, const char *file,
		 const char *val)
{
	char p[64];

	snprintf(p, sizeof p, "%u/%s", cg->id, file);
	return rj__cg_write_at(cg->cgs->pool[h], p, val);
}

int rj__cg_read(const struct rj__cg *cg, int h, const char *file, char *buf,
		size_t n)
{
	char p[64];

	snprintf(p, sizeof p, "%u/%s", cg->id, file);
	return rj__cg_read_at(cg->cgs->pool[h], p, buf, n);
}

int rj__cg_read_u64(const struct rj__cg *cg, int h, const char *file,
		    uint64_t *v)
{
	char buf[64];
	int r = rj__cg_read(cg, h, file, buf, sizeof buf);

	*v = r ? 0 : strtoull(buf, NULL, 10);
	return r;
}

/* Counts the pids of a cgroup.procs file, sending sig to each unless 0. */
static int scan_procs(int dfd, const char *path, int sig)
{
	char buf[4096];
	size_t len = 0;
	int n = 0, r = 0, fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got = read(fd, buf + len, sizeof buf - 1 - len);
		char *p = buf, *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 ? -errno : 0;
			break;
		}
		len += (size_t)got;
		buf[len] = '\0';
		for (; (nl = strchr(p, '\n')); p = nl + 1) {
			pid_t pid = (pid_t)strtol(p, NULL, 10);

			if (pid > 0 && sig)
				kill(pid, sig);
			n += pid > 0;
		}
		len = (size_t)(buf + len - p);
		memmove(buf, p, len);   /* a pid cut in two by the read */
	}
	close(fd);
	return r ? r : n;
}

/* Processes in the group. One hierarchy tells for all: rj__cg_attach
 * writes the first hierarchy first and children inherit every group, so a
 * process in any of the group's hierarchies is in the first one too. */
static int grp_procs(const struct rj__cg *cg, int sig)
{
	char p[64];
	int h = 0;

	while (h < H_N - 1 && cg->cgs->pool[h] < 0)
		h++;
	snprintf(p, sizeof p, "%u/cgroup.procs", cg->id);
	return cg->cgs->pool[h] < 0 ? 0 : scan_procs(cg->cgs->pool[h], p, sig);
}

/* ---- finding our cgroups ----------------------------------------------- */

/* A hierarchy's mount point and root, and our group's path in it. */
struct where {
	char *mnt, *root, *own;
};

static const char *const ctrl_name[H_N] = { "memory", "pids", "cpuacct" };

/* "id parent dev root mountpoint opts [optional...] - type source sopts" */
static void mount_line(char *line, struct where *w)
{
	char *sep = strstr(line, " - "), type[16], sopts[512];
	int at = -1;

	if (!sep || sscanf(sep + 3, "%15s %*s %511s", type, sopts) != 2)
		return;
	if (!strcmp(type, "cgroup2"))
		at = H_V2;
	for (int i = 0; i < H_N && !strcmp(type, "cgroup"); i++)
		if (rj__cg_has_word(sopts, ctrl_name[i], ","))
			at = i;
	if (at < 0 || w[at].mnt)
		return;
	if (sscanf(line, "%*s %*s %*s %ms %ms", &w[at].root, &w[at].mnt) != 2) {
		free(w[at].root);
		w[at].root = NULL;
	}
}

/* "id:controllers:path", where v2 is "0::path". */
static void cgroup_line(char *line, struct where *w)
{
	char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	int at = -1;

	if (!c2)
		return;
	*c2 = '\0';
	c2[1 + strcspn(c2 + 1, "\n")] = '\0';
	if (!strcmp(line, "0:") && c1[1] == '\0')
		at = H_V2;
	for (int i = 0; i < H_N && at < 0; i++)
		if (rj__cg_has_word(c1 + 1, ctrl_name[i], ","))
			at = i;
	if (at >= 0 && !w[at].own)
		w[at].own = strdup(c2 + 1);
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

/* Our group's directory, or NULL when the mount does not show it. */
static char *own_dir(const struct where *w)
{
	const char *rel;
	char *out;
	size_t rl;

	/* A path mountinfo had to escape (\ooo for a blank) is not worth
	 * decoding: such a hierarchy is left alone. */
	if (!w->mnt || !w->root || !w->own || strstr(w->own, "/..") ||
	    strchr(w->mnt, '\\') || strchr(w->root, '\\'))
		return NULL;
	rl = strcmp(w->root, "/") ? strlen(w->root) : 0;
	if (strncmp(w->own, w->root, rl) || (w->own[rl] && w->own[rl] != '/'))
		return NULL;
	rel = strcmp(w->own + rl, "/") ? w->own + rl : "";
	return asprintf(&out, "%s%s", w->mnt, rel) < 0 ? NULL : out;
}

/* ---- pool parents and groups ------------------------------------------- */

/* A pool ("ringjail-PID-N") left by an executor whose process died
 * without freeing it: remove its groups where they are empty (a busy one
 * stays). */
static void drop_pool(int base_fd, const char *name)
{
	int fd = openat(base_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *g = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *c;
	if (!g && fd >= 0)
		close(fd);
	while (g && (c = readdir(g)))
		if (c->d_type == DT_DIR && c->d_name[0] >= '0' && c->d_name[0] <= '9')
			unlinkat(dirfd(g), c->d_name, AT_REMOVEDIR);
	if (g)
		closedir(g);
	unlinkat(base_fd, name, AT_REMOVEDIR);
}

int rj__cg_pool_make(struct rj__cgroups *cgs, int h, const char *base,
		     unsigned *seq)
{
	rj__sweep_dead(base, "ringjail-", drop_pool);
	for (int tries = 0; tries < 8; tries++) {
		char *p;
		int r, fd = -1;

		if (asprintf(&p, "%s/ringjail-%d-%u", base, (int)getpid(), *seq) < 0)
			return -ENOMEM;
		r = mkdir(p, 0755) ? -errno : 0;
		if (!r && (fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			r = -errno;
			rmdir(p);
		}
		if (!r) {
			cgs->pool[h] = fd;
			cgs->ppath[h] = p;
			return 0;
		}
		free(p);
		if (r != -EEXIST)
			return r;
		/* Left by a crashed process that had our pid: not ours. */
		*seq = atomic_fetch_add(&executor_seq, 1);
	}
	return -EEXIST;
}

void rj__cg_pool_drop(struct rj__cgroups *cgs, int h)
{
	if (cgs->pool[h] < 0)
		return;
	close(cgs->pool[h]);
	rmdir(cgs->ppath[h]);
	free(cgs->ppath[h]);
	cgs->pool[h] = -1;
	cgs->ppath[h] = NULL;
}

/* Removes the group in each hierarchy; false when one stays. */
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

/* Makes group `id` in every hierarchy, with what never changes: no swap. */
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
	if (!(cg = malloc(sizeof *cg)))
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
		rj__cg_write(cg, H_MEM, "memory.swap.max", "0");
	else if (!cgs->v2 && have(cgs, H_MEM))
		rj__cg_write(cg, H_MEM, "memory.swappiness", "0");
	cgs->grp[id] = cg;
	*out = cg;
	return 0;
}

/* Kills what is in the group until it is empty, or *ms milliseconds (shared
 * by the caller's groups) have passed; true once it is empty. */
static bool grp_drain(struct rj__cg *cg, int *ms)
{
	struct timespec nap = { 0, 1000000 };
	int n;

	while ((n = grp_procs(cg, 0)) > 0 && *ms > 0) {
		rj__cg_kill(cg);
		nanosleep(&nap, NULL);
		--*ms;
	}
	return n == 0;
}

/* Forgets a group once its directories are gone; one that stays is kept
 * listed, out of the pool, for rj__cgroups_free to try again. */
static void grp_drop(struct rj__cgroups *cgs, struct rj__cg *cg)
{
	grp_close(cg);
	if (!grp_rmdir(cgs, cg->id))
		return;
	cgs->grp[cg->id] = NULL;
	free(cg);
}

/* ---- detection --------------------------------------------------------- */

/* Makes group 0 in slot h and writes there the limit that slot is for. */
static int probe(struct rj__cgroups *cgs, int h)
{
	static const char *const file[H_N] = { "memory.limit_in_bytes",
					       "pids.max", "cpuacct.usage" };
	static const char *const val[H_N] = { "-1", "max", "0" };
	struct rj__cg tmp = { .cgs = cgs, .id = 0 };
	int r = mkdirat(cgs->pool[h], "0", 0755) && errno != EEXIST ? -errno : 0;

	if (!r && cgs->v2 && !(r = rj__cg_write(&tmp, h, "memory.max", "max")))
		r = rj__cg_write(&tmp, h, "pids.max", "max");
	else if (!r && !cgs->v2)
		r = rj__cg_write(&tmp, h, file[h], val[h]);
	if (r)
		unlinkat(cgs->pool[h], "0", AT_REMOVEDIR);
	return r;
}

/* Probes each pool and fills the host flags from what worked. */
static void probe_all(struct rj__cgroups *cgs, struct rj__cg_host *host)
{
	struct rj__cg tmp = { .cgs = cgs, .id = 0 }, *cg;
	char buf[512];
	int r;

	for (int h = 0; h < H_N; h++) {
		if (cgs->pool[h] < 0 || !(r = probe(cgs, h)))
			continue;
		if (cgs->v2)
			snprintf(host->why, sizeof host->why, "cgroup v2: cannot "
				 "set limits in %s (%s)", cgs->ppath[h], strerror(-r));
		rj__cg_pool_drop(cgs, h);
	}
	if (cgs->v2 && have(cgs, H_MEM)) {
		cgs->swap_max = !rj__cg_write(&tmp, H_MEM, "memory.swap.max", "0");
		cgs->kill = !faccessat(cgs->pool[H_MEM], "0/cgroup.kill", F_OK, 0);
		host->cpu = !rj__cg_read(&tmp, H_MEM, "cpu.stat", buf, sizeof buf);
	} else if (!cgs->v2) {
		cgs->memsw = have(cgs, H_MEM) &&
			     !rj__cg_write(&tmp, H_MEM, "memory.memsw.limit_in_bytes", "-1");
		cgs->cpu_split = have(cgs, H_CPU) &&
			!faccessat(cgs->pool[H_CPU], "0/cpuacct.usage_user", F_OK, 0);
		host->cpu = have(cgs, H_CPU);
	}
	host->mem = have(cgs, H_MEM);
	host->pids = have(cgs, H_PIDS);
	host->v2 = cgs->v2 && host->mem;
	host->kill = host->v2 && cgs->kill;
	host->memsw = cgs->memsw;
	if ((host->mem || host->pids || host->cpu) && !grp_new(cgs, 0, &cg)) {
		cg->next = cgs->free;
		cgs->free = cg;
	}
}

static void why_missing(struct rj__cg_host *host)
{
	if (host->mem && host->pids) {
		/* A v2 attempt that failed before v1 served is no news. */
		host->why[0] = '\0';
		if (!host->v2 && !host->memsw)
			snprintf(host->why, sizeof host->why, "cgroup v1 has no "
				 "memory.memsw.limit_in_bytes (boot with "
				 "swapaccount=1), so swap is not bounded");
	} else if (!host->why[0]) {
		snprintf(host->why, sizeof host->why, "no writable %s cgroup: run "
			 "as root or delegate a cgroup subtree to this user (cgroup "
			 "v2: systemd Delegate=yes; v1: chown a memory and pids "
			 "group to the user)", host->mem ? "pids" : host->pids ?
			 "memory" : "memory and pids");
	}
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
	/* Only for measuring what pooling saves (bench/). */
	const char *np = getenv("RJ_CGROUP_NO_POOL");
	cgs->no_pool = np && np[0] == '1';
	read_lines("/proc/self/mountinfo", mount_line, w);
	read_lines("/proc/self/cgroup", cgroup_line, w);
	char *v2own = own_dir(&w[H_V2]);
	cgs->v2 = !rj__cg_v2_setup(cgs, v2own, v2own && !strcmp(w[H_V2].own, w[H_V2].root),
				   host->why, sizeof host->why, &seq);
	free(v2own);
	for (int h = 0; h < H_N && !cgs->v2; h++) {
		char *own = own_dir(&w[h]);

		if (own)
			rj__cg_pool_make(cgs, h, own, &seq);
		free(own);
	}
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
	int ms = DRAIN_MS;

	if (!cgs)
		return;
	/* Kill everything first, so that the groups die together. */
	for (unsigned id = 0; id < cgs->ngrp; id++)
		if (cgs->grp[id] && grp_procs(cgs->grp[id], 0) > 0)
			rj__cg_kill(cgs->grp[id]);
	for (unsigned id = 0; id < cgs->ngrp; id++) {
		struct rj__cg *cg = cgs->grp[id];

		if (!cg)
			continue;
		grp_close(cg);
		grp_drain(cg, &ms);
		grp_rmdir(cgs, id);
		free(cg);
	}
	for (int h = 0; h < H_N; h++)
		rj__cg_pool_drop(cgs, h);
	free(cgs->grp);
	free(cgs);
}

/* ---- one run ----------------------------------------------------------- */

/* Writes the limits that differ from those the group already has. */
static int set_limits(struct rj__cg *cg, uint64_t mem, uint64_t pids)
{
	struct rj__cgroups *cgs = cg->cgs;
	char v[32];
	int r = 0;

	if (have(cgs, H_MEM) && mem != cg->mem_set) {
		cg->mem_set = UNKNOWN;
		snprintf(v, sizeof v, mem ? "%llu" : cgs->v2 ? "max" : "-1",
			 (unsigned long long)mem);
		if ((r = cgs->v2 ? rj__cg_write(cg, H_MEM, "memory.max", v) :
			 rj__cg_v1_set_mem(cg, v)))
			return r;
		cg->mem_set = mem;
	}
	if (have(cgs, H_PIDS) && pids != cg->pids_set) {
		cg->pids_set = UNKNOWN;
		snprintf(v, sizeof v, pids ? "%llu" : "max", (unsigned long long)pids);
		if (!(r = rj__cg_write(cg, cgs->v2 ? H_MEM : H_PIDS, "pids.max", v)))
			cg->pids_set = pids;
	}
	return r;
}

int rj__cg_acquire(struct rj__cgroups *cgs, uint64_t mem_bytes, uint64_t pids,
		   struct rj__cg **out)
{
	struct rj__cg *cg = cgs->free;
	unsigned id = 0;
	int r;

	*out = NULL;
	if (!have(cgs, H_MEM) && !have(cgs, H_PIDS) && !have(cgs, H_CPU))
		return -EOPNOTSUPP;
	if (cg) {
		cgs->free = cg->next;
	} else {
		while (id < cgs->ngrp && cgs->grp[id])
			id++;
		if ((r = grp_new(cgs, id, &cg)))
			return r;
	}
	cg->next = NULL;
	if (!(r = set_limits(cg, mem_bytes, pids)))
		r = cgs->v2 ? rj__cg_v2_begin(cg) : rj__cg_v1_begin(cg);
	if (r) {
		grp_drop(cgs, cg);
		return r;
	}
	*out = cg;
	return 0;
}

int rj__cg_cpu_ns(struct rj__cg *cg, uint64_t *ns)
{
	char buf[1024];
	int r;

	*ns = 0;
	if (!have(cg->cgs, H_CPU))
		return -EOPNOTSUPP;
	if (!cg->cgs->v2)
		return rj__cg_read_u64(cg, H_CPU, "cpuacct.usage", ns);
	if (!(r = rj__cg_read(cg, H_MEM, "cpu.stat", buf, sizeof buf)))
		*ns = delta(rj__cg_key_u64(buf, "usage_usec"), cg->base_total) * 1000;
	return r;
}

int rj__cg_stats(struct rj__cg *cg, struct rj__cg_stats *st)
{
	memset(st, 0, sizeof *st);
	return cg->cgs->v2 ? rj__cg_v2_stats(cg, st) : rj__cg_v1_stats(cg, st);
}

int rj__cg_kill(struct rj__cg *cg)
{
	int n = 0;

	if (cg->cgs->v2 && cg->cgs->kill)
		return rj__cg_write(cg, H_MEM, "cgroup.kill", "1");
	/* A process may fork between the read of cgroup.procs and its SIGKILL,
	 * so read again until nobody is listed; the passes are bounded, since
	 * the dying stay listed for a moment and the caller waits anyway. */
	for (int pass = 0; pass < 8 && (n = grp_procs(cg, SIGKILL)) > 0; pass++)
		;
	return n < 0 ? n : 0;
}

void rj__cg_release(struct rj__cgroups *cgs, struct rj__cg *cg)
{
	uint64_t left = 0;   /* memory still charged: page cache, kernel objects */
	int ms = DRAIN_MS;

	if (!cg)
		return;
	grp_close(cg);
	cg->fresh = false;
	if (!grp_drain(cg, &ms))
		return;   /* still busy: out of the pool, removed at the end */
	if (have(cgs, H_MEM) && rj__cg_read_u64(cg, H_MEM, cgs->v2 ? "memory.current" :
						"memory.usage_in_bytes", &left))
		left = UINT64_MAX;
	if ((cgs->v2 && cgs->peak_noreset) || left > POOL_SLACK || cgs->no_pool) {
		grp_drop(cgs, cg);
		return;
	}
	cg->next = cgs->free;
	cgs->free = cg;
}
