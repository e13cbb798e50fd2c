/* The network: sandboxes without it share nothing through their network
 * namespaces, at once or one after another; a sandbox with it (--net) gets
 * a namespace of its own behind pasta, which reaches out but never to the
 * host's loopback, fails closed without pasta, and never outlives the
 * executor. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "checks.h"

/* ---- helpers ------------------------------------------------------------ */

static void random_name(char *buf, size_t len, const char *what)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	srandom((unsigned)(ts.tv_nsec ^ getpid()));
	snprintf(buf, len, "rj-%s-%d-%08lx", what, getpid(), random());
}

/* The "cookie: N" line a netns program printed, or 0. */
static unsigned long long cookie_of(const struct outcome *o)
{
	const char *c = o->out ? strstr(o->out, "cookie: ") : NULL;
	return c ? strtoull(c + 8, NULL, 10) : 0;
}

/* Can pasta run for us? As root always (it is installed: scripts/deps.sh);
 * rootless only where /dev/net/tun is open to everyone, as udev makes it. */
static bool tun_usable(void)
{
	return running_as_root() || access("/dev/net/tun", R_OK | W_OK) == 0;
}

/* Does the executor pool network namespaces here? As root, where the
 * kernel can hand a fixed file back as an fd (IORING_OP_FIXED_FD_INSTALL,
 * Linux 6.8) and shows a namespace's sockets: the conditions lib/net.c
 * checks. Elsewhere every sandbox gets a fresh namespace. */
static bool netns_pooled(void)
{
	if (!running_as_root() || access("/proc/thread-self/net/sockstat", R_OK) != 0)
		return false;
	struct io_uring_probe *probe = io_uring_get_probe();
	bool ok = probe && io_uring_opcode_supported(probe, 54 /* FIXED_FD_INSTALL */);
	if (probe)
		io_uring_free_probe(probe);
	return ok;
}

static bool v4_default(const char *line)
{
	/* Destination 00000000 in the second column. */
	char ifname[32];
	unsigned long dst;
	return sscanf(line, "%31s %lx", ifname, &dst) == 2 && dst == 0 && strcmp(ifname, "lo");
}

static bool v6_default(const char *line)
{
	/* ::/0: 32 zeros, then prefix length 00; the interface is the 10th. */
	char dst[40], ifname[32];
	unsigned plen;
	return sscanf(line, "%32s %x %*s %*s %*s %*s %*s %*s %*s %31s", dst, &plen, ifname) == 3 &&
	       plen == 0 && !strcmp(dst, "00000000000000000000000000000000") && strcmp(ifname, "lo");
}

/* Does a line of the file at path pass is()? */
static bool any_line(const char *path, bool (*is)(const char *))
{
	char *text = read_text(path), *save = NULL;
	bool any = false;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l && !any; l = strtok_r(NULL, "\n", &save))
		any = is(l);
	free(text);
	return any;
}

/* pasta copies the host's addresses and routes from the interface that
 * holds a default route, and refuses to start without one ("External
 * interface not usable"): a host with no network at all, such as
 * ../shared/vm/run-in-vm's guest, which has only loopback. */
static bool host_has_default_route(void)
{
	return any_line("/proc/net/route", v4_default) || any_line("/proc/net/ipv6_route", v6_default);
}

/* The outcome of a --net run on a host pasta has no interface to copy. */
static void expect_no_route_refusal(const struct outcome *o)
{
	EXPECT_STATUS(o, RJ_STATUS_SETUP_ERROR);
	cr_expect(strstr(o->res.message, "could not set up the sandbox's network"), "message: %s",
		  o->res.message);
	EXPECT_NO_OUT(o, "probed");
}

/* The outcome of a --net run where pasta cannot open the tun device. */
static void expect_tun_refusal(const struct outcome *o)
{
	EXPECT_STATUS(o, RJ_STATUS_SETUP_ERROR);
	cr_expect(strstr(o->res.message, "/dev/net/tun"), "message: %s", o->res.message);
	EXPECT_NO_OUT(o, "probed");
}

/* A TCP listener (or, with udp, a bound UDP socket) on addr:*port; port 0
 * picks one. */
