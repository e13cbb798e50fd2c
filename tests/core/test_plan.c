/* The plan builder: refusals at the setter, and plans reused or freed
 * while their sandboxes run. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "util.h"

Test(plan, empty_argv_is_einval)
{
	const char *none[] = { NULL };
	const char *empty[] = { "", "x", NULL };

	errno = 0;
	cr_assert_null(rj_plan_new(none));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(rj_plan_new(empty));
	cr_assert_eq(errno, EINVAL);
	errno = 0;
	cr_assert_null(rj_plan_new(NULL));
	cr_assert_eq(errno, EINVAL);
}

Test(plan, env_name_with_equals_is_einval_with_message)
{
	rj_plan *p = PLAN("env");

	cr_assert_eq(rj_plan_error(p)[0], '\0', "a fresh plan has no error");
	cr_assert_eq(rj_plan_set_env(p, "A=B", "c"), -EINVAL);
	cr_assert_neq(rj_plan_error(p)[0], '\0', "no message for a name holding '='");
	cr_assert_not_null(strstr(rj_plan_error(p), "A=B"), "message does not name the variable: %s",
			   rj_plan_error(p));
	cr_assert_eq(rj_plan_set_env(p, "", "c"), -EINVAL);
	cr_assert_neq(rj_plan_error(p)[0], '\0', "no message for an empty name");
	cr_assert_eq(rj_plan_set_env(p, "GOOD", "x=y"), 0, "'=' in a value is fine");

	/* The refused variables never reach the sandbox; the good one does. */
	struct rec r = run1(p, 0, 10000);
	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s", r.res.message);
	cr_assert(has_line(r.out, "GOOD=x=y"), "env printed:\n%s", r.out);
	cr_assert_null(strstr(r.out, "A=B"), "env printed:\n%s", r.out);
	rec_free(&r);
	rj_plan_free(p);
}

static const char *const escaping[] = { "../x", "/etc/x", "a/../../b", "", "..", "a/b/../../../c", NULL };

Test(plan, file_paths_escaping_workspace_are_einval_with_message)
{
	rj_plan *p = PLAN("true");

	for (size_t i = 0; escaping[i]; i++) {
		int r = rj_plan_add_file(p, escaping[i], "x", 1, 0644);
		cr_assert_eq(r, -EINVAL, "rj_plan_add_file(\"%s\") = %d", escaping[i], r);
		cr_assert_neq(rj_plan_error(p)[0], '\0', "no message for \"%s\"", escaping[i]);
		cr_assert_not_null(strstr(rj_plan_error(p), escaping[i]),
				   "message does not name \"%s\": %s", escaping[i], rj_plan_error(p));
	}
	cr_assert_eq(rj_plan_add_file(p, "dir/sub/ok.txt", "x", 1, 0644), 0, "%s", rj_plan_error(p));
	rj_plan_free(p);
}

Test(plan, host_file_paths_escaping_workspace_are_einval_with_message)
{
	rj_plan *p = PLAN("true");
	const char *host = prog_path("abort");

	for (size_t i = 0; escaping[i]; i++) {
		int r = rj_plan_add_host_file(p, escaping[i], host, RJ_MODE_KEEP_EXEC);
		cr_assert_eq(r, -EINVAL, "rj_plan_add_host_file(\"%s\") = %d", escaping[i], r);
		cr_assert_neq(rj_plan_error(p)[0], '\0', "no message for \"%s\"", escaping[i]);
	}
	cr_assert_eq(rj_plan_add_host_file(p, "bin/abort", host, RJ_MODE_KEEP_EXEC),
		0, "%s", rj_plan_error(p));
	rj_plan_free(p);
}

/* A host file's mode in the sandbox is the caller's (as for
 * rj_plan_add_file, set-id bits included), or with RJ_MODE_KEEP_EXEC 0755
 * or 0644 by the host file's executable bit and nothing else of its mode.
 * A mode past 07777 is refused before the host file is read. */
