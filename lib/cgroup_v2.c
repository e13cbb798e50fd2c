/* cgroup v2: where the pool may go, and what one run reads and keeps.
 *
 * Where the pool lives. v2 gives controllers to a group's children only
 * while it holds no processes (the root excepted), and ringjail sits in its
 * own group; so the pool goes below our group when that group distributes
 * memory and pids already or can be made to, otherwise beside it, in the
 * parent, if that parent was delegated to us (unprivileged: the mkdir works
 * at all; root: systemd's "delegate" xattr), which is the layout of
 * systemd's Delegate=yes with DelegateSubgroup=.
 *
 * The peak. Since Linux 6.12 a write to memory.peak resets the peak only as
 * read through the fd that wrote it, so acquire opens memory.peak, writes to
 * it and keeps that fd until release. A running v2 sandbox holds two fds
 * (that one and the O_PATH fd for CLONE_INTO_CGROUP), a pooled group none,
 * v1 none at all (each access opens, reads or writes, closes). Older kernels
 * refuse the write; memory.peak is then right only in a fresh group, so on
 * them every group is fresh: nothing is pooled. */
#include "cgroup_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- where the pool lives ------------------------------------------------ */

static bool ctrls_in(const char *dir, const char *file)
{
	char buf[256], *p;
	int r;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return false;
	r = rj__cg_read_at(AT_FDCWD, p, buf, sizeof buf);
	free(p);
	return !r && rj__cg_has_word(buf, "memory", " \n") && rj__cg_has_word(buf, "pids", " \n");
}

/* Gives the children of dir memory and pids, and cpu where it may. */
static int enable_ctrls(const char *dir)
{
	char *p;
	int r;

	if (asprintf(&p, "%s/cgroup.subtree_control", dir) < 0)
		return -ENOMEM;
	r = rj__cg_write_at(AT_FDCWD, p, "+memory +pids");
	if (!r)
		rj__cg_write_at(AT_FDCWD, p, "+cpu");
	free(p);
	return r;
}

/* Whether we may put the pool in dir, our group's parent. An unprivileged
 * user can mkdir there only if it was delegated; root can write anywhere,
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
	char *up;
	int r;

	if (ctrls_in(own, "cgroup.subtree_control") || !(r = enable_ctrls(own)))
		return strdup(own);
	if (r == -EBUSY && !top && (up = strdup(own))) {
		*strrchr(up, '/') = '\0';
		if (ctrls_in(up, "cgroup.subtree_control") && delegated(up))
			return up;
		free(up);
	}
	/* The recipe is the layout DelegateSubgroup= makes, by hand: that
	 * setting came with systemd 254, and Debian 12 has 252. */
	if (r == -EBUSY)
		snprintf(why, n, "cgroup v2: %s holds processes, so groups below it "
			 "get no controllers. In a group G delegated to you (systemd: "
			 "Delegate=yes), run ringjail in a leaf: mkdir G/leaf; echo $$ "
			 ">G/leaf/cgroup.procs; echo +memory +pids >G/cgroup.subtree_control "
			 "(systemd 254+: DelegateSubgroup=leaf)", own);
	else
		snprintf(why, n, "cgroup v2: cannot enable memory and pids below "
			 "%s (%s): run as root or in a cgroup delegated to this user "
			 "(systemd-run --user -p Delegate=yes)", own, strerror(-r));
	return NULL;
}

/* Pure v2, when our group is offered memory and pids. */
int rj__cg_v2_setup(struct rj__cgroups *cgs, const char *own, bool top,
		    char *why, size_t n, unsigned *seq)
{
	char *base = NULL;
	int r = -EOPNOTSUPP;

	if (own && ctrls_in(own, "cgroup.controllers"))
		base = v2_base(own, top, why, n);
	if (base && !(r = rj__cg_pool_make(cgs, H_MEM, base, seq)) &&
	    (r = enable_ctrls(cgs->ppath[H_MEM])))
		rj__cg_pool_drop(cgs, H_MEM);
	if (base && r)
		snprintf(why, n, "cgroup v2: cannot make the sandbox pool below %s "
			 "(%s): delegate it to this user", base, strerror(-r));
	free(base);
	return r;
}

/* ---- one run ----------------------------------------------------------- */

/* v2: the reset of memory.peak holds for the fd that wrote it only, so that
 * fd stays open until release (see the top of the file). */
static void v2_peak_open(struct rj__cg *cg)
{
	char p[64];
	int fd;

	snprintf(p, sizeof p, "%u/memory.peak", cg->id);
	fd = openat(cg->cgs->pool[H_MEM], p, O_RDWR | O_CLOEXEC);
	cg->peak_ok = fd >= 0 && write(fd, "reset\n", 6) == 6;
	if (fd < 0)
		fd = openat(cg->cgs->pool[H_MEM], p, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && !cg->peak_ok) {
		cg->cgs->peak_noreset = true;
		cg->peak_ok = cg->fresh;
	}
	cg->peakfd = fd;
}

int rj__cg_v2_begin(struct rj__cg *cg)
{
	char name[16], buf[1024];
	int r;

	snprintf(name, sizeof name, "%u", cg->id);
	cg->dirfd = openat(cg->cgs->pool[H_MEM], name,
			   O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg->dirfd < 0)
		return -errno;
	v2_peak_open(cg);
	cg->base_oom = cg->base_max = 0;
	cg->base_user = cg->base_sys = cg->base_total = 0;
	if (cg->fresh)
		return 0;
	if ((r = rj__cg_read(cg, H_MEM, "memory.events", buf, sizeof buf)))
		return r;
	cg->base_oom = rj__cg_key_u64(buf, "oom_kill");
	cg->base_max = rj__cg_key_u64(buf, "max");
	if ((r = rj__cg_read(cg, H_MEM, "cpu.stat", buf, sizeof buf)))
		return r;
	cg->base_total = rj__cg_key_u64(buf, "usage_usec");
	cg->base_user = rj__cg_key_u64(buf, "user_usec");
	cg->base_sys = rj__cg_key_u64(buf, "system_usec");
	return 0;
}

int rj__cg_v2_fd(const struct rj__cg *cg)
{
	return cg && cg->cgs->v2 ? cg->dirfd : -1;
}

int rj__cg_v2_stats(struct rj__cg *cg, struct rj__cg_stats *st)
{
	char buf[1024];
	ssize_t got;
	int r;

	if ((r = rj__cg_read(cg, H_MEM, "memory.events", buf, sizeof buf)))
		return r;
	st->oom_kills = delta(rj__cg_key_u64(buf, "oom_kill"), cg->base_oom);
	st->mem_failcnt = delta(rj__cg_key_u64(buf, "max"), cg->base_max);
	if ((r = rj__cg_read(cg, H_MEM, "cpu.stat", buf, sizeof buf)))
		return r;
	st->cpu_total_ns = delta(rj__cg_key_u64(buf, "usage_usec"), cg->base_total) * 1000;
	st->cpu_user_ns = delta(rj__cg_key_u64(buf, "user_usec"), cg->base_user) * 1000;
	st->cpu_sys_ns = delta(rj__cg_key_u64(buf, "system_usec"), cg->base_sys) * 1000;
	if (cg->peak_ok && cg->peakfd >= 0) {
		/* Reading from offset 0 makes the kernel print the value anew,
		 * through the fd whose write reset it. */
		got = pread(cg->peakfd, buf, sizeof buf - 1, 0);
		buf[got > 0 ? got : 0] = '\0';
		st->mem_peak_bytes = strtoull(buf, NULL, 10);
	}
	return 0;
}