static int bound(int family, const char *addr, int *port, bool udp)
{
	int fd = socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	void *where = family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
					: (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	in_port_t *p = family == AF_INET ? &((struct sockaddr_in *)&ss)->sin_port
					 : &((struct sockaddr_in6 *)&ss)->sin6_port;
	*p = htons((uint16_t)*port);
	if (inet_pton(family, addr, where) != 1 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (!udp && listen(fd, 8) < 0) || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(*p);
	return fd;
}

static int listener(int family, const char *addr, int *port)
{
	return bound(family, addr, port, false);
}

/* Nothing reached the host's socket fd, TCP or UDP. */
static void expect_untouched(int fd, bool udp, const char *what)
{
	if (fd < 0)
		return;
	char buf[16];
	ssize_t n = udp ? recv(fd, buf, sizeof buf, 0) : accept(fd, NULL, NULL);
	cr_expect(n < 0 && errno == EAGAIN, "the host's %s %s got %s", what, udp ? "UDP socket" : "listener",
		  udp ? "a datagram" : "a connection");
	close(fd);
}

/* Host processes whose parent is ppid and whose argv[0] names pasta. */
static int pasta_children(pid_t ppid, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	cr_assert(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		pid_t pid = atoi(e->d_name);
		if (pid <= 0)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		char *st = read_text(path);
		const char *rp = st ? strrchr(st, ')') : NULL;
		int parent = 0;
		char state = 0;
		if (rp)
			sscanf(rp + 1, " %c %d", &state, &parent);
		free(st);
		if (parent != ppid || state == 'Z')
			continue;
		snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
		FILE *f = fopen(path, "re");
		size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
		if (f)
			fclose(f);
		buf[len] = '\0';
		if (strstr(buf, "pasta"))
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

/* Gone, or a zombie nobody reaped yet: it runs nothing either way. */
static bool process_gone(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	char *st = read_text(path);
	const char *rp = st ? strrchr(st, ')') : NULL;
	bool gone = !rp || rp[2] == 'Z' || rp[2] == 'X';
	free(st);
	return gone;
}

/* ---- without network: a namespace to each sandbox ------------------------- */

Test(net, neighbours_see_no_socket_names, .timeout = 60)
{
	char name[64];
	random_name(name, sizeof name, "name");
	rj_plan *a = prog_plan("netns", "hold", name, "3", NULL);
	rj_plan *b = prog_plan("netns", "scan", name, NULL);

	struct session s;
	session_start(&s);
	int ia = session_spawn(&s, a);
	cr_assert(session_wait_output(&s, ia, "holding", 10000), "A never bound its name");
	int ib = session_spawn(&s, b);
	cr_expect(session_wait(&s, ib, 10000));
	cr_expect(!s.o[ia].done, "A ended before B looked");
	cr_expect(session_wait(&s, ia, 15000));
	/* Both have ended: a third one reuses a namespace of theirs. */
	int ic = session_spawn(&s, b);
	cr_expect(session_wait(&s, ic, 10000));
	session_end(&s);

	EXPECT_STATUS(&s.o[ia], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ia], "bind: OK");
	EXPECT_STATUS(&s.o[ib], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ib], "seen: no");
	EXPECT_OUT(&s.o[ib], "unix sockets: 0");
	EXPECT_OUT(&s.o[ib], "connect: ECONNREFUSED");
	unsigned long long ca = cookie_of(&s.o[ia]), cb = cookie_of(&s.o[ib]), cc = cookie_of(&s.o[ic]);
	cr_expect(ca && cb && cc, "cookies %llu %llu %llu", ca, cb, cc);
	cr_expect_neq(ca, cb, "A and B ran in one network namespace");
	for (int i = 0; i < 3; i++)
		cr_expect(s.o[i].res.hardening & RJ_LAYER_NET_NS_PRIVATE, "hardening 0x%x",
			  s.o[i].res.hardening);
	/* Pooled (as root, Linux 6.8 up), a run in steady state makes none. */
	if (netns_pooled())
		cr_expect(cc == ca || cc == cb, "C got a new namespace (%llu; A %llu, B %llu)", cc, ca, cb);
	rj_plan_free(a);
	rj_plan_free(b);
}

Test(net, a_namespace_is_reused_only_empty, .timeout = 60)
{
	char name[64], other[64];
	random_name(name, sizeof name, "left");
	random_name(other, sizeof other, "none");
	/* A leaves a bound socket that no process holds any more; B, after A
	 * has ended, must not find it; C, after a clean B, takes B's. */
	rj_plan *a = prog_plan("netns", "leave", name, NULL);
	rj_plan *b = prog_plan("netns", "scan", name, NULL);
	rj_plan *c = prog_plan("netns", "scan", other, NULL);

	struct session s;
	session_start(&s);
	int ia = session_spawn(&s, a);
	cr_expect(session_wait(&s, ia, 10000));
	int ib = session_spawn(&s, b);
	cr_expect(session_wait(&s, ib, 10000));
	int ic = session_spawn(&s, c);
	cr_expect(session_wait(&s, ic, 10000));
	session_end(&s);

	EXPECT_STATUS(&s.o[ia], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ia], "left");
	EXPECT_STATUS(&s.o[ib], RJ_STATUS_OK);
	EXPECT_OUT(&s.o[ib], "seen: no");
	EXPECT_OUT(&s.o[ib], "unix sockets: 0");
	EXPECT_OUT(&s.o[ib], "connect: ECONNREFUSED");
	EXPECT_OUT(&s.o[ic], "unix sockets: 0");
	if (netns_pooled())
		cr_expect_eq(cookie_of(&s.o[ic]), cookie_of(&s.o[ib]), "a clean namespace was not reused");
	else
		cr_expect_neq(cookie_of(&s.o[ic]), cookie_of(&s.o[ib]), "a namespace was reused unpooled");
	rj_plan_free(a);
	rj_plan_free(b);
	rj_plan_free(c);
}

/* ---- with network: pasta ---------------------------------------------------- */

Test(net, host_loopback_is_unreachable, .timeout = 60)
{
	int port = 0, port6;
	int l4 = listener(AF_INET, "127.0.0.1", &port);
	cr_assert_geq(l4, 0, "cannot listen on 127.0.0.1: %s", strerror(errno));
	port6 = port;
	int l6 = listener(AF_INET6, "::1", &port6);
	/* UDP on the same port numbers, where the sandbox sends too. */
	int port_u4 = port, port_u6 = port;
	int u4 = bound(AF_INET, "127.0.0.1", &port_u4, true);
	int u6 = bound(AF_INET6, "::1", &port_u6, true);
	cr_expect(u4 >= 0, "cannot bind UDP 127.0.0.1:%d: %s", port, strerror(errno));
	char s_port[16];
	snprintf(s_port, sizeof s_port, "%d", port);
	rj_plan *p = prog_plan("netprobe", s_port, NULL);
	cr_assert_eq(rj_plan_set_net(p, true), 0);
	struct outcome o;
	run_plan(p, &o);

	if (!tun_usable()) {
		expect_tun_refusal(&o);
	} else if (!host_has_default_route()) {
		expect_no_route_refusal(&o);
	} else {
		EXPECT_STATUS(&o, RJ_STATUS_OK);
		/* It has a network: its own interface with a default route. */
		EXPECT_OUT(&o, "route: default via ");
		EXPECT_OUT(&o, "probed");
		EXPECT_NO_OUT(&o, ": OK");
		uint32_t want = RJ_LAYER_NET_NS | RJ_LAYER_NET_NS_PRIVATE;
		cr_expect_eq(o.res.hardening & want, want, "hardening 0x%x", o.res.hardening);
	}
	expect_untouched(l4, false, "127.0.0.1");
	expect_untouched(l6, false, "::1");
	expect_untouched(u4, true, "127.0.0.1");
	expect_untouched(u6, true, "::1");
	/* Nothing of pasta's is left once the run has ended. */
	pid_t left[4];
	cr_expect_eq(pasta_children(getpid(), left, 4), 0, "pasta outlived its sandbox");
	rj_plan_free(p);
}

Test(net, pasta_missing_is_a_setup_error, .timeout = 30)
{
	cr_assert_eq(setenv("RJ_PASTA", "/nonexistent/pasta", 1), 0);
	rj_plan *p = prog_plan("netprobe", "9", NULL);
	cr_assert_eq(rj_plan_set_net(p, true), 0);
	struct outcome o;
	run_plan(p, &o);
	unsetenv("RJ_PASTA");

	EXPECT_STATUS(&o, RJ_STATUS_SETUP_ERROR);
	cr_expect(strstr(o.res.message, "apt-get install passt"), "message: %s", o.res.message);
	cr_expect(strstr(o.res.message, "/nonexistent/pasta"), "message: %s", o.res.message);
	EXPECT_NO_OUT(&o, "probed");
	rj_plan_free(p);
}

/* The positive side, which needs a place outside the sandbox's namespace
 * that is not the host's loopback: a namespace of the test's own behind a
 * veth pair (root only; there is no internet here). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* In the namespace ns: accept one connection on addr:port and send the
 * token and the peer's address. Returns the server's pid. */
static pid_t serve_in(const char *ns, const char *addr, int port, const char *token, int ready)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid > 0)
		return pid;
	char path[128];
	snprintf(path, sizeof path, "/run/netns/%s", ns);
	int nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd < 0 || setns(nfd, CLONE_NEWNET) < 0)
		_exit(1);
	int lfd = listener(AF_INET, addr, &port);
	if (lfd < 0 || write(ready, "r", 1) != 1)
		_exit(2);
	struct pollfd pf = { .fd = lfd, .events = POLLIN };
	if (poll(&pf, 1, 20000) != 1)
		_exit(3);
	struct sockaddr_in peer;
	socklen_t len = sizeof peer;
	int c = accept(lfd, (struct sockaddr *)&peer, &len);
	char line[128], from[INET_ADDRSTRLEN] = "?";
	inet_ntop(AF_INET, &peer.sin_addr, from, sizeof from);
	int n = snprintf(line, sizeof line, "%s from %s\n", token, from);
	if (c < 0 || write(c, line, (size_t)n) != n)
		_exit(4);
	close(c);
	_exit(0);
}