Test(plan, host_file_mode_is_the_callers_or_keeps_the_exec_bit)
{
	rj_plan *p = PLAN("/usr/bin/stat", "-c", "%a %n", "x", "plain", "mine", "suid");
	const char *exe = prog_path("abort");
	char plain[] = "/tmp/rj-plan-modeXXXXXX";
	int fd = mkstemp(plain);

	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, "data\n", 5), 5);
	cr_assert_eq(fchmod(fd, 0600), 0);
	close(fd);
	static const unsigned bad[] = { 010000, 0170644, RJ_MODE_KEEP_EXEC - 1 };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		cr_assert_eq(rj_plan_add_host_file(p, "bad", exe, bad[i]), -EINVAL, "mode %#o", bad[i]);
		cr_assert_not_null(strstr(rj_plan_error(p), "mode"), "mode %#o: %s", bad[i],
				   rj_plan_error(p));
	}
	/* Refused before the host file is opened: a missing one is not named. */
	cr_assert_eq(rj_plan_add_host_file(p, "bad", "/nonexistent/x", 010000), -EINVAL);
	cr_assert_eq(rj_plan_add_host_file(p, "x", exe, RJ_MODE_KEEP_EXEC), 0, "%s", rj_plan_error(p));
	cr_assert_eq(rj_plan_add_host_file(p, "plain", plain, RJ_MODE_KEEP_EXEC), 0, "%s",
		     rj_plan_error(p));
	cr_assert_eq(rj_plan_add_host_file(p, "mine", plain, 0700), 0, "%s", rj_plan_error(p));
	cr_assert_eq(rj_plan_add_host_file(p, "suid", exe, 04755), 0, "%s", rj_plan_error(p));
	unlink(plain);

	struct rec r = run1(p, 0, 10000);
	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s", r.res.message);
	cr_assert_str_eq(r.out, "755 x\n644 plain\n700 mine\n4755 suid\n");
	rec_free(&r);
	rj_plan_free(p);
}

Test(plan, zero_limit_is_einval_with_message)
{
	rj_plan *p = PLAN("true");

	for (int l = 0; l < RJ_LIMIT__COUNT; l++) {
		uint64_t before = rj_plan_get_limit(p, l);
		int r = rj_plan_set_limit(p, l, 0);
		cr_assert_eq(r, -EINVAL, "limit %s = 0 gave %d", rj_limit_name(l), r);
		cr_assert_neq(rj_plan_error(p)[0], '\0', "no message for limit %s = 0", rj_limit_name(l));
		cr_assert_eq(rj_plan_get_limit(p, l), before, "a refused limit %s changed the plan",
			     rj_limit_name(l));
	}
	set_limit(p, RJ_LIMIT_WALL_TIME, 1234567);
	cr_assert_eq(rj_plan_get_limit(p, RJ_LIMIT_WALL_TIME), 1234567);
	rj_plan_free(p);
}

/* One plan spawned many times, several at once, then again after the
 * first batch ended: every run sees the same files, stdin and env. */
Test(plan, spawned_many_times)
{
	rj_plan *p = PLAN("/bin/sh", "script.sh");
	const char script[] = "read line; echo \"$line $V $(cat data.txt)\"\n";

	cr_assert_eq(rj_plan_add_file(p, "script.sh", script, sizeof script - 1, 0644), 0);
	cr_assert_eq(rj_plan_add_file(p, "data.txt", "d", 1, 0644), 0);
	cr_assert_eq(rj_plan_set_stdin(p, "in\n", 3), 0);
	cr_assert_eq(rj_plan_set_env(p, "V", "v"), 0);

	struct col c;
	col_init(&c, 0, 4096);
	for (int round = 0; round < 3; round++) {
		size_t first = c.n;
		for (int i = 0; i < 10; i++)
			col_spawn(&c, p);
		col_wait(&c, 20000);
		for (size_t i = first; i < c.n; i++) {
			cr_assert_eq(c.recs[i].res.status, RJ_STATUS_OK, "run %zu: %s", i,
				     c.recs[i].res.message);
			cr_assert_str_eq(c.recs[i].out, "in v d\n", "run %zu", i);
		}
	}
	col_free(&c);
	rj_plan_free(p);
}

/* The sandbox keeps what it needs from the plan: freeing the plan right
 * after rj_spawn changes nothing for the run. */
