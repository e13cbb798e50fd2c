/* cgroup v2 (pooled, CLONE_INTO_CGROUP) and v1 support: private to the library. */
#ifndef RJ_CGROUP_H
#define RJ_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What the host offers, detected once per executor. */
struct rj__cg_host {
	bool v2;          /* a v2 group with the controllers below is ours */
	bool mem;         /* memory limit and peak can be applied and read */
	bool pids;        /* pids.max */
	bool cpu;         /* whole-sandbox CPU accounting (cpuacct or cpu.stat) */
	bool kill;        /* cgroup.kill (v2) */
	bool memsw;       /* v1: memory.memsw.limit_in_bytes (swap bounded too) */
	char why[384];    /* when something is missing: what and how to get it */
};

struct rj__cgroups;   /* the pool of one executor */
struct rj__cg;        /* one pooled sandbox cgroup (a group per hierarchy) */

struct rj__cg_stats {
	uint64_t cpu_user_ns, cpu_sys_ns, cpu_total_ns;
	uint64_t mem_peak_bytes;   /* 0 when unknown */
	uint64_t oom_kills;        /* kernel OOM kills in the group */
	uint64_t mem_failcnt;      /* times usage hit the limit (v1 failcnt, v2 memory.events max) */
};

/* Detect the host's cgroups and make this executor's pool parent below the
 * caller's own cgroup in each usable hierarchy. Never fails for lack of
 * cgroups: *out is still set, with host->why saying what is missing.
 * Returns -errno only for allocation failure. */
int rj__cgroups_new(struct rj__cgroups **out, struct rj__cg_host *host);
/* Kill what is left in every pooled group, remove the groups and the pool
 * parent. */
void rj__cgroups_free(struct rj__cgroups *cgs);

/* Take an empty group from the pool (creating one when the pool is empty),
 * set its limits (0 = no limit of that kind) and reset its counters so that
 * no figure of an earlier run shows. */
int rj__cg_acquire(struct rj__cgroups *cgs, uint64_t mem_bytes, uint64_t pids,
		   struct rj__cg **out);
/* v2: an O_PATH|O_DIRECTORY fd of the group for clone3's
 * CLONE_INTO_CGROUP, owned by the group; -1 on v1. */
int rj__cg_v2_fd(const struct rj__cg *cg);
/* v1: write pid into the group of each v1 hierarchy (before the child is
 * released to exec). No-op on v2. */
int rj__cg_attach(struct rj__cg *cg, pid_t pid);
/* v1: where a process running as root can move itself into the group
 * (writing "0"): O_PATH fds of the pool parents (owned by the pool) and
 * the path of each cgroup.procs below them. Returns how many (0 on v2). */
#define RJ__CG_MAX_TARGETS 3
int rj__cg_self_targets(const struct rj__cg *cg, int *dirfds, char (*rel)[32]);
/* Whole-group CPU time (user+system) so far, nanoseconds. */
int rj__cg_cpu_ns(struct rj__cg *cg, uint64_t *ns);
int rj__cg_stats(struct rj__cg *cg, struct rj__cg_stats *st);
/* Kill every process in the group (cgroup.kill on v2, else SIGKILL to each
 * pid listed in cgroup.procs). */
int rj__cg_kill(struct rj__cg *cg);
/* Return a group to the pool; the caller has reaped the sandbox. A group
 * that still holds processes is killed first, and dropped if it stays
 * busy. */
void rj__cg_release(struct rj__cgroups *cgs, struct rj__cg *cg);

#endif
