/* Sandboxes side by side on one executor: none may read, reach, signal or
 * share memory with another, and a workdir is never shared. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "checks.h"
#include "slowhost.h"

Test(hostile, neighbour_workspace_is_invisible, .timeout = 180)
{
	char name[64], secret[64];
	snprintf(name, sizeof name, "rj-secret-%d", getpid());
	snprintf(secret, sizeof secret, "neighbour-secret-%d", getpid());
	char box_path[128], tmp_path[128];
	snprintf(box_path, sizeof box_path, "/box/%s", name);
	snprintf(tmp_path, sizeof tmp_path, "/tmp/%s", name);
	/* A runs until B's search has ended and its stdin is closed, however
	 * long the search takes. */
	rj_plan *a = prog_plan("sleeper", "stdin", name, secret, NULL);
	cr_assert_eq(rj_plan_set_stdin_open(a, true), 0);
	cr_assert_eq(rj_plan_set_limit(a, RJ_LIMIT_WALL_TIME, 120000000), 0);
	rj_plan *b = prog_plan("findsecret", name, box_path, tmp_path, NULL);

	struct session s;
	session_start(&s);
	int ia = session_spawn(&s, a);
	cr_assert(session_wait_output(&s, ia, "started", (int)scaled_ms(10000)), "A never started");
	int ib = session_spawn(&s, b);
	cr_expect(session_wait(&s, ib, (int)scaled_ms(15000)));
	cr_expect(!s.o[ia].done, "A ended before B searched");
	cr_expect_eq(rj_close_stdin(s.ex, s.o[ia].id), 0);
	cr_expect(session_wait(&s, ia, (int)scaled_ms(15000)));
	session_end(&s);

	EXPECT_STATUS(&s.o[ia], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ia], "done");
	EXPECT_STATUS(&s.o[ib], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ib], "hits 0 ");
	EXPECT_NO_OUT(&s.o[ib], "found");
	EXPECT_NO_OUT(&s.o[ib], secret);
	const char *d = strstr(s.o[ib].out, "dirs ");
	cr_expect(d && atoi(d + 5) >= 5, "B searched almost nothing: %s", d);
	rj_plan_free(a);
	rj_plan_free(b);
}

Test(hostile, neighbour_abstract_socket_is_unreachable, .timeout = 60)
{
	char name[64];
	snprintf(name, sizeof name, "rj-peer-%d", getpid());
	rj_plan *a = prog_plan("abstract", "listen", name, "3", NULL);
	rj_plan *b = prog_plan("abstract", "connect", name, NULL);

	struct session s;
	session_start(&s);
	int ia = session_spawn(&s, a);
	cr_assert(session_wait_output(&s, ia, "listen: OK", 10000), "A never listened");
	int ib = session_spawn(&s, b);
	cr_expect(session_wait(&s, ib, 10000));
	cr_expect(session_wait(&s, ia, 15000));
	session_end(&s);

	EXPECT_STATUS(&s.o[ia], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ia], "accept: none");
	EXPECT_STATUS(&s.o[ib], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ib], "connect: E");
	EXPECT_NO_OUT(&s.o[ib], "send: OK");
	rj_plan_free(a);
	rj_plan_free(b);
}

Test(hostile, neighbour_cannot_be_signalled, .timeout = 60)
{
	char marker[64];
	snprintf(marker, sizeof marker, "rj-sig-%d", getpid());
	rj_plan *a = prog_plan("sleeper", "2.5", marker, "x", NULL);

	struct session s;
	session_start(&s);
	int ia = session_spawn(&s, a);
	cr_assert(session_wait_output(&s, ia, "started", 10000), "A never started");
	pid_t host_a = host_find_marker(marker);
	cr_expect_gt(host_a, 0, "A's host pid not found");
	char s_host_a[16];
	snprintf(s_host_a, sizeof s_host_a, "%d", host_a);
	/* B kills everything it sees, A's host pid, then the numbers a
	 * neighbour has in its own namespace: 1 and 2 (B's own program). */
	rj_plan *b = prog_plan("peerkill", s_host_a, "1", "3", "2", NULL);
	int ib = session_spawn(&s, b);
	cr_expect(session_wait(&s, ib, 10000));
	cr_expect(session_wait(&s, ia, 15000));
	session_end(&s);

	EXPECT_STATUS(&s.o[ia], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ia], "done");
	EXPECT_OUT(&s.o[ib], "self 2");
	char line[64];
	snprintf(line, sizeof line, "kill(%d): ESRCH", host_a);
	EXPECT_OUT(&s.o[ib], line);
	EXPECT_OUT(&s.o[ib], "trying kill(2)");
	/* B's kill(2) is its own death. */
	EXPECT_STATUS(&s.o[ib], RJ_STATUS_SIGNALED);
	cr_expect_eq(s.o[ib].res.signal, SIGKILL);
	rj_plan_free(a);
	rj_plan_free(b);
}

