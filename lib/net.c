/* Network namespaces: one of its own for every sandbox, and pasta for the
 * sandboxes with network.
 *
 * Without --net, a sandbox runs in an empty network namespace that no
 * other sandbox uses while it runs: names of abstract unix sockets, and
 * the list of them in /proc/net/unix, are per network namespace, and
 * Landlock's scope stops connect() to a neighbour's socket but not bind()
 * or that list, so a shared namespace would let concurrent sandboxes pass
 * data. Making a namespace costs our thread about 0.2 ms here (and the
 * kernel more to tear it down later), so in root mode they are pooled:
 * slot i of the executor keeps namespace i for its next sandboxes, and a
 * run in steady state makes none. The pool lives in
 * the fixed file table of a small io_uring of its own, not in our fd
 * table: every clone copies that table, and a pool as large as the number
 * of sandboxes in flight would make each spawn pay for all of them.
 * IORING_OP_FIXED_FD_INSTALL (Linux 6.8) gives an fd back for one spawn.
 * Without it, or rootless (joining a namespace needs CAP_SYS_ADMIN in our
 * own user namespace), each sandbox makes its own at clone.
 *
 * With --net, a sandbox gets a namespace of its own too, with pasta
 * (Debian's passt package) as its user-mode TCP/IP stack: pasta makes the
 * sandbox's connections from the host's side with sockets of its own, so
 * the sandbox reaches what the host reaches on its network, except what
 * pasta is told to keep out: no host port is forwarded in (-t/-u none),
 * the namespace's loopback is not forwarded to the host's (-T/-U none),
 * and the gateway's address is not the host (--no-map-gw). The host's
 * 127.0.0.1 and ::1 are thus out of reach; its address on the template
 * interface is copied into the namespace, so it is the sandbox's own. Its
 * other addresses (another interface, a bridge) are not: a service of the
 * host listening on one of them, or on 0.0.0.0, is reachable there. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor.h"

#define OP_FIXED_FD_INSTALL 54
#define PASTA_DEFAULT "/usr/bin/pasta"
/* How long pasta may take to configure the namespace; the event loop
 * waits for it (about 0.1 s here). */
#define PASTA_READY_MS 5000
#define HELPER_STACK (16 * 1024)
/* The helpers' children run on a stack inside our own frame, in our own
 * memory: under ASan their stack poisoning would stay behind there. */
#define CHILD_CODE __attribute__((no_sanitize("address", "undefined")))

struct rj__net {
	struct io_uring ring;    /* its fixed file table is the pool */
	unsigned size;           /* entries in that table */
	uint8_t *held;           /* held[i]: entry i holds a namespace */
};

/* ---- the pool (root mode) ------------------------------------------------- */

/* Can this kernel hand a fixed file back as an fd, and can we look into
 * a namespace to check it is empty? */
static bool pool_supported(struct io_uring *ring)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
	bool ok = probe && io_uring_opcode_supported(probe, OP_FIXED_FD_INSTALL);
	if (probe)
		io_uring_free_probe(probe);
	return ok && access("/proc/thread-self/net/sockstat", R_OK) == 0;
}

static void pool_new(rj_executor *ex)
{
	struct rlimit rl;
	unsigned size = RJ__MAX_SLOTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < size)
		size = (unsigned)rl.rlim_cur;
	struct rj__net *n = calloc(1, sizeof *n);
	if (!n)
		return;
	n->held = calloc(size, 1);
	if (!n->held || io_uring_queue_init(4, &n->ring, 0) < 0) {
		free(n->held);
		free(n);
		return;
	}
	if (!pool_supported(&n->ring) || io_uring_register_files_sparse(&n->ring, size) < 0) {
		io_uring_queue_exit(&n->ring);
		free(n->held);
		free(n);
		return;
	}
	/* Like the main ring's: no sandbox's init may see this one. */
	io_uring_ring_dontfork(&n->ring);
	n->size = size;
	ex->net = n;
}

/* An fd (O_CLOEXEC) for the namespace in entry i, or -errno. */
static int pool_install(struct rj__net *n, uint32_t i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&n->ring);
	struct io_uring_cqe *cqe;
	if (!sqe)
		return -EBUSY;
	io_uring_prep_rw(OP_FIXED_FD_INSTALL, sqe, (int)i, NULL, 0, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	int r = io_uring_submit_and_wait(&n->ring, 1);
	if (r < 0)
		return r;
	if ((r = io_uring_peek_cqe(&n->ring, &cqe)) < 0)
		return r;
	r = cqe->res;
	io_uring_cqe_seen(&n->ring, cqe);
	return r;
}

