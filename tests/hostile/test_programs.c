/* Verdicts of programs that die, and real toolchains and runtimes under
 * the default policy. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"
#include "slowhost.h"

#define MIB (1ull << 20)

Test(hostile, sigsegv_is_signaled, .timeout = 30)
{
	rj_plan *p = prog_plan("segv", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_SIGNALED);
	cr_expect_eq(o.res.signal, SIGSEGV);
	cr_expect_eq(o.res.exit_code, -1);
	EXPECT_OUT(&o, "crashing");
	rj_plan_free(p);
}

Test(hostile, abort_is_signaled, .timeout = 30)
{
	rj_plan *p = prog_plan("abort", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_SIGNALED);
	cr_expect_eq(o.res.signal, SIGABRT);
	cr_expect_eq(o.res.exit_code, -1);
	EXPECT_OUT(&o, "aborting");
	rj_plan_free(p);
}

Test(hostile, fsize_limit_stops_a_big_file, .timeout = 30)
{
	rj_plan *p = prog_plan("bigfile", "big", "8", NULL);
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_FSIZE, 1 * MIB), 0);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OUTPUT_LIMIT);
	cr_expect_eq(o.res.signal, SIGXFSZ);
	EXPECT_OUT(&o, "open: OK");
	EXPECT_NO_OUT(&o, "wrote 8 MiB");
	rj_plan_free(p);
}

Test(hostile, fsize_limit_bounds_a_workdir_file, .timeout = 30)
{
	char dir[] = "/tmp/rj-hostile-fsize-XXXXXX";
	cr_assert(mkdtemp(dir));
	rj_plan *p = prog_plan("bigfile", "big", "8", NULL);
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_FSIZE, 1 * MIB), 0);
	cr_assert_eq(rj_plan_set_workdir(p, dir), 0, "%s", rj_plan_error(p));
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OUTPUT_LIMIT);
	cr_expect_eq(o.res.signal, SIGXFSZ);
	EXPECT_NO_OUT(&o, "wrote 8 MiB");
	char path[128];
	snprintf(path, sizeof path, "%s/big", dir);
	struct stat st;
	cr_expect_eq(stat(path, &st), 0, "no file on the host");
	cr_expect_eq(st.st_size, (off_t)MIB, "the host file has %lld bytes", (long long)st.st_size);
	cr_expect_eq(st.st_uid, getuid(), "the file was not handed back");
	remove_tree(dir);
	rj_plan_free(p);
}

Test(hostile, workdir_handback_is_safe, .timeout = 30)
{
	char dir[] = "/tmp/rj-hostile-handback-XXXXXX";
	cr_assert(mkdtemp(dir));
	struct stat passwd0, etc0;
	cr_assert_eq(lstat("/etc/passwd", &passwd0), 0);
	cr_assert_eq(lstat("/etc", &etc0), 0);
	rj_plan *p = prog_plan("handback", NULL);
	cr_assert_eq(rj_plan_set_workdir(p, dir), 0, "%s", rj_plan_error(p));
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "symlink(passwd): OK");
	EXPECT_OUT(&o, "chmod(locked): OK");
	/* The host's files behind the symlinks kept their owner and mode. */
	struct stat passwd1, etc1;
	cr_assert_eq(lstat("/etc/passwd", &passwd1), 0);
	cr_assert_eq(lstat("/etc", &etc1), 0);
	cr_expect(passwd1.st_uid == passwd0.st_uid && passwd1.st_gid == passwd0.st_gid &&
		  passwd1.st_mode == passwd0.st_mode, "/etc/passwd changed owner or mode");
	cr_expect(etc1.st_uid == etc0.st_uid && etc1.st_gid == etc0.st_gid &&
		  etc1.st_mode == etc0.st_mode, "/etc changed owner or mode");
	/* What the program made is the caller's, so the caller can remove it. */
	const char *names[] = { "passwd", "etc", "up", "locked", "private" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char path[128];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		cr_expect_eq(lstat(path, &st), 0, "%s is missing", path);
		cr_expect_eq(st.st_uid, getuid(), "%s belongs to uid %d", path, st.st_uid);
	}
	cr_expect_eq(remove_tree(dir), 0, "the caller cannot remove the workdir");
	cr_expect(!host_path_exists(dir));
	rj_plan_free(p);
}