Test(net, reaches_outside_through_its_own_stack, .timeout = 60)
{
	if (!running_as_root())
		cr_skip_test("making a namespace and a veth pair to listen in needs root");
	if (!host_has_default_route())
		cr_skip_test("this host has no interface with a default route for pasta to copy");
	char ns[32], hv[16], pv[16], token[64];
	int id = getpid() % 250 + 1;
	snprintf(ns, sizeof ns, "rj-net-%d", getpid());
	snprintf(hv, sizeof hv, "rjh%d", getpid());
	snprintf(pv, sizeof pv, "rjp%d", getpid());
	random_name(token, sizeof token, "token");
	if (sh("ip link add %s type veth peer name %s 2>/dev/null && ip link del %s", hv, pv, hv) != 0)
		cr_skip_test("this kernel cannot make a veth pair (no veth driver)");
	char far[32], near[32];
	snprintf(far, sizeof far, "10.213.%d.2", id);
	snprintf(near, sizeof near, "10.213.%d.1", id);
	cr_assert_eq(sh("ip netns add %s && ip link add %s type veth peer name %s netns %s && "
			"ip addr add %s/30 dev %s && ip link set %s up && "
			"ip -n %s addr add %s/30 dev %s && ip -n %s link set %s up && "
			"ip -n %s link set lo up", ns, hv, pv, ns, near, hv, hv, ns, far, pv, ns, pv, ns),
		     0, "cannot set up the test's namespace");
	int rd[2];
	cr_assert_eq(pipe(rd), 0);
	int port = 0;
	/* Any free port: the server reports none back, so pick one here. */
	int probe = listener(AF_INET, "127.0.0.1", &port);
	close(probe);
	pid_t server = serve_in(ns, far, port, token, rd[1]);
	char b;
	cr_assert_eq(read(rd[0], &b, 1), 1, "the server never listened");
	char s_port[16];
	snprintf(s_port, sizeof s_port, "%d", port);
	rj_plan *p = prog_plan("netprobe", s_port, far, NULL);
	cr_assert_eq(rj_plan_set_net(p, true), 0);
	struct outcome o;
	run_plan(p, &o);
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	sh("ip link del %s; ip netns del %s", hv, ns);

	EXPECT_STATUS(&o, RJ_STATUS_OK);
	char want[192];
	/* Made by pasta from the host's side of the veth, not by a route of
	 * the sandbox's own. */
	snprintf(want, sizeof want, "connect %s: OK %s from %s", far, token, near);
	EXPECT_OUT(&o, want);
	rj_plan_free(p);
}