static void pool_drop(struct rj__net *n, uint32_t i)
{
	int none = -1;
	io_uring_register_files_update(&n->ring, i, &none, 1);
	n->held[i] = 0;
}

/* Run by this thread inside the namespace fd: is it empty? The sandbox
 * that used it last has ended, and so has every process of it: its init,
 * PID 1 of its pid namespace, has been reaped, and the kernel reaps every
 * other process of a pid namespace before its init. Its processes' sockets
 * closed with them, but not necessarily their sockets themselves: unix
 * sockets passed to each other in flight (SCM_RIGHTS) live on, bound name
 * and all, until the kernel's garbage collector runs, which it does only
 * when some other unix socket is closed. So count: a user's socket in the
 * namespace shows in sockstat's "sockets: used" (the kernel's own do not).
 * 1 when empty, 0 when not, -ENOTRECOVERABLE when this thread could not
 * return to our own namespace. */
static int ns_empty(rj_executor *ex, int fd)
{
	static const char want[] = "sockets: used 0\n";
	char buf[64];
	ssize_t len = -1;
	if (setns(fd, CLONE_NEWNET) < 0)
		return 0;
	int sfd = open("/proc/thread-self/net/sockstat", O_RDONLY | O_CLOEXEC);
	if (sfd >= 0) {
		len = read(sfd, buf, sizeof buf - 1);
		close(sfd);
	}
	if (setns(ex->net_orig_fd, CLONE_NEWNET) < 0)
		return -ENOTRECOVERABLE;
	return len >= (ssize_t)sizeof want - 1 && !memcmp(buf, want, sizeof want - 1);
}

/* A new, empty namespace, made by this thread and left at once. */
static int ns_fresh(rj_executor *ex, char *err, size_t errlen)
{
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int e = errno;
	if (setns(ex->net_orig_fd, CLONE_NEWNET) < 0) {
		e = errno;
		rj__fmt(err, errlen, "cannot return to our own network namespace: %s", strerror(e));
		if (fd >= 0)
			close(fd);
		/* This thread is stuck in the new namespace: the caller
		 * must not go on as if it were not. */
		return -ENOTRECOVERABLE;
	}
	return fd < 0 ? -e : fd;
}

/* An empty namespace for slot i from the pool in *fd, or -1 there: the
 * sandbox makes one at clone. */
static int pool_take(rj_executor *ex, uint32_t i, int *fd, char *err, size_t errlen)
{
	struct rj__net *n = ex->net;
	*fd = -1;
	if (!n || i >= n->size)
		return 0;
	if (n->held[i]) {
		*fd = pool_install(n, i);
		int empty = *fd >= 0 ? ns_empty(ex, *fd) : 0;
		if (empty <= 0 && *fd >= 0) {
			/* Left to the kernel, which frees it once its last
			 * socket is collected. */
			close(*fd);
			*fd = -1;
		}
		if (empty < 0) {
			rj__fmt(err, errlen, "cannot return to our own network namespace after looking into a pooled one");
			return empty;
		}
		if (*fd < 0)
			pool_drop(n, i);
	}
	if (*fd >= 0)
		return 0;
	int r = ns_fresh(ex, err, errlen);
	if (r == -ENOTRECOVERABLE)
		return r;
	/* A failure to make one here leaves it to the child, which says. */
	*fd = r < 0 ? -1 : r;
	if (*fd >= 0 && io_uring_register_files_update(&n->ring, i, fd, 1) == 1)
		n->held[i] = 1;
	return 0;
}

/* ---- pasta ------------------------------------------------------------- */

static const char *pasta_path(void)
{
	const char *p = getenv("RJ_PASTA");
	return p && p[0] ? p : PASTA_DEFAULT;
}

/* Fails closed, with what to do, where pasta cannot run for us. */
static int pasta_check(rj_executor *ex, char *err, size_t errlen)
{
	const char *path = pasta_path();
	if (access(path, X_OK) < 0) {
		int e = errno;
		rj__fmt(err, errlen, "network access needs pasta, the user-mode network stack of the passt "
			"package (apt-get install passt), or RJ_PASTA set to its path: %s: %s",
			path, strerror(e));
		return -EOPNOTSUPP;
	}
	/* As root pasta opens the tun device as root; rootless, as us. */
	if (!ex->root && access("/dev/net/tun", R_OK | W_OK) < 0) {
		int e = errno;
		rj__fmt(err, errlen, "network access: pasta cannot open /dev/net/tun as this user (%s); "
			"make it mode 0666, as udev does (chmod 0666 /dev/net/tun)", strerror(e));
		return -EOPNOTSUPP;
	}
	return 0;
}

