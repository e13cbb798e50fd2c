/* The parent side of one spawn: a cgroup, a host id and what the host
 * enforces of the plan; pipes, stdin, the workspace, the network; clone3
 * into fresh namespaces, the id maps. What it takes, slots.c gives back
 * (rj__sandbox_release); the ring is executor.c's, never touched here. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#define MAX_MOUNTS 64

static int write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, data, strlen(data));
	int e = errno;
	close(fd);
	return n == (ssize_t)strlen(data) ? 0 : n < 0 ? -e : -EIO;
}

/* The sandbox's id 1000 is its own host id (root mode) or the caller's
 * (rootless, where the kernel allows only that one line). */
static int write_maps(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen)
{
	char path[64], map[64];
	uid_t uid = ex->root ? s->host_uid : getuid();
	gid_t gid = ex->root ? s->host_uid : getgid();
	int r;
	rj__fmt(path, sizeof path, "/proc/%d/uid_map", (int)s->pid);
	rj__fmt(map, sizeof map, "%u %u 1\n", RJ__BOX_UID, (unsigned)uid);
	if ((r = write_file(path, map)) < 0)
		goto fail;
	if (!ex->root) {
		rj__fmt(path, sizeof path, "/proc/%d/setgroups", (int)s->pid);
		if ((r = write_file(path, "deny")) < 0)
			goto fail;
	}
	rj__fmt(path, sizeof path, "/proc/%d/gid_map", (int)s->pid);
	rj__fmt(map, sizeof map, "%u %u 1\n", RJ__BOX_UID, (unsigned)gid);
	if ((r = write_file(path, map)) < 0)
		goto fail;
	return 0;
fail:
	rj__fmt(err, errlen, "cannot write the sandbox's id map %s: %s", path, strerror(-r));
	return r;
}

/* The lifeline: a pipe per executor whose write end nothing but this
 * process holds (close-on-exec, and closed by every child first thing).
 * Each sandbox's init watches the read end, so when this process dies,
 * however it dies, every sandbox it started is killed by its own init at
 * once: no event loop, thread or parent-death signal is needed for it. */
int rj__lifeline_open(rj_executor *ex)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* Above stdio, which the child rearranges before it is done with
	 * these (an embedding program may have closed its own 0, 1 or 2). */
	for (int i = 0; i < 2; i++) {
		ex->lifeline[i] = fcntl(p[i], F_DUPFD_CLOEXEC, 3);
		close(p[i]);
	}
	return ex->lifeline[0] < 0 || ex->lifeline[1] < 0 ? -EMFILE : 0;
}