Test(plan, freed_right_after_spawn_still_runs)
{
	struct col c;
	col_init(&c, 0, 1 << 20);
	static char big[256 * 1024];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + i % 26);

	for (int i = 0; i < 4; i++) {
		rj_plan *p = PLAN("/bin/sh", "-c", "./prog && cat big.txt && read l && echo \"$l $V\"");
		const char prog[] = "#!/bin/sh\necho prog-ran\n";
		cr_assert_eq(rj_plan_add_file(p, "prog", prog, sizeof prog - 1, 0755), 0);
		cr_assert_eq(rj_plan_add_file(p, "big.txt", big, sizeof big, 0644), 0);
		cr_assert_eq(rj_plan_set_stdin(p, "stdin-line\n", 11), 0);
		cr_assert_eq(rj_plan_set_env(p, "V", "env-value"), 0);
		set_limit(p, RJ_LIMIT_WALL_TIME, 8000000);
		col_spawn(&c, p);
		/* Scribble over the freed plan's memory's neighbours by
		 * allocating and filling what malloc hands back. */
		rj_plan_free(p);
		void *junk = malloc(4096);
		memset(junk, 0x5a, 4096);
		free(junk);
	}
	col_wait(&c, 20000);

	char want[sizeof big + 64];
	int n = snprintf(want, sizeof want, "prog-ran\n");
	memcpy(want + n, big, sizeof big);
	n += (int)sizeof big;
	n += snprintf(want + n, sizeof want - (size_t)n, "stdin-line env-value\n");
	for (size_t i = 0; i < c.n; i++) {
		struct rec *r = &c.recs[i];
		cr_assert_eq(r->res.status, RJ_STATUS_OK, "run %zu: %s (stderr: %s)", i, r->res.message, r->err);
		cr_assert_eq(r->out_len, (size_t)n, "run %zu: %zu bytes of output, not %d", i, r->out_len, n);
		cr_assert(!memcmp(r->out, want, (size_t)n), "run %zu: output differs", i);
	}
	col_free(&c);
}

/* The stdin file is opened again at each spawn: a link planted in the
 * workdir after the plan was made must be refused then too, not followed
 * to a file of the caller's. */
Test(plan, stdin_in_workdir_replaced_by_a_link_is_refused_at_spawn)
{
	char dir[] = "/tmp/rj-core-stdin-XXXXXX", in[128], secret[128];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(in, sizeof in, "%s/in", dir);
	snprintf(secret, sizeof secret, "%s.secret", dir);
	FILE *f = fopen(in, "w");
	cr_assert_not_null(f);
	fputs("public\n", f);
	fclose(f);
	f = fopen(secret, "w");
	cr_assert_not_null(f);
	fputs("secret\n", f);
	fclose(f);
	rj_plan *p = PLAN("/bin/cat");
	cr_assert_eq(rj_plan_set_workdir(p, dir), 0, "%s", rj_plan_error(p));
	cr_assert_eq(rj_plan_set_stdin_file(p, in), 0, "%s", rj_plan_error(p));
	struct rec r = run1(p, 0, 10000);
	cr_assert_eq(r.res.status, RJ_STATUS_OK, "%s", r.res.message);
	cr_assert_str_eq(r.out, "public\n");
	rec_free(&r);
	cr_assert_eq(unlink(in), 0);
	cr_assert_eq(symlink(secret, in), 0);
	/* Refused by the spawn itself, which fires nothing. */
	struct col c;
	col_init(&c, 0, 64);
	uint64_t id = 0;
	int rc = rj_spawn(c.ex, p, NULL, &id);
	cr_assert_eq(rc, -ELOOP, "rj_spawn = %d (%s)", rc, rj_executor_error(c.ex));
	cr_assert_not_null(strstr(rj_executor_error(c.ex), "symbolic link"), "%s", rj_executor_error(c.ex));
	cr_assert_eq(rj_executor_active(c.ex), 0);
	col_free(&c);
	rj_plan_free(p);
	unlink(in);
	unlink(secret);
	rmdir(dir);
}

static bool valid_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		int n = *u < 0x80 ? 0 : (*u & 0xE0) == 0xC0 ? 1 : (*u & 0xF0) == 0xE0 ? 2 : (*u & 0xF8) == 0xF0 ? 3 : -1;
		if (n < 0)
			return false;
		u++;
		while (n--)
			if ((*u++ & 0xC0) != 0x80)
				return false;
	}
	return true;
}

/* A message that quotes a long name is cut between characters, never
 * inside one: a JSON encoder refuses half a character. */
Test(plan, long_messages_are_cut_between_utf8_characters)
{
	for (int pad = 0; pad < 3; pad++) {
		char path[1200] = "/nonexistent/";
		size_t at = strlen(path);
		for (int i = 0; i < pad; i++)
			path[at++] = 'x';
		while (at + 3 < sizeof path) {
			memcpy(path + at, "\xc3\xa9", 2); /* é */
			at += 2;
		}
		path[at] = '\0';
		rj_plan *p = PLAN("/bin/true");
		cr_assert_lt(rj_plan_set_stdin_file(p, path), 0);
		cr_assert(valid_utf8(rj_plan_error(p)), "pad %d: a character was cut: %s", pad, rj_plan_error(p));
		cr_assert_gt(strlen(rj_plan_error(p)), 100);
		rj_plan_free(p);
	}
}
