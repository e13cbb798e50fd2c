/* Limits without a cgroup: run as an unprivileged user with no delegated
 * cgroup (as_nobody.sh starts this binary as nobody when the suite runs as
 * root). CLI.md: limits the caller gives fail closed with a message that
 * says how to get them, unless best effort; default limits fall back to
 * the nearest rlimit, and the result says so. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "checks.h"

/* Whether this user may make cgroups anywhere ringjail would look: its own
 * group in the v1 memory or pids hierarchy, its v2 group or that group's
 * parent. Then the host is not the one these tests are about. */
static void need_no_cgroup(void)
{
	if (geteuid() == 0)
		cr_skip_test("running as root; as_nobody.sh runs this binary as nobody");
	static const char *const ctrl[] = { "memory", "pids" };
	for (int i = 0; i < 3; i++) {
		char *d = own_cgroup_dir(i < 2 ? ctrl[i] : NULL);
		bool mine = d && access(d, W_OK) == 0;
		if (d && i == 2 && !mine) {
			char *slash = strrchr(d, '/');
			if (slash && slash > d) {
				*slash = '\0';
				mine = access(d, W_OK) == 0;
			}
		}
		if (mine) {
			char msg[1100];
			snprintf(msg, sizeof msg, "this user may write the cgroup %s: a delegated host, "
				 "not the one these tests need", d);
			free(d);
			cr_skip_test("%s", msg);
		}
		free(d);
	}
}

static bool has_text_ci(const char *text, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = text; *p; p++)
		if (!strncasecmp(p, needle, n))
			return true;
	return false;
}

Test(limits, rootless_given_memory_limit_is_a_setup_error, .timeout = 30)
{
	need_no_cgroup();
	rj_plan *p = CMD_PLAN("/bin/true");
	set_limit(p, RJ_LIMIT_MEM, 128 * MIB);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_SETUP_ERROR);
	cr_expect(has_text_ci(o.res.message, "cgroup") && has_text_ci(o.res.message, "delegat"),
		  "the message does not say how to get a cgroup (delegation): '%s'", o.res.message);
	cr_expect_eq(o.res.setup_stage, RJ_STAGE_HOST, "stage %s",
		     rj_setup_stage_name(o.res.setup_stage));
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, rootless_given_cpu_limit_is_a_setup_error, .timeout = 30)
{
	need_no_cgroup();
	rj_plan *p = CMD_PLAN("/bin/true");
	set_limit(p, RJ_LIMIT_TIME, SEC);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_SETUP_ERROR);
	cr_expect(has_text_ci(o.res.message, "cgroup") && has_text_ci(o.res.message, "delegat"),
		  "the message does not say how to get a cgroup (delegation): '%s'", o.res.message);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, rootless_best_effort_memory_limit_uses_rlimit, .timeout = 30)
{
	need_no_cgroup();
	rj_plan *p = prog_plan("touch", "16", NULL);
	set_limit(p, RJ_LIMIT_MEM, 128 * MIB);
	cr_assert_eq(rj_plan_set_best_effort(p, true), 0);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_eq(o.res.enforced[RJ_LIMIT_MEM], RJ_ENFORCE_RLIMIT, "mem enforced by %s",
		     rj_enforce_name(o.res.enforced[RJ_LIMIT_MEM]));
	cr_expect(!(o.res.hardening & RJ_LAYER_CGROUP), "hardening 0x%x claims a cgroup",
		  o.res.hardening);
	/* Without a cgroup the peak is the largest ru_maxrss. */
	cr_expect_geq(o.res.memory_kib, 16 * 1024, "memory_kib %llu",
		      (unsigned long long)o.res.memory_kib);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, rootless_best_effort_memory_limit_holds, .timeout = 30)
{
	need_no_cgroup();
	rj_plan *p = prog_plan("membomb", "1024", NULL);
	set_limit(p, RJ_LIMIT_MEM, 128 * MIB);
	cr_assert_eq(rj_plan_set_best_effort(p, true), 0);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_MEMORY_LIMIT);
	cr_expect(strstr(o.out, "malloc failed after"), "stdout: %s", o.out);
	cr_expect(!o.res.oom_killed, "oom_killed without a cgroup");
	cr_expect_leq(o.res.memory_kib, 128 * 1024 * 11 / 10, "peak %llu KiB over a 128 MiB limit",
		      (unsigned long long)o.res.memory_kib);
	outcome_free(&o);
	rj_plan_free(p);
}

Test(limits, rootless_default_limits_use_rlimits, .timeout = 30)
{
	need_no_cgroup();
	rj_plan *p = CMD_PLAN("/bin/true");
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_eq(o.res.enforced[RJ_LIMIT_MEM], RJ_ENFORCE_RLIMIT, "mem enforced by %s",
		     rj_enforce_name(o.res.enforced[RJ_LIMIT_MEM]));
	cr_expect_eq(o.res.enforced[RJ_LIMIT_PIDS], RJ_ENFORCE_RLIMIT, "pids enforced by %s",
		     rj_enforce_name(o.res.enforced[RJ_LIMIT_PIDS]));
	cr_expect_eq(o.res.enforced[RJ_LIMIT_WALL_TIME], RJ_ENFORCE_TIMER);
	cr_expect_eq(o.res.enforced[RJ_LIMIT_OUTPUT], RJ_ENFORCE_PIPE);
	cr_expect_eq(o.res.enforced[RJ_LIMIT_FSIZE], RJ_ENFORCE_RLIMIT);
	cr_expect(!(o.res.hardening & RJ_LAYER_CGROUP), "hardening 0x%x claims a cgroup",
		  o.res.hardening);
	outcome_free(&o);
	rj_plan_free(p);
}

/* 2 GiB touched 1 MiB at a time under the default 512M: RLIMIT_DATA stops
 * the program near the limit, and the host is none the worse. */
Test(limits, rootless_memory_bomb_is_contained_by_rlimit_data, .timeout = 60)
{
	need_no_cgroup();
	int before = host_proc_count();
	rj_plan *p = prog_plan("membomb", "2048", NULL);
	struct outcome o;
	run_plan_loop(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_MEMORY_LIMIT);
	cr_expect_neq(o.res.status, RJ_STATUS_OK, "a 2 GiB bomb ran to its end");
	cr_expect(!strstr(o.out, "touched all"), "the bomb touched all 2 GiB: %s", o.out);
	cr_expect(strstr(o.out, "malloc failed after"), "stdout: %s", o.out);
	cr_expect_leq(o.res.memory_kib, 512 * 1024 * 11 / 10, "peak %llu KiB over the default 512 MiB",
		      (unsigned long long)o.res.memory_kib);
	int after = host_proc_count();
	cr_expect_leq(after, before + 40, "host processes: %d before, %d after", before, after);
	outcome_free(&o);
	rj_plan_free(p);
}
