/* One sandbox against the host: each test runs a hostile program from
 * progs/ and checks both what the program saw (its output and status) and
 * that the host shows no effect of it. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

#define MIB (1ull << 20)

/* ---- the layers ----------------------------------------------------------- */

Test(hostile, every_required_layer_is_applied, .timeout = 30)
{
	rj_plan *p = prog_plan("setuid", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	const uint32_t required = RJ_LAYER_USER_NS | RJ_LAYER_PID_NS | RJ_LAYER_MOUNT_NS |
		RJ_LAYER_NET_NS | RJ_LAYER_IPC_NS | RJ_LAYER_UTS_NS | RJ_LAYER_SECCOMP |
		RJ_LAYER_CAPS | RJ_LAYER_NO_NEW_PRIVS;
	cr_expect_eq(o.res.hardening & required, required, "hardening 0x%x", o.res.hardening);
	/* This kernel offers Landlock (ABI 7 here), so it must be applied. */
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1u /* VERSION */);
	if (abi >= 1)
		cr_expect(o.res.hardening & RJ_LAYER_LANDLOCK, "Landlock ABI %ld not applied", abi);
	if (abi >= 6)
		cr_expect(o.res.hardening & RJ_LAYER_LANDLOCK_SCOPE, "no Landlock scope");
	/* What the program sees of it. */
	EXPECT_OUT(&o, "CapEff:\t0000000000000000");
	EXPECT_OUT(&o, "CapPrm:\t0000000000000000");
	EXPECT_OUT(&o, "CapBnd:\t0000000000000000");
	EXPECT_OUT(&o, "CapAmb:\t0000000000000000");
	EXPECT_OUT(&o, "NoNewPrivs:\t1");
	EXPECT_OUT(&o, "Seccomp:\t2");
	rj_plan_free(p);
}

/* ---- resources ---------------------------------------------------------- */

Test(hostile, fork_bomb_is_contained, .timeout = 60)
{
	char marker[64];
	snprintf(marker, sizeof marker, "rj-bomb-%d", getpid());
	int before = host_proc_count();
	rj_plan *p = prog_plan("forkbomb", marker, NULL);
	struct outcome o;
	run_plan(p, &o);
	int after = host_proc_count();
	pid_t left = host_find_marker(marker);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "fork: EAGAIN after");
	EXPECT_OUT(&o, "bomb: done");
	const char *at = strstr(o.out, "after ");
	cr_expect(at && atoi(at + 6) < 64, "the bomb's first process forked %s", at);
	cr_expect_eq(left, 0, "pid %d of the bomb is still on the host", left);
	cr_expect_leq(after, before + 40, "host processes: %d before, %d after", before, after);
	rj_plan_free(p);
}

Test(hostile, memory_bomb_is_contained, .timeout = 60)
{
	rj_plan *p = prog_plan("membomb", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_MEMORY_LIMIT);
	EXPECT_OUT(&o, "touched 256 MiB");
	EXPECT_NO_OUT(&o, "touched 576 MiB");
	cr_expect_leq(o.res.memory_kib, 512 * 1024 * 11 / 10,
		      "peak %llu KiB over the 512 MiB limit",
		      (unsigned long long)o.res.memory_kib);
	rj_plan_free(p);
}

static void disk_fill(const char *path, unsigned long long at_least)
{
	rj_plan *p = prog_plan("diskfill", path, NULL);
	cr_assert_eq(rj_plan_set_limit(p, RJ_LIMIT_DISK, 8 * MIB), 0);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	/* A memory-backed filesystem of the limit's size: nothing reaches
	 * the host's disks. */
	EXPECT_OUT(&o, "statfs: type=0x1021994 size=8388608");
	EXPECT_OUT(&o, "write: ENOSPC after");
	const char *at = strstr(o.out, "ENOSPC after ");
	unsigned long long wrote = at ? strtoull(at + 13, NULL, 10) : 0;
	cr_expect(wrote <= 8 * MIB && wrote >= at_least, "wrote %llu bytes", wrote);
	/* The filesystem is charged to the sandbox's memory. */
	if (o.res.hardening & RJ_LAYER_CGROUP)
		cr_expect_geq(o.res.memory_kib * 1024, wrote, "peak %llu KiB, wrote %llu",
			      (unsigned long long)o.res.memory_kib, wrote);
	rj_plan_free(p);
}