struct pasta_args {
	const char *path;
	char **argv;
	int fds[4];              /* become 2 (stderr), 3 (userns), 4 (netns), 5 (ready) */
	pid_t parent;
};

/* The child between clone and execve: it shares our memory (CLONE_VM),
 * so raw system calls only. */
CHILD_CODE static int pasta_child(void *arg)
{
	const struct pasta_args *a = arg;
	static char *const envp[] = { NULL };
	int src[6] = { -1, -1, a->fds[0], a->fds[1], a->fds[2], a->fds[3] }, tmp[6];
	src[0] = src[1] = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
	/* Above every target first: a source may be one of 0 to 5. */
	for (int i = 0; i < 6; i++)
		if ((tmp[i] = (int)syscall(SYS_fcntl, src[i], F_DUPFD_CLOEXEC, 16)) < 0)
			_exit(127);
	for (int i = 0; i < 6; i++)
		if (syscall(SYS_dup3, tmp[i], i, 0) < 0)
			_exit(127);
	syscall(SYS_close_range, 6, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
	/* Signals we ignore stay ignored across execve, and pasta takes an
	 * ignored SIGPIPE for a failure to set its own handler. */
	struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = { SIG_DFL, 0, NULL, 0 };
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &dfl.mask, NULL, sizeof dfl.mask);
	/* Out of the caller's session: a ^C at its terminal is for the
	 * executor to handle, not for every pasta. */
	syscall(SYS_setsid);
	/* pasta keeps our ids (as root it runs with --runas 0:0), so the
	 * parent-death signal holds: nothing of ours outlives the executor. */
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (syscall(SYS_getppid) != a->parent)
		_exit(127);
	syscall(SYS_execve, a->path, a->argv, envp);
	_exit(127);
}

/* What pasta said on stderr before it gave up: its last line that is not
 * about syslog. */
static void pasta_said(int fd, char *out, size_t outlen)
{
	char buf[2048];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	out[0] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, "Failed to send", 14))
			rj__fmt(out, outlen, "%s", line);
}

/* Wait for the pid pasta writes once the namespace is configured. */
static bool pasta_ready(int fd)
{
	char c;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, PASTA_READY_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || read(fd, &c, 1) != 1)
			return false;
		if (c == '\n')
			return true;
	}
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
}

static int pasta_fail(pid_t pid, int errfd, char *err, size_t errlen)
{
	char said[256];
	int status = 0;
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR)
		;
	pasta_said(errfd, said, sizeof said);
	if (said[0])
		;
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		rj__fmt(said, sizeof said, "not ready within %d ms", PASTA_READY_MS);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		rj__fmt(said, sizeof said, "it could not be executed");
	else
		rj__fmt(said, sizeof said, "it ended (status 0x%x) without a word; run it by hand to see why",
			(unsigned)status);
	rj__fmt(err, errlen, "network access: pasta (%s) could not set up the sandbox's network: %s",
		pasta_path(), said);
	return -EOPNOTSUPP;
}

/* Start pasta for the namespaces user_fd and net_fd and wait until it has
 * configured them; its pid goes to s->pasta, for rj__net_release. */