/* The executor dies (SIGKILL) while a --net sandbox runs: its pasta goes
 * with it, within a second. */
Test(net, pasta_dies_with_its_executor, .timeout = 60)
{
	if (!tun_usable())
		cr_skip_test("pasta cannot open /dev/net/tun as this user (mode 0600; udev makes it 0666)");
	if (!host_has_default_route())
		cr_skip_test("this host has no interface with a default route for pasta to copy");
	int rd[2];
	cr_assert_eq(pipe(rd), 0);
	pid_t ex_pid = fork();
	cr_assert_geq(ex_pid, 0);
	if (ex_pid == 0) {
		close(rd[0]);
		rj_plan *p = prog_plan("sleeper", "20", NULL);
		rj_plan_set_net(p, true);
		rj_plan_set_limit(p, RJ_LIMIT_WALL_TIME, 30000000);
		struct session s;
		session_start(&s);
		int i = session_spawn(&s, p);
		bool started = session_wait_output(&s, i, "started", 15000);
		(void)!write(rd[1], started ? "s" : "f", 1);
		if (started)
			pause();
		_exit(0);
	}
	close(rd[1]);
	char b = 0;
	(void)!read(rd[0], &b, 1);
	pid_t pasta[4];
	int n = pasta_children(ex_pid, pasta, 4);
	kill(ex_pid, SIGKILL);
	waitpid(ex_pid, NULL, 0);
	cr_assert_eq(b, 's', "the sandbox never started");
	cr_assert_eq(n, 1, "%d pasta processes for one --net sandbox", n);
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = process_gone(pasta[0]);
		if (!gone)
			usleep(10000);
	}
	cr_expect(gone, "pasta %d outlived its executor by a second", pasta[0]);
	if (!gone)
		kill(pasta[0], SIGKILL);
}