Test(hostile, disk_fill_in_box_is_bounded, .timeout = 30)
{
	/* The program's own copy takes part of /box. */
	disk_fill("/box/fill", 5 * MIB);
}

Test(hostile, disk_fill_in_tmp_is_bounded, .timeout = 30)
{
	disk_fill("/tmp/fill", 7 * MIB);
}

Test(hostile, disk_fill_in_dev_shm_is_bounded, .timeout = 30)
{
	disk_fill("/dev/shm/fill", 7 * MIB);
}

Test(hostile, ten_thousand_fds_stop_at_the_limit, .timeout = 30)
{
	rj_plan *p = prog_plan("fds", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "open: EMFILE after");
	const char *last = strstr(o.out, "last fd ");
	cr_expect(last && atoi(last + 8) <= 255, "last fd: %s", last);
	rj_plan_free(p);
}

/* ---- files of the host ---------------------------------------------------- */

Test(hostile, etc_shadow_is_unreadable, .timeout = 30)
{
	rj_plan *p = prog_plan("readfile", "/etc/shadow", "/etc/gshadow", "/etc/sudoers", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "open /etc/shadow: E");
	EXPECT_OUT(&o, "open /etc/gshadow: E");
	EXPECT_NO_OUT(&o, ": OK");
	/* The host's real entries, where the test can read them. */
	char *shadow = read_text("/etc/shadow");
	if (shadow) {
		char *nl = strchr(shadow, '\n');
		if (nl)
			*nl = '\0';
		cr_expect(!*shadow || !strstr(o.out, shadow), "the host's shadow leaked");
		free(shadow);
	}
	rj_plan_free(p);
}

