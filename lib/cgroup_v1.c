/* cgroup v1: a group per hierarchy (memory, pids, cpuacct), which the
 * parent writes the child's pid into before letting it go on; limits
 * written in the order memsw allows; counters reset at acquire where v1
 * can, read then and reported as differences where it cannot. */
#include "cgroup_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* v1 insists on memsw >= limit at every moment, so the order of the two
 * writes depends on the direction: the memory limit goes first, and when
 * the kernel refuses it (it would pass memsw), memsw is raised first. */
int rj__cg_v1_set_mem(struct rj__cg *cg, const char *val)
{
	int r = rj__cg_write(cg, H_MEM, "memory.limit_in_bytes", val);

	if (!cg->cgs->memsw)
		return r;
	if (r == -EINVAL) {
		r = rj__cg_write(cg, H_MEM, "memory.memsw.limit_in_bytes", val);
		return r ? r : rj__cg_write(cg, H_MEM, "memory.limit_in_bytes", val);
	}
	return r ? r : rj__cg_write(cg, H_MEM, "memory.memsw.limit_in_bytes", val);
}

/* v1: reset what can be reset, note the rest; a fresh group is all zero.
 * With memsw as low as the limit, a failing charge may be counted in
 * memsw.failcnt rather than failcnt (or, on some kernels, in neither). */
int rj__cg_v1_begin(struct rj__cg *cg)
{
	struct rj__cgroups *cgs = cg->cgs;
	char buf[128];
	int r = 0;

	cg->base_oom = cg->base_user = cg->base_sys = 0;
	if (cg->fresh)
		return 0;
	if (have(cgs, H_MEM) &&
	    !(r = rj__cg_write(cg, H_MEM, "memory.max_usage_in_bytes", "0")) &&
	    !(r = rj__cg_write(cg, H_MEM, "memory.failcnt", "0")) &&
	    !(r = cgs->memsw ? rj__cg_write(cg, H_MEM, "memory.memsw.failcnt", "0") : 0) &&
	    !(r = rj__cg_read(cg, H_MEM, "memory.oom_control", buf, sizeof buf)))
		cg->base_oom = rj__cg_key_u64(buf, "oom_kill");
	if (!r && have(cgs, H_CPU))
		r = rj__cg_write(cg, H_CPU, "cpuacct.usage", "0");
	if (!r && have(cgs, H_CPU) && !cgs->cpu_split &&
	    !(r = rj__cg_read(cg, H_CPU, "cpuacct.stat", buf, sizeof buf))) {
		cg->base_user = rj__cg_key_u64(buf, "user");
		cg->base_sys = rj__cg_key_u64(buf, "system");
	}
	return r;
}

int rj__cg_self_targets(const struct rj__cg *cg, int *dirfds, char (*rel)[32])
{
	int n = 0;

	if (cg->cgs->v2)
		return 0;
	for (int h = 0; h < H_N && n < RJ__CG_MAX_TARGETS; h++) {
		if (!have(cg->cgs, h))
			continue;
		dirfds[n] = cg->cgs->pool[h];
		snprintf(rel[n], 32, "%u/cgroup.procs", cg->id);
		n++;
	}
	return n;
}

int rj__cg_attach(struct rj__cg *cg, pid_t pid)
{
	char v[24];
	int r = 0;

	if (cg->cgs->v2)
		return 0;
	snprintf(v, sizeof v, "%d", (int)pid);
	for (int h = 0; h < H_N && !r; h++)
		if (have(cg->cgs, h))
			r = rj__cg_write(cg, h, "cgroup.procs", v);
	return r;
}

/* cpuacct.usage is exact, but its user/system split comes from ticks
 * (usage_user and usage_sys, or cpuacct.stat before 4.6): the total is
 * split in their proportion, so that user + system is the exact total. */
static int v1_cpu(struct rj__cg *cg, struct rj__cg_stats *st)
{
	uint64_t u = 0, s = 0, t;
	char buf[128];
	int r = rj__cg_read_u64(cg, H_CPU, "cpuacct.usage", &t);

	if (!r && cg->cgs->cpu_split) {
		if (!(r = rj__cg_read_u64(cg, H_CPU, "cpuacct.usage_user", &u)))
			r = rj__cg_read_u64(cg, H_CPU, "cpuacct.usage_sys", &s);
	} else if (!r && !(r = rj__cg_read(cg, H_CPU, "cpuacct.stat", buf, sizeof buf))) {
		u = delta(rj__cg_key_u64(buf, "user"), cg->base_user);
		s = delta(rj__cg_key_u64(buf, "system"), cg->base_sys);
	}
	if (r)
		return r;
	st->cpu_total_ns = t;
	st->cpu_user_ns = u + s ? (uint64_t)((double)t * (double)u / (double)(u + s)) : t;
	st->cpu_sys_ns = t - st->cpu_user_ns;
	return 0;
}

int rj__cg_v1_stats(struct rj__cg *cg, struct rj__cg_stats *st)
{
	char buf[128];
	uint64_t sw = 0;
	int r = 0;

	if (have(cg->cgs, H_MEM) &&
	    !(r = rj__cg_read_u64(cg, H_MEM, "memory.max_usage_in_bytes",
				  &st->mem_peak_bytes)) &&
	    !(r = rj__cg_read_u64(cg, H_MEM, "memory.failcnt", &st->mem_failcnt)) &&
	    !(r = cg->cgs->memsw ? rj__cg_read_u64(cg, H_MEM, "memory.memsw.failcnt",
						   &sw) : 0) &&
	    !(r = rj__cg_read(cg, H_MEM, "memory.oom_control", buf, sizeof buf))) {
		st->mem_failcnt += sw;
		st->oom_kills = delta(rj__cg_key_u64(buf, "oom_kill"), cg->base_oom);
	}
	if (!r && have(cg->cgs, H_CPU))
		r = v1_cpu(cg, st);
	return r;
}