static int pasta_start(rj_executor *ex, struct rj__sbx *s, int user_fd, int net_fd, char *err, size_t errlen)
{
	char *argv[] = {
		(char *)pasta_path(), "-f", "-q", "--config-net",
		"--userns", "/proc/self/fd/3", "--netns", "/proc/self/fd/4",
		"-t", "none", "-u", "none", "-T", "none", "-U", "none", "--no-map-gw",
		"-P", "/proc/self/fd/5",
		/* As root it would switch to nobody, who cannot join the
		 * namespaces; it stays root, with capabilities only in the
		 * sandbox's user namespace it joins. */
		ex->root ? "--runas" : NULL, "0:0", NULL,
	};
	int rdy[2], errp[2];
	if (pipe2(rdy, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		close(rdy[0]);
		close(rdy[1]);
		return -e;
	}
	struct pasta_args a = { argv[0], argv, { errp[1], user_fd, net_fd, rdy[1] }, getpid() };
	char stack[HELPER_STACK] __attribute__((aligned(16)));
	/* No exit signal: only we reap it (with __WALL), never an embedding
	 * program's waitpid(-1). */
	pid_t pid = clone(pasta_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK, &a);
	int e = errno;
	close(rdy[1]);
	close(errp[1]);
	int r = 0;
	if (pid < 0) {
		rj__fmt(err, errlen, "network access: cannot start pasta: %s", strerror(e));
		r = -e;
	} else if (!pasta_ready(rdy[0])) {
		r = pasta_fail(pid, errp[0], err, errlen);
	} else {
		s->pasta = pid;
	}
	close(rdy[0]);
	close(errp[0]);
	return r;
}

struct holder {
	int user, net;
};

CHILD_CODE static int holder_child(void *arg)
{
	struct holder *h = arg;
	h->user = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	h->net = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	_exit(0);
}

/* Root mode: a new user namespace (owned by root, so it gives nobody any
 * power) holding a new network namespace, made by a short-lived child that
 * opens both into our fd table (CLONE_FILES). pasta joins the pair; the
 * sandbox joins the network namespace, as it joins a pooled one. */
static int ns_pair(int *user, int *net)
{
	struct holder h = { -1, -1 };
	char stack[HELPER_STACK] __attribute__((aligned(16)));
	pid_t pid = clone(holder_child, stack + sizeof stack,
			  CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_NEWUSER | CLONE_NEWNET, &h);
	if (pid < 0)
		return -errno;
	reap(pid);
	if (h.user < 0 || h.net < 0) {
		if (h.user >= 0)
			close(h.user);
		if (h.net >= 0)
			close(h.net);
		return -EIO;
	}
	*user = h.user;
	*net = h.net;
	return 0;
}

/* ---- the executor's side --------------------------------------------------- */

int rj__net_new(rj_executor *ex)
{
	ex->net = NULL;
	ex->net_orig_fd = -1;
	if (!ex->root)
		return 0;
	ex->net_orig_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ex->net_orig_fd < 0) {
		int e = errno;
		rj__fmt(ex->err, sizeof ex->err, "cannot open our own network namespace: %s", strerror(e));
		return -e;
	}
	pool_new(ex);
	return 0;
}

void rj__net_free(rj_executor *ex)
{
	if (ex->net) {
		io_uring_queue_exit(&ex->net->ring);
		free(ex->net->held);
		free(ex->net);
		ex->net = NULL;
	}
	if (ex->net_orig_fd >= 0)
		close(ex->net_orig_fd);
	ex->net_orig_fd = -1;
}

int rj__net_prepare(rj_executor *ex, struct rj__sbx *s, int *fd, bool *private, char *err, size_t errlen)
{
	int r, user;
	*fd = -1;
	*private = false;
	if (!s->pol->in.net) {
		if (ex->root && (r = pool_take(ex, s->index, fd, err, errlen)) < 0)
			return r;
		*private = *fd < 0;
		return 0;
	}
	if ((r = pasta_check(ex, err, errlen)) < 0)
		return r;
	if (!ex->root) {
		/* Made at clone, in the sandbox's user namespace;
		 * rj__net_attach starts pasta once the id maps are written. */
		*private = true;
		return 0;
	}
	if ((r = ns_pair(&user, fd)) < 0) {
		rj__fmt(err, errlen, "network access: cannot make the sandbox's network namespace: %s", strerror(-r));
		return r;
	}
	r = pasta_start(ex, s, user, *fd, err, errlen);
	close(user);
	if (r < 0) {
		close(*fd);
		*fd = -1;
	}
	return r;
}

int rj__net_attach(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen)
{
	char path[64];
	int fds[2] = { -1, -1 }, r;
	if (!s->pol->in.net || ex->root)
		return 0;
	for (int i = 0; i < 2; i++) {
		rj__fmt(path, sizeof path, "/proc/%d/ns/%s", (int)s->pid, i ? "net" : "user");
		if ((fds[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			r = -errno;
			rj__fmt(err, errlen, "network access: cannot open %s: %s", path, strerror(-r));
			goto out;
		}
	}
	r = pasta_start(ex, s, fds[0], fds[1], err, errlen);
out:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

void rj__net_release(struct rj__sbx *s)
{
	if (s->pasta <= 0)
		return;
	kill(s->pasta, SIGKILL);
	reap(s->pasta);
	s->pasta = 0;
}