Test(hostile, neighbour_shared_memory_is_invisible, .timeout = 60)
{
	key_t key = (key_t)(0x726a0000 | (getpid() & 0xffff));
	char s_key[32];
	snprintf(s_key, sizeof s_key, "%d", key);
	cr_assert_lt(shmget(key, 0, 0), 0, "key %d already exists on the host", key);
	rj_plan *a = prog_plan("shm", "create", s_key, "3", NULL);
	rj_plan *b = prog_plan("shm", "probe", s_key, NULL);

	struct session s;
	session_start(&s);
	int ia = session_spawn(&s, a);
	cr_assert(session_wait_output(&s, ia, "created", 10000), "A never created");
	int host_id = shmget(key, 0, 0);
	int ib = session_spawn(&s, b);
	cr_expect(session_wait(&s, ib, 10000));
	cr_expect(session_wait(&s, ia, 15000));
	session_end(&s);

	EXPECT_STATUS(&s.o[ia], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ia], "shmget(create): OK");
	EXPECT_OUT(&s.o[ia], "sysvipc segments: 1");
	EXPECT_OUT(&s.o[ia], "done");
	EXPECT_STATUS(&s.o[ib], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ib], "shmget(probe): ENOENT");
	EXPECT_OUT(&s.o[ib], "shm_open(probe): E");
	EXPECT_OUT(&s.o[ib], "sysvipc segments: 0");
	EXPECT_NO_OUT(&s.o[ib], "secret");
	cr_expect_lt(host_id, 0, "A's segment is visible on the host");
	rj_plan_free(a);
	rj_plan_free(b);
}

Test(hostile, workdir_in_use_is_refused, .timeout = 60)
{
	char dir[] = "/tmp/rj-hostile-lock-XXXXXX";
	cr_assert(mkdtemp(dir));
	rj_plan *a = prog_plan("sleeper", "2", "started", "yes", NULL);
	cr_assert_eq(rj_plan_set_workdir(a, dir), 0, "%s", rj_plan_error(a));
	rj_plan *b = prog_plan("sleeper", "0", "second", "yes", NULL);
	cr_assert_eq(rj_plan_set_workdir(b, dir), 0, "%s", rj_plan_error(b));

	struct session s;
	session_start(&s);
	int ia = session_spawn(&s, a);
	cr_assert(session_wait_output(&s, ia, "started", 10000), "A never started");
	int ib = session_spawn(&s, b);
	cr_expect(session_wait(&s, ib, 10000));
	cr_expect(!s.o[ia].done, "A ended before B was refused");
	cr_expect(session_wait(&s, ia, 15000));
	session_end(&s);

	EXPECT_STATUS(&s.o[ia], RJ_STATUS_OK);
	EXPECT_STATUS(&s.o[ib], RJ_STATUS_SETUP_ERROR);
	cr_expect(strstr(s.o[ib].res.message, "in use"), "message: %s", s.o[ib].res.message);
	EXPECT_NO_OUT(&s.o[ib], "started");
	char path[128];
	snprintf(path, sizeof path, "%s/second", dir);
	cr_expect(!host_path_exists(path), "B ran in the shared workdir");
	remove_tree(dir);
	rj_plan_free(a);
	rj_plan_free(b);
}