Test(hostile, shell_pipeline_runs, .timeout = 30)
{
	const char *argv[] = { "/bin/sh", "-c",
		"seq 1 100 | grep 7 | sort -r | head -n 3 | tr '\\n' ' '; echo; "
		"seq 1 100 | grep -c 7", NULL };
	rj_plan *p = cmd_plan(argv);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_str_eq(o.out, "97 87 79 \n19\n");
	rj_plan_free(p);
}

Test(hostile, python3_runs, .timeout = 60)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("/usr/bin/python3 is not installed");
	const char *argv[] = { "/usr/bin/python3", "-c",
		"import os, sys; print(sum(range(10)), os.getuid(), sys.version_info[0])", NULL };
	rj_plan *p = cmd_plan(argv);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_str_eq(o.out, "45 1000 3\n");
	rj_plan_free(p);
}

Test(hostile, node_runs, .timeout = 60)
{
	if (access("/usr/bin/node", X_OK) != 0)
		cr_skip_test("/usr/bin/node is not installed");
	const char *argv[] = { "/usr/bin/node", "-e", "console.log(6*7)", NULL };
	rj_plan *p = cmd_plan(argv);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_str_eq(o.out, "42\n");
	rj_plan_free(p);
}

Test(hostile, java_source_runs, .timeout = 300)
{
	if (access("/usr/bin/java", X_OK) != 0)
		cr_skip_test("/usr/bin/java is not installed");
	static const char src[] =
		"public class Hello {\n"
		"    public static void main(String[] a) {\n"
		"        System.out.println(\"hello from java \" + (6 * 7));\n"
		"    }\n"
		"}\n";
	const char *argv[] = { "/usr/bin/java", "Hello.java", NULL };
	rj_plan *p = cmd_plan(argv);
	cr_assert_eq(rj_plan_add_file(p, "Hello.java", src, sizeof src - 1, 0644), 0);
	/* 20 s here; scaled on a slow host (tests/common/slowhost.h), where the
	 * JVM and javac took more than 20 s of CPU. */
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_WALL_TIME, scaled_us(20000000)), 0);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect_str_eq(o.out, "hello from java 42\n");
	rj_plan_free(p);
}

Test(hostile, gcc_output_runs_in_a_second_sandbox, .timeout = 90)
{
	if (access("/usr/bin/gcc", X_OK) != 0)
		cr_skip_test("/usr/bin/gcc is not installed");
	char dir[] = "/tmp/rj-hostile-gcc-XXXXXX";
	cr_assert(mkdtemp(dir));
	static const char src[] =
		"#include <stdio.h>\n"
		"int main(void) { printf(\"hello from a.out %d\\n\", 6 * 7); return 0; }\n";
	const char *cc[] = { "gcc", "-O2", "-o", "a.out", "hello.c", NULL };
	rj_plan *p = cmd_plan(cc);
	cr_assert_eq(rj_plan_add_file(p, "hello.c", src, sizeof src - 1, 0644), 0);
	cr_assert_eq(rj_plan_set_workdir(p, dir), 0, "%s", rj_plan_error(p));
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_WALL_TIME, 30000000), 0);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);

	/* The compiler's output is handed back to the caller. */
	char path[128];
	snprintf(path, sizeof path, "%s/a.out", dir);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "no a.out on the host");
	cr_expect_eq(st.st_uid, getuid(), "a.out belongs to uid %d, not the caller's %d",
		     st.st_uid, getuid());
	cr_expect_eq(st.st_gid, getgid(), "a.out belongs to gid %d", st.st_gid);

	const char *run[] = { "./a.out", NULL };
	rj_plan *q = cmd_plan(run);
	cr_assert_eq(rj_plan_set_workdir(q, dir), 0, "%s", rj_plan_error(q));
	struct outcome o2;
	run_plan(q, &o2);
	EXPECT_STATUS(&o2, RJ_STATUS_OK);
	cr_expect_str_eq(o2.out, "hello from a.out 42\n");

	cr_expect_eq(remove_tree(dir), 0, "the caller cannot remove the workdir");
	cr_expect(!host_path_exists(dir));
	rj_plan_free(p);
	rj_plan_free(q);
}
