/* Between cgroup.c (the pool), cgroup_v1.c and cgroup_v2.c only: the pool's
 * structures and the reads and writes of a group's files. The rest of the
 * library sees cgroup.h. */
#ifndef RJ_CGROUP_PRIV_H
#define RJ_CGROUP_PRIV_H

#include "cgroup.h"

/* v1 hierarchies we use; on v2 the one pool is in the H_MEM slot. */
enum { H_MEM, H_PIDS, H_CPU, H_N, H_V2 = H_N };

struct rj__cg {
	struct rj__cgroups *cgs;
	struct rj__cg *next;          /* free list */
	unsigned id;
	bool fresh;                   /* never ran anything: counters all zero */
	bool peak_ok;                 /* v2: memory.peak is this run's */
	int dirfd, peakfd;            /* v2, while acquired; else -1 */
	uint64_t mem_set, pids_set;   /* limits last written (0 = none) */
	uint64_t base_oom, base_max;  /* counters read at acquire */
	uint64_t base_user, base_sys, base_total;
};

struct rj__cgroups {
	bool v2, memsw, cpu_split, swap_max, kill, peak_noreset;
	bool no_pool;                 /* RJ_CGROUP_NO_POOL=1: bench's baseline */
	int pool[H_N];                /* O_PATH fd of each pool parent, or -1 */
	char *ppath[H_N];             /* its path, to remove it at the end */
	struct rj__cg *free;
	struct rj__cg **grp;          /* every group that exists, by id */
	unsigned ngrp;
};

/* Whether controller h is ours: on v2 every controller is in H_MEM. */
static inline bool have(const struct rj__cgroups *cgs, int h)
{
	return cgs->pool[cgs->v2 ? H_MEM : h] >= 0;
}

static inline uint64_t delta(uint64_t now, uint64_t base)
{
	return now > base ? now - base : 0;
}

/* cgroup.c: files, whole, in one read or write; 0 or -errno. */
int rj__cg_write_at(int dfd, const char *path, const char *s);
int rj__cg_read_at(int dfd, const char *path, char *buf, size_t n);
/* The value of a "key value" line (cpu.stat, memory.events, oom_control);
 * 0 when the key is absent. */
uint64_t rj__cg_key_u64(const char *text, const char *key);
bool rj__cg_has_word(const char *list, const char *word, const char *seps);
/* A file of the group in hierarchy h, as "<id>/file" from its pool parent. */
int rj__cg_write(const struct rj__cg *cg, int h, const char *file, const char *val);
int rj__cg_read(const struct rj__cg *cg, int h, const char *file, char *buf, size_t n);
int rj__cg_read_u64(const struct rj__cg *cg, int h, const char *file, uint64_t *v);
/* The pool parent of hierarchy h, made below base (after removing what
 * dead executors left there), and removed. */
int rj__cg_pool_make(struct rj__cgroups *cgs, int h, const char *base, unsigned *seq);
void rj__cg_pool_drop(struct rj__cgroups *cgs, int h);

/* cgroup_v1.c */
int rj__cg_v1_set_mem(struct rj__cg *cg, const char *val);
int rj__cg_v1_begin(struct rj__cg *cg);
int rj__cg_v1_stats(struct rj__cg *cg, struct rj__cg_stats *st);

/* cgroup_v2.c. Setup: the pool parent in H_MEM, for our group's directory
 * own (NULL when the mount does not show it; top: it is the hierarchy's
 * root); 0, or -errno with why saying what to do. */
int rj__cg_v2_setup(struct rj__cgroups *cgs, const char *own, bool top,
		    char *why, size_t n, unsigned *seq);
int rj__cg_v2_begin(struct rj__cg *cg);
int rj__cg_v2_stats(struct rj__cg *cg, struct rj__cg_stats *st);

#endif