void rj__lifeline_close(rj_executor *ex)
{
	for (int i = 0; i < 2; i++)
		if (ex->lifeline[i] >= 0)
			close(ex->lifeline[i]);
	ex->lifeline[0] = ex->lifeline[1] = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void release_go(struct rj__shm *shm, uint32_t v)
{
	atomic_store(&shm->go, v);
	syscall(SYS_futex, &shm->go, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static uint64_t ns_flags(const struct rj__child_args *a)
{
	uint64_t f = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
	if (a->net_private)
		f |= CLONE_NEWNET;
	return f;
}

/* Where stdin comes from: a host file, a pipe filled now and closed (up to
 * a pipe's worth), or a pipe the ring keeps feeding. */
static int open_stdin(rj_executor *ex, struct rj__sbx *s, int *child_fd, char *err, size_t errlen)
{
	const struct rj__policy *pol = s->pol;
	(void)ex;
	if (pol->in.stdin_path) {
		/* Opened again at each spawn, by the plan's one reader: regular
		 * files only, without blocking (a fifo would stall the event
		 * loop and every other sandbox's limits with it), beneath the
		 * workdir without following links when it lies inside it. */
		int fd = rj__host_file_open(pol->in.workdir, pol->in.stdin_path, "stdin file", err, errlen);
		if (fd < 0)
			return fd;
		if (fcntl(fd, F_SETFL, 0) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		*child_fd = fd;
		return 0;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	*child_fd = p[0];
	size_t off = 0;
	if (pol->in.stdin_len <= RJ__SMALL_STDIN && !pol->in.stdin_open) {
		/* Written before the child exists, so no fd stays in flight.
		 * Never blocking: a user over its pipe quota gets one-page
		 * pipes, and nobody reads yet; what does not fit goes through
		 * the ring like a large stdin. */
		fcntl(p[1], F_SETFL, O_NONBLOCK);
		while (off < pol->in.stdin_len) {
			ssize_t n = write(p[1], pol->in.stdin_data + off, pol->in.stdin_len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
		if (off == pol->in.stdin_len) {
			close(p[1]);
			return 0;
		}
		fcntl(p[1], F_SETFL, 0);
	}
	s->in_fd = p[1];
	s->in_data = pol->in.stdin_data;
	s->in_len = pol->in.stdin_len;
	s->in_off = off;
	s->in_close = !pol->in.stdin_open;
	return 0;
}

/* As root, a detached copy of the caller's directory, made with the
 * caller's permissions, for the child to attach (a bind needs its source
 * in the child's own mount namespace). Rootless, -1: the child binds the
 * path with the caller's own id. */
static int clone_tree(rj_executor *ex, const char *path)
{
	if (!ex->root) {
		/* Only a check that the caller can reach it. */
		int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		close(fd);
		return -2;
	}
	return (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
}

static int open_mounts(rj_executor *ex, const struct rj__policy *pol, int *fds, char *err, size_t errlen)
{
	for (size_t i = 0; i < pol->in.nmounts; i++) {
		fds[i] = clone_tree(ex, pol->in.mounts[i].host);
		if (fds[i] == -2) {
			fds[i] = -1;
		} else if (fds[i] < 0) {
			int e = errno;
			rj__fmt(err, errlen, "cannot open directory '%s': %s", pol->in.mounts[i].host, strerror(e));
			while (i--)
				if (fds[i] >= 0)
					close(fds[i]);
			return -e;
		}
	}
	return 0;
}

/* The workdir: locked and checked, then (root mode) the sandbox's mount is
 * made from the locked descriptor itself, idmapped so that the sandbox
 * writes as the directory's owner; where the filesystem refuses idmapped
 * mounts, the directory is given to the sandbox's id for the run instead
 * and handed back after. Rootless, the sandbox's id is the caller's and
 * the child binds the directory. */
static int prepare_workdir(rj_executor *ex, struct rj__sbx *s, int *wd_fd, char *err, size_t errlen)
{
	*wd_fd = -1;
	if (!s->pol->in.workdir)
		return 0;
	int r = rj__workdir_lock(s->pol->in.workdir, ex->root, &s->wd_lock, err, errlen);
	if (r < 0)
		return r;
	struct stat st;
	if (fstat(s->wd_lock, &st) < 0)
		return -errno;
	s->wd_uid = st.st_uid;
	s->wd_gid = st.st_gid;
	if ((r = rj__ws_watch(ex, s, err, errlen)) < 0)
		return r;
	if (!ex->root)
		return 0;
	bool idmapped;
	*wd_fd = rj__workdir_tree(s->wd_lock, s->host_uid, &idmapped);
	if (*wd_fd < 0) {
		rj__fmt(err, errlen, "cannot make the sandbox's mount of workdir '%s': %s",
			s->pol->in.workdir, strerror(-*wd_fd));
		r = *wd_fd;
		*wd_fd = -1;
		return r;
	}
	if (idmapped)
		return 0;
	r = rj__workdir_prepare(s->wd_lock, s->host_uid, s->host_uid, &s->wd_uid, &s->wd_gid);
	if (r < 0) {
		rj__fmt(err, errlen, "cannot give the workdir to the sandbox's id: %s", strerror(-r));
		return r;
	}
	s->wd_prepared = true;
	return 0;
}

static bool prepared(rj_executor *ex, const struct rj__policy *pol)
{
	return ex->mnt0_fd >= 0 && pol->prepared_ok;
}

static pid_t do_clone(rj_executor *ex, struct rj__sbx *s, const struct rj__child_args *a)
{
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	bool prep = prepared(ex, s->pol);
	/* The prepared path makes its user and mount namespaces itself, and
	 * joins the network namespace itself, still the host's root. */
	ca.flags = CLONE_PIDFD | (prep ? CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS : ns_flags(a));
	ca.pidfd = (uint64_t)(uintptr_t)&s->pidfd;
	/* No exit signal: an embedding program's waitpid(-1) never reaps
	 * our sandboxes, and we wait with __WALL. */
	ca.exit_signal = 0;
	int cgfd = s->cg ? rj__cg_v2_fd(s->cg) : -1;
	if (cgfd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)cgfd;
	}
	bool join = !prep && a->net_fd >= 0;
	/* The sandbox's network namespace is joined by this thread for the
	 * clone only: the child inherits it, then we return to our own. */
	if (join && setns(a->net_fd, CLONE_NEWNET) < 0)
		return -errno;
	/* Every signal is blocked across clone3, as libuv's uv_spawn does:
	 * the child is a copy of us until it resets the dispositions, and a
	 * handler of the embedding program must never run there. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	long pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == 0) {
		if (prep)
			rj__child_main_prepared(a);
		rj__child_main(a);
	}
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (join)
		setns(ex->net_orig_fd, CLONE_NEWNET);
	return pid < 0 ? -e : (pid_t)pid;
}

static void kill_and_reap(struct rj__sbx *s)
{
	syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
	siginfo_t si;
	syscall(SYS_waitid, P_PIDFD, s->pidfd, &si, WEXITED | __WALL, NULL);
}

/* After clone3: the id maps, the v1 cgroups, then release the child; on
 * failure, kill and reap it, and close its pidfd. */
static int finish_clone(rj_executor *ex, struct rj__sbx *s, struct rj__shm *shm, char *err, size_t errlen)
{
	bool prep = prepared(ex, s->pol);
	int r = prep ? 0 : write_maps(ex, s, err, errlen);
	if (r == 0)
		r = rj__net_attach(ex, s, err, errlen);
	if (r == 0 && s->cg && !prep && (r = rj__cg_attach(s->cg, s->pid)) < 0)
		rj__fmt(err, errlen, "cannot move the sandbox into its cgroup: %s", strerror(-r));
	if (r < 0) {
		release_go(shm, 2);
		kill_and_reap(s);
		close_fd(&s->pidfd);
		return r;
	}
	release_go(shm, 1);
	return 0;
}

/* Does the host enforce what the plan asks? Limits the caller gave fail
 * closed unless best effort (CLI.md, "Protections"). */
static int check_limits(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen)
{
	const struct rj__policy *pol = s->pol;
	uint8_t *how = s->res.enforced;
	bool cg = s->cg != NULL;
	how[RJ_LIMIT_WALL_TIME] = RJ_ENFORCE_TIMER;
	how[RJ_LIMIT_TIME] = cg && ex->cg.cpu ? RJ_ENFORCE_TIMER : RJ_ENFORCE_RLIMIT;
	how[RJ_LIMIT_MEM] = cg && ex->cg.mem ? RJ_ENFORCE_CGROUP : RJ_ENFORCE_RLIMIT;
	how[RJ_LIMIT_PIDS] = cg && ex->cg.pids ? RJ_ENFORCE_CGROUP : RJ_ENFORCE_RLIMIT;
	how[RJ_LIMIT_OUTPUT] = RJ_ENFORCE_PIPE;
	how[RJ_LIMIT_FSIZE] = RJ_ENFORCE_RLIMIT;
	/* A workdir: accounting with a kill, by the workspace worker. */
	how[RJ_LIMIT_DISK] = pol->in.workdir ? RJ_ENFORCE_TIMER : RJ_ENFORCE_TMPFS;
	how[RJ_LIMIT_OPEN_FILES] = RJ_ENFORCE_RLIMIT;
	how[RJ_LIMIT_STACK] = RJ_ENFORCE_RLIMIT;
	how[RJ_LIMIT_AS] = (pol->in.limits_set & (1u << RJ_LIMIT_AS)) ? RJ_ENFORCE_RLIMIT : RJ_ENFORCE_NONE;
	if (pol->in.best_effort)
		return 0;
	/* RLIMIT_DATA and RLIMIT_CPU act per process, not on the sandbox as
	 * a whole: a caller's limit needs the cgroup. */
	if ((pol->in.limits_set & (1u << RJ_LIMIT_MEM)) && how[RJ_LIMIT_MEM] != RJ_ENFORCE_CGROUP) {
		rj__fmt(err, errlen, "limit 'mem' (RJ_LIMIT_MEM) needs a memory cgroup, and %s", ex->cg.why);
		return -EOPNOTSUPP;
	}
	if ((pol->in.limits_set & (1u << RJ_LIMIT_TIME)) && how[RJ_LIMIT_TIME] != RJ_ENFORCE_TIMER) {
		rj__fmt(err, errlen, "limit 'time' (RJ_LIMIT_TIME) needs whole-sandbox CPU accounting from a cgroup, and %s", ex->cg.why);
		return -EOPNOTSUPP;
	}
	return 0;
}

static uint32_t layers(rj_executor *ex, const struct rj__sbx *s)
{
	uint32_t l = RJ_LAYER_USER_NS | RJ_LAYER_PID_NS | RJ_LAYER_MOUNT_NS | RJ_LAYER_IPC_NS |
		     RJ_LAYER_UTS_NS | RJ_LAYER_SECCOMP | RJ_LAYER_CAPS | RJ_LAYER_NO_NEW_PRIVS;
	/* Every sandbox's network namespace is its own while it runs: made
	 * at clone, taken from the pool, or made for --net behind pasta. */
	l |= RJ_LAYER_NET_NS | RJ_LAYER_NET_NS_PRIVATE;
	if (ex->landlock_abi > 0)
		l |= RJ_LAYER_LANDLOCK;
	if (ex->landlock_abi >= 6)
		l |= RJ_LAYER_LANDLOCK_SCOPE;
	if (s->cg)
		l |= RJ_LAYER_CGROUP;
	return l;
}

/* Before the clone: the sandbox's cgroup and host id, and what the host
 * enforces of the plan's limits. */
static int claim(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen)
{
	const struct rj__policy *pol = s->pol;
	int r;
	if (ex->cgs && (ex->cg.mem || ex->cg.pids || ex->cg.cpu)) {
		r = rj__cg_acquire(ex->cgs, ex->cg.mem ? pol->limits[RJ_LIMIT_MEM] : 0,
				   ex->cg.pids ? pol->limits[RJ_LIMIT_PIDS] : 0, &s->cg);
		if (r < 0) {
			/* The host has cgroups but this one failed: never a
			 * silent fall back to rlimits. */
			s->cg = NULL;
			rj__fmt(err, errlen, "cannot set up the sandbox's cgroup (limits mem %llu, pids %llu): %s",
				(unsigned long long)pol->limits[RJ_LIMIT_MEM],
				(unsigned long long)pol->limits[RJ_LIMIT_PIDS], strerror(-r));
			return -EAGAIN;
		}
	}
	if ((r = check_limits(ex, s, err, errlen)) < 0)
		return r;
	if (ex->root) {
		if ((r = rj__ids_acquire(ex->ids, &s->host_uid)) < 0) {
			rj__fmt(err, errlen, "no free sandbox id in the configured range (all in use)");
			return r;
		}
		s->has_uid = true;
	}
	s->res.hardening = layers(ex, s);
	return 0;
}

int rj__spawn_child(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen)
{
	const struct rj__policy *pol = s->pol;
	int mfds[MAX_MOUNTS];
	int in_child = -1, out[2] = { -1, -1 }, errp[2] = { -1, -1 }, wd_fd = -1, net_fd = -1;
	bool net_private = false;
	int r;
	if ((r = claim(ex, s, err, errlen)) < 0)
		return r;
	if (pol->in.nmounts > MAX_MOUNTS) {
		rj__fmt(err, errlen, "at most %d mounts per sandbox", MAX_MOUNTS);
		return -E2BIG;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		r = -errno;
		rj__fmt(err, errlen, "cannot make the output pipes: %s", strerror(-r));
		goto out;
	}
	if ((r = open_stdin(ex, s, &in_child, err, errlen)) < 0)
		goto out;
	if ((r = prepare_workdir(ex, s, &wd_fd, err, errlen)) < 0)
		goto out;
	if ((r = rj__net_prepare(ex, s, &net_fd, &net_private, err, errlen)) < 0)
		goto out;
	if ((r = open_mounts(ex, pol, mfds, err, errlen)) < 0)
		goto out;
	struct rj__shm *shm = &ex->shm[s->index];
	memset(shm, 0, sizeof *shm);
	struct rj__child_args a = {
		.pol = pol, .shm = shm, .shm_all = ex->shm, .shm_count = RJ__MAX_SLOTS,
		.stdin_fd = in_child, .stdout_fd = out[1],
		.stderr_fd = errp[1], .lifeline = ex->lifeline[0], .lifeline_wr = ex->lifeline[1],
		.mount_fds = mfds, .workdir_fd = wd_fd, .workdir_lock_fd = s->wd_lock,
		.root_dir = ex->root_dir, .root_mode = ex->root,
		.cg_mem = s->cg && ex->cg.mem, .cg_pids = s->cg && ex->cg.pids,
		.landlock_abi = ex->landlock_abi, .landlock_scope = ex->landlock_abi >= 6,
		.arg_start = ex->arg_start, .arg_end = ex->arg_end,
		.mnt0_fd = prepared(ex, pol) ? ex->mnt0_fd : -1,
		.net_fd = net_fd, .net_private = net_private,
		.host_id = s->host_uid,
	};
	if (a.mnt0_fd >= 0 && s->cg)
		a.cg_n = rj__cg_self_targets(s->cg, a.cg_dirfd, a.cg_rel);
	s->start_ns = rj__now_ns();
	pid_t pid = do_clone(ex, s, &a);
	close_fd(&net_fd);
	for (size_t i = 0; i < pol->in.nmounts; i++)
		if (mfds[i] >= 0)
			close(mfds[i]);
	if (pid < 0) {
		r = pid;
		rj__fmt(err, errlen, "clone3 into new namespaces failed: %s%s", strerror(-r),
			r == -EPERM || r == -ENOSPC ? " (user namespaces may be disabled: "
			"check user.max_user_namespaces and kernel.unprivileged_userns_clone)" : "");
		goto out;
	}
	s->pid = pid;
	r = finish_clone(ex, s, shm, err, errlen);
out:
	close_fd(&in_child);
	close_fd(&wd_fd);
	close_fd(&net_fd);
	close_fd(&out[1]);
	close_fd(&errp[1]);
	if (r < 0) {
		close_fd(&out[0]);
		close_fd(&errp[0]);
		return r;
	}
	s->out.fd = out[0];
	s->err.fd = errp[0];
	/* Root has no pipe quota: a bigger stdout pipe means fewer wakeups
	 * and completions for a program that writes a lot. */
	if (ex->root)
		fcntl(out[0], F_SETPIPE_SZ, RJ__BIG_PIPE);
	return 0;
}