Test(hostile, host_files_are_invisible, .timeout = 30)
{
	char path[128], secret[64];
	snprintf(path, sizeof path, "/tmp/rj-hostile-secret-%d", getpid());
	snprintf(secret, sizeof secret, "host-secret-%d", getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
	close(fd);
	chmod(path, 0644);

	rj_plan *p = prog_plan("readfile", path, "/etc/hostname", "/etc/machine-id",
			       "/root/.bashrc", "/home", "/var/log/syslog", NULL);
	struct outcome o;
	run_plan(p, &o);
	unlink(path);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_NO_OUT(&o, secret);
	EXPECT_NO_OUT(&o, ": OK");
	rj_plan_free(p);
}

Test(hostile, writes_outside_the_workspace_never_reach_the_host, .timeout = 30)
{
	const char *dirs[] = { "/tmp", "/root", "/etc", "/usr", "/usr/bin", "/var/tmp",
			       "/dev/shm", "/run", "" };
	enum { N = sizeof dirs / sizeof *dirs };
	char paths[N][128];
	const char *argv[N + 2];
	size_t n = 0;
	argv[n++] = "./writefile";
	for (size_t i = 0; i < N; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/rj-hostile-mark-%d", dirs[i], getpid());
		cr_assert(!host_path_exists(paths[i]));
		argv[n++] = paths[i];
	}
	argv[n] = NULL;
	rj_plan *p = cmd_plan(argv);
	cr_assert_eq(rj_plan_add_host_file(p, "writefile", prog_path("writefile"),
					   RJ_MODE_KEEP_EXEC), 0);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	for (size_t i = 0; i < N; i++) {
		cr_expect(!host_path_exists(paths[i]), "%s appeared on the host", paths[i]);
		unlink(paths[i]);
		/* Only the sandbox's own /tmp and /dev/shm take files; the
		 * system's directories refuse them even inside. */
		char line[sizeof paths[i] + 16];
		snprintf(line, sizeof line, "create %.127s: OK", paths[i]);
		if (strcmp(dirs[i], "/tmp") != 0 && strcmp(dirs[i], "/dev/shm") != 0)
			EXPECT_NO_OUT(&o, line);
	}
	rj_plan_free(p);
}

Test(hostile, mknod_fails, .timeout = 30)
{
	rj_plan *p = prog_plan("mknod", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "mknod(mem): EPERM");
	EXPECT_OUT(&o, "mknod(sda): EPERM");
	EXPECT_OUT(&o, "mknod(/tmp/kmsg): EPERM");
	EXPECT_OUT(&o, "mem exists: no");
	rj_plan_free(p);
}

/* ---- processes of the host ------------------------------------------------ */

Test(hostile, proc_lists_only_the_sandbox, .timeout = 30)
{
	char self[16], parent[16];
	snprintf(self, sizeof self, "%d", getpid());
	snprintf(parent, sizeof parent, "%d", getppid());
	rj_plan *p = prog_plan("proclist", self, parent, NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	const char *c = strstr(o.out, "count ");
	int count = c ? atoi(c + 6) : -1;
	const char *m = strstr(o.out, "max ");
	int max = m ? atoi(m + 4) : -1;
	cr_expect(count >= 1 && count <= 3, "%d processes visible", count);
	cr_expect(max >= 1 && max <= 5, "largest visible pid %d", max);
	char line[64];
	snprintf(line, sizeof line, "probe %s: ENOENT", self);
	EXPECT_OUT(&o, line);
	snprintf(line, sizeof line, "probe %s: ENOENT", parent);
	EXPECT_OUT(&o, line);
	rj_plan_free(p);
}

Test(hostile, proc_1_environ_is_not_the_hosts, .timeout = 30)
{
	cr_assert(getenv("RJ_HOSTILE_SECRET"), "meson's test environment is missing");
	setenv("RJ_HOSTILE_LATE_SECRET", "rj-hostile-late-secret-6161", 1);
	rj_plan *p = prog_plan("readfile", "/proc/1/environ", "/proc/2/environ",
			       "/proc/self/environ", "/proc/1/cmdline", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_NO_OUT(&o, "rj-hostile-env-secret");
	EXPECT_NO_OUT(&o, "rj-hostile-late-secret");
	EXPECT_NO_OUT(&o, "RJ_BUILD_ROOT");
	/* The program's own environment is the sandbox's default one. */
	EXPECT_OUT(&o, "HOME=/box");
	rj_plan_free(p);
}

Test(hostile, proc_1_cmdline_is_not_the_hosts, .timeout = 30)
{
	/* The sandbox's PID 1 must not show the caller's command line, which
	 * may carry paths or tokens of the host. */
	char *self = read_text("/proc/self/cmdline");
	cr_assert(self && *self);
	rj_plan *p = prog_plan("readfile", "/proc/1/cmdline", "/proc/1/status", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	cr_expect(!strstr(o.out, self), "the caller's command line \"%s\" shows inside:\n%s",
		  self, o.out);
	free(self);
	rj_plan_free(p);
}

Test(hostile, caller_environment_is_not_visible, .timeout = 30)
{
	setenv("RJ_HOSTILE_LATE_SECRET", "rj-hostile-late-secret-6161", 1);
	const char *argv[] = { "/bin/sh", "-c",
		"for f in /proc/*/environ; do echo \"== $f\"; tr '\\0' '\\n' < $f; done; "
		"echo '== env'; env", NULL };
	rj_plan *p = cmd_plan(argv);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "== env");
	EXPECT_OUT(&o, "PATH=/usr/local/bin:/usr/bin:/bin");
	EXPECT_NO_OUT(&o, "rj-hostile-env-secret");
	EXPECT_NO_OUT(&o, "rj-hostile-late-secret");
	EXPECT_NO_OUT(&o, "RJ_BUILD_ROOT");
	rj_plan_free(p);
}

static pid_t start_host_sleeper(void)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

Test(hostile, kill_all_and_kill_parent_spare_the_host, .timeout = 30)
{
	pid_t sleeper = start_host_sleeper();
	char s_self[16], s_sleeper[16], s_parent[16];
	snprintf(s_self, sizeof s_self, "%d", getpid());
	snprintf(s_sleeper, sizeof s_sleeper, "%d", sleeper);
	snprintf(s_parent, sizeof s_parent, "%d", getppid());
	rj_plan *p = prog_plan("killall", s_self, s_sleeper, s_parent, NULL);
	struct outcome o;
	run_plan(p, &o);

	int st;
	pid_t gone = waitpid(sleeper, &st, WNOHANG);
	cr_expect_eq(gone, 0, "the host sleeper died (%d, status 0x%x)", gone, st);
	cr_expect_eq(kill(sleeper, 0), 0);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);

	/* Inside, kill(-1) reaches only the sandbox, PID 1 ignores signals
	 * from its own namespace, and host pids do not exist. */
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "ppid 1\n");
	EXPECT_OUT(&o, "alive");
	char line[64];
	snprintf(line, sizeof line, "kill(%s): ESRCH", s_self);
	EXPECT_OUT(&o, line);
	snprintf(line, sizeof line, "kill(%s): ESRCH", s_sleeper);
	EXPECT_OUT(&o, line);
	rj_plan_free(p);
}

Test(hostile, ptrace_of_the_parent_is_a_violation, .timeout = 30)
{
	rj_plan *p = prog_plan("ptrace", "parent", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_VIOLATION(&o, "attaching 1");
	rj_plan_free(p);
}

Test(hostile, ptrace_of_a_host_pid_is_a_violation, .timeout = 30)
{
	char self[16];
	snprintf(self, sizeof self, "%d", getpid());
	rj_plan *p = prog_plan("ptrace", self, NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_VIOLATION(&o, "attaching");
	rj_plan_free(p);
}

Test(hostile, daemon_does_not_outlive_the_sandbox, .timeout = 60)
{
	char marker[64];
	snprintf(marker, sizeof marker, "rj-daemon-%d", getpid());
	rj_plan *p = prog_plan("daemon", marker, NULL);
	struct session s;
	session_start(&s);
	s.scan_marker = marker;
	int i = session_spawn(&s, p);
	cr_expect(session_wait_output(&s, i, "daemon ", 10000), "the daemon never started");
	pid_t running = host_find_marker(marker);
	cr_expect(session_wait(&s, i, 15000), "no final event");
	session_end(&s);

	struct outcome *o = &s.o[i];
	EXPECT_STATUS(o, RJ_STATUS_OK);
	EXPECT_OUT(o, "parent: exiting");
	cr_expect_lt(o->res.wall_ms, 5000, "the run waited for its daemon");
	cr_expect_gt(running, 0, "the marker was not found on the host while it ran");
	cr_expect_eq(o->marker_pid, 0, "daemon pid %d still on the host at the final event",
		     o->marker_pid);
	cr_expect_eq(host_find_marker(marker), 0);
	rj_plan_free(p);
}

/* ---- the network ---------------------------------------------------------- */

static int host_listener(int type, int *port)
{
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 8), 0);
	socklen_t len = sizeof sa;
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

Test(hostile, tcp_connect_to_the_host_fails, .timeout = 30)
{
	int port;
	int lfd = host_listener(SOCK_STREAM, &port);
	char s_port[16];
	snprintf(s_port, sizeof s_port, "%d", port);
	rj_plan *p = prog_plan("inet", "tcp", s_port, NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "socket: EAFNOSUPPORT");
	EXPECT_OUT(&o, "socket6: EAFNOSUPPORT");
	EXPECT_NO_OUT(&o, "connect: OK");
	EXPECT_NO_OUT(&o, "connect6: OK");
	int c = accept(lfd, NULL, NULL);
	cr_expect(c < 0 && errno == EAGAIN, "the host listener got a connection");
	close(lfd);
	rj_plan_free(p);
}

Test(hostile, udp_send_to_the_host_fails, .timeout = 30)
{
	int port;
	int lfd = host_listener(SOCK_DGRAM, &port);
	char s_port[16];
	snprintf(s_port, sizeof s_port, "%d", port);
	rj_plan *p = prog_plan("inet", "udp", s_port, NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "socket: EAFNOSUPPORT");
	EXPECT_NO_OUT(&o, "sendto: OK");
	char buf[16];
	ssize_t n = recv(lfd, buf, sizeof buf, 0);
	cr_expect(n < 0 && errno == EAGAIN, "the host socket received %zd bytes", n);
	close(lfd);
	rj_plan_free(p);
}

Test(hostile, raw_and_packet_sockets_fail, .timeout = 30)
{
	rj_plan *p = prog_plan("rawsock", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "socket(AF_INET, SOCK_RAW): E");
	EXPECT_OUT(&o, "socket(AF_PACKET, SOCK_RAW): E");
	EXPECT_OUT(&o, "socket(AF_PACKET, SOCK_DGRAM): E");
	EXPECT_NO_OUT(&o, ": OK");
	rj_plan_free(p);
}

Test(hostile, host_abstract_unix_socket_is_unreachable, .timeout = 30)
{
	char name[64];
	snprintf(name, sizeof name, "rj-test-%d", getpid());
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(lfd, 0);
	struct sockaddr_un su = { .sun_family = AF_UNIX };
	memcpy(su.sun_path + 1, name, strlen(name));
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	cr_assert_eq(bind(lfd, (struct sockaddr *)&su, len), 0);
	cr_assert_eq(listen(lfd, 8), 0);

	rj_plan *p = prog_plan("abstract", "connect", name, NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "socket: OK");
	EXPECT_OUT(&o, "connect: E");
	int c = accept(lfd, NULL, NULL);
	cr_expect(c < 0 && errno == EAGAIN, "the host's abstract socket got a connection");
	close(lfd);
	rj_plan_free(p);
}

/* ---- mounts, namespaces and identity --------------------------------------- */

Test(hostile, mount_is_a_violation, .timeout = 30)
{
	rj_plan *p = prog_plan("mount", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_VIOLATION(&o, "mounting");
	rj_plan_free(p);
}

Test(hostile, unshare_then_mount_is_a_violation, .timeout = 30)
{
	rj_plan *p = prog_plan("unshare", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_VIOLATION(&o, "unsharing");
	EXPECT_NO_OUT(&o, "mount: OK");
	rj_plan_free(p);
}

Test(hostile, clone_into_new_namespaces_is_a_violation, .timeout = 30)
{
	rj_plan *p = prog_plan("unshare", "clone", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_VIOLATION(&o, "cloning");
	EXPECT_NO_OUT(&o, "child mount: OK");
	rj_plan_free(p);
}

Test(hostile, chroot_escape_is_a_violation, .timeout = 30)
{
	char path[128], secret[64];
	snprintf(path, sizeof path, "/tmp/rj-hostile-chroot-%d", getpid());
	snprintf(secret, sizeof secret, "chroot-secret-%d", getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
	close(fd);
	chmod(path, 0644);

	rj_plan *p = prog_plan("chroot", path, NULL);
	struct outcome o;
	run_plan(p, &o);
	unlink(path);

	EXPECT_VIOLATION(&o, "chrooting");
	EXPECT_NO_OUT(&o, secret);
	rj_plan_free(p);
}

Test(hostile, setuid_root_fails, .timeout = 30)
{
	rj_plan *p = prog_plan("setuid", NULL);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "setuid(0): E");
	EXPECT_OUT(&o, "setresuid(0,0,0): E");
	EXPECT_OUT(&o, "setgid(0): E");
	EXPECT_OUT(&o, "setgroups([0]): E");
	EXPECT_OUT(&o, "uid=1000 euid=1000 gid=1000 egid=1000");
	/* Which host uid the sandbox's 1000 is: one of the sandbox range as
	 * root, the caller's own rootless. */
	const char *map = strstr(o.out, "uid_map:");
	unsigned long inside = 0, host = 0, count = 0;
	cr_assert(map && sscanf(map + 8, "%lu %lu %lu", &inside, &host, &count) == 3,
		  "no uid map in:\n%s", o.out);
	cr_expect_eq(inside, 1000);
	cr_expect_eq(count, 1);
	if (running_as_root())
		cr_expect(host >= RJ_DEFAULT_UID_BASE &&
			  host < RJ_DEFAULT_UID_BASE + RJ_DEFAULT_UID_COUNT,
			  "root mode: host uid %lu outside the sandbox range", host);
	else
		cr_expect_eq(host, getuid(), "rootless: host uid %lu, caller %d", host, getuid());
	rj_plan_free(p);
}

Test(hostile, setuid_binaries_gain_nothing, .timeout = 30)
{
	const char *argv[] = { "/bin/sh", "-c",
		"./suid; ls -ln suid; "
		"/usr/bin/passwd -S root; echo passwd=$?; "
		"/usr/bin/su -c 'id -u' root </dev/null; echo su=$?; "
		"/usr/bin/newgrp root </dev/null; echo newgrp=$?; "
		"echo id=$(id -u)", NULL };
	rj_plan *p = cmd_plan(argv);
	/* The euid helper as a setuid file of the workspace. */
	struct stat st;
	const char *euid = prog_path("euid");
	cr_assert_eq(stat(euid, &st), 0);
	int fd = open(euid, O_RDONLY);
	char *bin = malloc((size_t)st.st_size);
	cr_assert(fd >= 0 && bin && read(fd, bin, (size_t)st.st_size) == st.st_size);
	close(fd);
	cr_assert_eq(rj_plan_add_file(p, "suid", bin, (size_t)st.st_size, 04755), 0,
		     "%s", rj_plan_error(p));
	free(bin);
	struct outcome o;
	run_plan(p, &o);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "euid=1000 ruid=1000 suid=1000");
	EXPECT_NO_OUT(&o, "euid=0");
	EXPECT_OUT(&o, "passwd=");
	EXPECT_NO_OUT(&o, "passwd=0");
	EXPECT_OUT(&o, "su=");
	EXPECT_NO_OUT(&o, "su=0");
	EXPECT_OUT(&o, "newgrp=");
	EXPECT_NO_OUT(&o, "newgrp=0");
	EXPECT_OUT(&o, "id=1000");
	cr_expect(!has_line(o.out, "0"), "something printed uid 0:\n%s", o.out);
	rj_plan_free(p);
}

Test(hostile, host_setuid_binary_gains_nothing, .timeout = 30)
{
	/* A setuid copy of the euid helper in a host folder shown to the
	 * sandbox: root-owned when the test runs as root; rootless, owned by
	 * the caller (whose uid is the sandbox's own). */
	char dir[] = "/tmp/rj-hostile-suid-XXXXXX";
	cr_assert(mkdtemp(dir));
	cr_assert_eq(chmod(dir, 0755), 0);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "cp %s %s/euid && chmod 04755 %s/euid",
		 prog_path("euid"), dir, dir);
	cr_assert_eq(system(cmd), 0);
	const char *argv[] = { "/bin/sh", "-c", "ls -ln /hostsuid/euid; /hostsuid/euid", NULL };
	rj_plan *p = cmd_plan(argv);
	int rc = rj_plan_add_mount(p, dir, "/hostsuid", 0);
	cr_assert_eq(rc, 0, "%s", rj_plan_error(p));
	struct outcome o;
	run_plan(p, &o);
	remove_tree(dir);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "euid=1000 ruid=1000 suid=1000");
	EXPECT_NO_OUT(&o, "euid=0");
	rj_plan_free(p);
}

/* ---- the kernel's dangerous corners ----------------------------------------- */

Test(hostile, io_uring_is_unavailable, .timeout = 30)
{
	rj_plan *p = prog_plan("iouring", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "io_uring_setup: ENOSYS");
	EXPECT_OUT(&o, "io_uring_enter: ENOSYS");
	EXPECT_OUT(&o, "io_uring_register: ENOSYS");
	rj_plan_free(p);
}

#define VIOLATION_TEST(name, prog, arg, before)                               \
	Test(hostile, name, .timeout = 30)                                    \
	{                                                                     \
		rj_plan *p = prog_plan(prog, arg, NULL);                      \
		struct outcome o;                                             \
		run_plan(p, &o);                                              \
		EXPECT_VIOLATION(&o, before);                                 \
		rj_plan_free(p);                                              \
	}

VIOLATION_TEST(bpf_is_a_violation, "bpf", NULL, "calling bpf")
VIOLATION_TEST(perf_event_open_is_a_violation, "perf", NULL, "calling perf_event_open")
VIOLATION_TEST(keyctl_is_a_violation, "keyctl", NULL, "calling keyctl")
VIOLATION_TEST(userfaultfd_is_a_violation, "userfaultfd", NULL, "calling userfaultfd")
VIOLATION_TEST(reboot_is_a_violation, "reboot", NULL, "rebooting")
VIOLATION_TEST(init_module_is_a_violation, "init_module", NULL, "calling init_module")
VIOLATION_TEST(finit_module_is_a_violation, "init_module", "finit", "calling finit_module")

Test(hostile, personality_cannot_turn_aslr_off, .timeout = 30)
{
	rj_plan *p = prog_plan("personality", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "personality(ADDR_NO_RANDOMIZE): EPERM");
	EXPECT_OUT(&o, "personality(PER_LINUX|ADDR_NO_RANDOMIZE): EPERM");
	EXPECT_OUT(&o, "no_randomize=0");
	EXPECT_OUT(&o, "aslr: on");
	rj_plan_free(p);
}

Test(hostile, tiocsti_is_refused, .timeout = 30)
{
	rj_plan *p = prog_plan("tiocsti", NULL);
	struct outcome o;
	run_plan(p, &o);
	EXPECT_STATUS(&o, RJ_STATUS_OK);
	EXPECT_OUT(&o, "ioctl(0, TIOCSTI): EPERM");
	EXPECT_OUT(&o, "ioctl(1, TIOCSTI): EPERM");
	EXPECT_OUT(&o, "ioctl(2, TIOCSTI): EPERM");
	rj_plan_free(p);
}
