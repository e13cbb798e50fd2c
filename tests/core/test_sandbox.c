/* What a program sees of its sandbox: the default environment, its open
 * fds, its place in the process tree, a fresh workspace each run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "util.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits text into its lines, sorted. */
static size_t sorted_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		cr_assert_lt(n, max, "too many lines");
		lines[n++] = l;
	}
	qsort(lines, n, sizeof *lines, cmp_str);
	return n;
}

static void expect_env(rj_plan *p, const char *const *want, size_t nwant)
{
	struct rec r = run1(p, 0, 10000);
	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s", r.res.message);
	char *lines[64];
	char copy[8192];
	snprintf(copy, sizeof copy, "%s", r.out);
	size_t n = sorted_lines(copy, lines, 64);
	cr_assert_eq(n, nwant, "env printed %zu variables, expected %zu:\n%s", n, nwant, r.out);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(lines[i], want[i], "env printed:\n%s", r.out);
	rec_free(&r);
}

Test(sandbox, environment_is_default_plus_plan_only)
{
	/* The caller's own environment never reaches the sandbox. */
	cr_assert_eq(setenv("RJ_CORE_CALLER_ONLY", "leak", 1), 0);
	rj_plan *p = PLAN("env");
	cr_assert_eq(rj_plan_set_env(p, "EXTRA", "1"), 0);
	static const char *const want[] = {
		"EXTRA=1", "HOME=/box", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin",
		"TMPDIR=/tmp",
	};
	expect_env(p, want, 5);
	rj_plan_free(p);
}

Test(sandbox, environment_override_and_removal)
{
	rj_plan *p = PLAN("env");
	cr_assert_eq(rj_plan_set_env(p, "HOME", "/tmp"), 0);
	cr_assert_eq(rj_plan_set_env(p, "LANG", NULL), 0);
	static const char *const want[] = {
		"HOME=/tmp", "PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=/tmp",
	};
	expect_env(p, want, 3);
	rj_plan_free(p);
}

Test(sandbox, only_stdio_fds_open)
{
	rj_plan *p = PLAN("./fds");
	cr_assert_eq(rj_plan_add_host_file(p, "fds", prog_path("fds"), RJ_MODE_KEEP_EXEC),
		0, "%s", rj_plan_error(p));
	struct rec r = run1(p, 0, 10000);
	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s (stderr: %s)", r.res.message, r.err);
	cr_assert_str_eq(r.out, "0 1 2\n", "open fds in the sandbox: %s", r.out);
	rec_free(&r);

	/* ls's own directory fd is the only one it adds. */
	rj_plan *ls = PLAN("ls", "/proc/self/fd");
	r = run1(ls, 0, 10000);
	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s", r.res.message);
	cr_assert_str_eq(r.out, "0\n1\n2\n3\n");
	rec_free(&r);
	rj_plan_free(p);
	rj_plan_free(ls);
}

/* The program is a child of the sandbox's init (PID 1 of its own pid
 * namespace), not PID 1 itself, and has no controlling terminal and no
 * part in the caller's session. */
Test(sandbox, program_is_child_of_init_in_sandbox_session)
{
	rj_plan *p = PLAN("cat", "/proc/self/stat");
	struct rec r = run1(p, 0, 10000);
	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s", r.res.message);
	const char *after = strrchr(r.out, ')');
	cr_assert_not_null(after, "unreadable stat: %s", r.out);
	int pid = atoi(r.out), ppid, pgrp, sid, tty;
	char state;
	cr_assert_eq(sscanf(after + 1, " %c %d %d %d %d", &state, &ppid, &pgrp, &sid, &tty), 5,
		     "unreadable stat: %s", r.out);
	cr_assert_gt(pid, 1, "the program runs as PID %d", pid);
	cr_assert_eq(ppid, 1, "the program's parent is PID %d, not the sandbox's init", ppid);
	/* The caller's session and group, outside the pid namespace, would
	 * read as 0: they are led by the sandbox's init or the program. */
	cr_assert(sid == 1 || sid == pid, "the program's session is %d, led from outside the sandbox", sid);
	cr_assert(pgrp == 1 || pgrp == pid, "the program's process group is %d", pgrp);
	cr_assert_eq(tty, 0, "the program has a controlling terminal");
	rec_free(&r);
	rj_plan_free(p);
}

Test(sandbox, workspace_fresh_each_run)
{
	rj_plan *p = PLAN("/bin/sh", "-c",
			  "for f in /box/m /tmp/m; do test -e $f && echo found $f; done;"
			  "echo x > /box/m && echo y > /tmp/m && echo wrote");
	for (int i = 0; i < 3; i++) {
		struct rec r = run1(p, 0, 10000);
		cr_assert_eq(r.res.status, RJ_STATUS_OK, "run %d: %s (stderr: %s)", i, r.res.message, r.err);
		cr_assert_str_eq(r.out, "wrote\n", "run %d", i);
		rec_free(&r);
	}
	/* Also while the previous run's sandbox is still alive beside it. */
	struct col c;
	col_init(&c, 0, 4096);
	col_spawn(&c, p);
	col_spawn(&c, p);
	col_wait(&c, 10000);
	cr_assert_str_eq(c.recs[0].out, "wrote\n");
	cr_assert_str_eq(c.recs[1].out, "wrote\n");
	col_free(&c);
	rj_plan_free(p);
}

/* The open-files limit is the program's: a small one must not stop the
 * sandbox's own setup (Landlock takes descriptors of its own first). */
Test(sandbox, small_open_files_limit_still_runs_the_program)
{
	rj_plan *p = PLAN("/bin/true");
	set_limit(p, RJ_LIMIT_OPEN_FILES, 4);
	struct rec r = run1(p, 0, 10000);
	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s: %s", rj_status_name(r.res.status), r.res.message);
	rec_free(&r);
	rj_plan_free(p);
}

/* The header's promises: the version the header names is the one linked,
 * every limit has its name and its room in rj_result.enforced, and every
 * name table covers its enum. */
Test(header, version_and_name_tables)
{
	char want[32];
	snprintf(want, sizeof want, "%d.%d.", RJ_VERSION_MAJOR, RJ_VERSION_MINOR);
	cr_expect_eq(strncmp(rj_version(), want, strlen(want)), 0, "rj_version() %s, header %s",
		     rj_version(), want);
	struct rj_result r;
	cr_expect_geq(sizeof r.enforced, (size_t)RJ_LIMIT__COUNT);
	for (int l = 0; l < RJ_LIMIT__COUNT; l++)
		cr_expect_str_neq(rj_limit_name((enum rj_limit)l), "unknown", "limit %d", l);
	cr_expect_str_eq(rj_limit_name(RJ_LIMIT__COUNT), "unknown");
	for (int i = 0; i < RJ_LAYER_COUNT; i++)
		cr_expect(rj_layer_name(1u << i), "layer bit %d has no name", i);
	cr_expect_str_eq(rj_layer_name(RJ_LAYER_NET_NS_PRIVATE), "net_ns_private");
	cr_expect_null(rj_layer_name(1u << RJ_LAYER_COUNT));
	cr_expect_str_eq(rj_setup_stage_name(RJ_STAGE_CAPS), "capabilities");
	cr_expect_str_eq(rj_setup_stage_name(RJ_STAGE__COUNT), "unknown");
	cr_expect_str_eq(rj_enforce_name(RJ_ENFORCE_TMPFS), "tmpfs");
	cr_expect_str_eq(rj_status_name(RJ_STATUS_INVALID), "invalid");
}
