/* The child side, from clone3 to execve. Everything here runs in a copy of
 * the executor's address space (or, for the program, shares init's), so it
 * calls only raw system calls and async-signal-safe functions: no malloc,
 * no stdio, no locks, no libseccomp or libcap-ng. Each failure is recorded
 * as {stage, errno} in the sandbox's shared record and the process exits.
 *
 * Two processes live here:
 *   init    PID 1 of the sandbox's pid namespace: waits for the parent to
 *           write its id maps, builds the mount namespace (mounts.c),
 *           writes the workspace files, starts the program with a
 *           vfork-style clone, then reaps everything until the program
 *           ends and kills the rest.
 *   program applies rlimits, Landlock, capabilities, no_new_privs and
 *           seccomp (the last thing before execve) and executes argv.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "internal.h"
#include "sys.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define PATH_BUF 4096
#define PROG_STACK (64 * 1024)

/* The program's stack while it shares init's memory (CLONE_VM). Each init
 * has its own copy of this array, being a separate process. */
static char prog_stack[PROG_STACK] __attribute__((aligned(16)));

static void stamp(struct rj__shm *shm, int i)
{
	sys_clock_ns(&shm->t[i]);
}

_Noreturn void rj__child_die(struct rj__shm *shm, int stage, int err, int detail)
{
	shm->stage = stage;
	shm->err = err ? err : EPERM;
	shm->detail = detail;
	atomic_store(&shm->state, RJ__SHM_FAILED);
	sys_exit(127);
}

/* ---- stdio and descriptors ------------------------------------------- */

/* close_range(first, ~0, flags), or the same one descriptor at a time
 * where it is refused (an outer seccomp filter, an old kernel): no
 * descriptor of the embedding program may reach the program. */
static void close_from(unsigned first, unsigned flags)
{
	if (sys_close_range(first, ~0U, flags) == 0)
		return;
	struct rlimit rl = { 0, 0 };
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl);
	unsigned last = rl.rlim_cur > (1u << 20) ? 1u << 20 : (unsigned)rl.rlim_cur;
	for (unsigned fd = first; fd < last; fd++) {
		if (flags & CLOSE_RANGE_CLOEXEC)
			sys_fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		else
			sys_close((int)fd);
	}
}

static void setup_fds(const struct rj__child_args *a)
{
	int src[3] = { a->stdin_fd, a->stdout_fd, a->stderr_fd };
	int tmp[3];
	/* Move the three above 2 first: one of them may already be 0, 1 or 2
	 * when the embedding process had closed its own stdio. */
	for (int i = 0; i < 3; i++)
		if ((tmp[i] = sys_fcntl(src[i], F_DUPFD_CLOEXEC, 3)) < 0)
			rj__child_die(a->shm, RJ_STAGE_STDIO, errno, i);
	for (int i = 0; i < 3; i++)
		if (sys_dup3(tmp[i], i, 0) < 0)
			rj__child_die(a->shm, RJ_STAGE_STDIO, errno, i);
	/* Every inherited descriptor of the executor is O_CLOEXEC already;
	 * marking the rest as well covers those an embedding program opened
	 * without it. init closes them all once the program runs. */
	close_from(3, CLOSE_RANGE_CLOEXEC);
	/* Our copy of the lifeline's write end would keep it from ever
	 * reporting the executor's death to us. */
	if (a->lifeline_wr >= 0)
		sys_close(a->lifeline_wr);
}

/* The parent blocked every signal around clone3, so no handler of the
 * embedding program ran here; now every disposition goes back to the
 * default. SIGCHLD stays blocked: init reads it from a signalfd. */
void rj__child_reset_signals(void)
{
	for (int s = 1; s <= 64; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sys_sig_default(s);
	sys_sigmask(SIG_SETMASK, rj__sigbit(SIGCHLD));
}

/* ---- the program -------------------------------------------------------- */

static int set_rlimit(int res, uint64_t soft, uint64_t hard)
{
	struct rlimit rl = {
		soft == RJ_UNLIMITED ? RLIM_INFINITY : soft,
		hard == RJ_UNLIMITED ? RLIM_INFINITY : hard,
	};
	return sys_prlimit(res, &rl) < 0 ? -errno : 0;
}

static int apply_rlimits(const struct rj__child_args *a)
{
	const uint64_t *l = a->pol->limits;
	uint64_t cpu_s = (l[RJ_LIMIT_TIME] + 999999) / 1000000 + 1;
	int r = 0;
	r |= set_rlimit(RLIMIT_CORE, 0, 0);
	r |= set_rlimit(RLIMIT_FSIZE, l[RJ_LIMIT_FSIZE], l[RJ_LIMIT_FSIZE]);
	r |= set_rlimit(RLIMIT_STACK, l[RJ_LIMIT_STACK], l[RJ_LIMIT_STACK]);
	/* mlock is refused by the filter, but mmap(MAP_LOCKED) and SHM_LOCK
	 * are not: no locked memory at all. */
	r |= set_rlimit(RLIMIT_MEMLOCK, 0, 0);
	/* The kernel's backstop behind the executor's own CPU timer. */
	r |= set_rlimit(RLIMIT_CPU, cpu_s, cpu_s + 1);
	if (!a->cg_pids)
		r |= set_rlimit(RLIMIT_NPROC, l[RJ_LIMIT_PIDS], l[RJ_LIMIT_PIDS]);
	/* Never RLIMIT_AS by default: it breaks the JVM, node and Go. */
	if (!a->cg_mem)
		r |= set_rlimit(RLIMIT_DATA, l[RJ_LIMIT_MEM], l[RJ_LIMIT_MEM]);
	if (a->pol->in.limits_set & (1u << RJ_LIMIT_AS))
		r |= set_rlimit(RLIMIT_AS, l[RJ_LIMIT_AS], l[RJ_LIMIT_AS]);
	return r ? -EINVAL : 0;
}

/* execvpe without malloc: PROGRAM without a slash is looked up on the
 * sandbox's PATH. Returns the errno of the most telling failure. */
static int exec_program(const struct rj__policy *pol)
{
	const char *prog = pol->in.argv[0];
	if (strchr(prog, '/') || !pol->path_env) {
		sys_execve(prog, pol->in.argv, pol->in.env);
		return errno;
	}
	int err = ENOENT;
	const char *p = pol->path_env;
	char path[PATH_BUF];
	while (*p) {
		const char *end = strchrnul(p, ':');
		size_t n = (size_t)(end - p);
		if (n && n + strlen(prog) + 2 < PATH_BUF) {
			memcpy(path, p, n);
			path[n] = '/';
			strcpy(path + n + 1, prog);
			sys_execve(path, pol->in.argv, pol->in.env);
			if (errno != ENOENT && errno != ENOTDIR)
				err = errno;
		}
		p = *end ? end + 1 : end;
	}
	return err;
}

static int program_main(void *arg)
{
	const struct rj__child_args *a = arg;
	struct rj__shm *shm = a->shm;
	int r;
	/* init keeps SIGCHLD blocked for its signalfd; the mask would
	 * survive execve, so the program starts with none blocked. */
	sys_sigmask(SIG_SETMASK, 0);
	if ((r = apply_rlimits(a)) < 0)
		rj__child_die(shm, RJ_STAGE_RLIMITS, -r, 0);
	if (a->landlock_abi > 0 && (r = rj__landlock_apply(a->pol, a->landlock_abi, a->landlock_scope)) < 0)
		rj__child_die(shm, RJ_STAGE_LANDLOCK, -r, 0);
	/* After Landlock, which needs a few descriptors of its own: a limit
	 * below that must still let the program start. */
	if ((r = set_rlimit(RLIMIT_NOFILE, a->pol->limits[RJ_LIMIT_OPEN_FILES],
			    a->pol->limits[RJ_LIMIT_OPEN_FILES])) < 0)
		rj__child_die(shm, RJ_STAGE_RLIMITS, -r, 1);
	if ((r = rj__caps_drop_all()) < 0)
		rj__child_die(shm, RJ_STAGE_CAPS, -r, 0);
	if (sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rj__child_die(shm, RJ_STAGE_NO_NEW_PRIVS, errno, 0);
	/* seccomp is the last step before execve (bubblewrap's order). */
	if (syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &a->pol->bpf) < 0)
		rj__child_die(shm, RJ_STAGE_SECCOMP, errno, 0);
	rj__child_die(shm, RJ_STAGE_EXEC, exec_program(a->pol), 0);
}

/* ---- init --------------------------------------------------------------- */

/* Whether the executor's process is still there: the lifeline, a pipe
 * whose write end only that process holds (we closed our copy first
 * thing), hangs up when it dies, however it dies. No parent-death signal
 * is used: it fires when the *thread* that cloned us exits, which would
 * kill the sandboxes of an executor whose spawning thread retires (a
 * thread pool) the moment rj_spawn returned, before our ids changed. */
static void check_lifeline(const struct rj__child_args *a)
{
	struct pollfd p = { .fd = a->lifeline, .events = POLLIN };
	struct timespec now = { 0, 0 };
	if (sys_ppoll(&p, 1, &now) != 0)
		sys_exit(126);
}

static void wait_for_go(const struct rj__child_args *a)
{
	/* The parent writes our id maps (and attaches v1 cgroups) and then
	 * flips `go`, within milliseconds. Should it die meanwhile, the
	 * lifeline says so at the next tick; 10 s without word is death too. */
	struct timespec tick = { 0, 50 * 1000000 };
	for (int n = 0; atomic_load(&a->shm->go) == 0; n++) {
		if (n == 200)
			sys_exit(126);
		sys_futex_wait(&a->shm->go, 0, &tick);
		check_lifeline(a);
	}
	if (atomic_load(&a->shm->go) != 1)
		sys_exit(126);
}

static void become_box_user(const struct rj__child_args *a)
{
	if (a->root_mode && sys_setgroups0() < 0)
		rj__child_die(a->shm, RJ_STAGE_USERNS, errno, 1);
	/* Our host uid is not mapped in the namespace, so the kernel keeps
	 * our capabilities in it across this switch to a mapped id. */
	if (sys_setresgid(RJ__BOX_UID, RJ__BOX_UID, RJ__BOX_UID) < 0 ||
	    sys_setresuid(RJ__BOX_UID, RJ__BOX_UID, RJ__BOX_UID) < 0)
		rj__child_die(a->shm, RJ_STAGE_USERNS, errno, 2);
}

/* Reaps until nothing is left. Besides the program's end, two things end
 * the sandbox without the executor's event loop: the lifeline's hang-up
 * (the executor's process died, however) and init's own deadline, the
 * wall limit plus a margin (the loop that enforces the limit is stuck or
 * gone, e.g. the thread that ran it exited). */
static _Noreturn void reap_all(const struct rj__child_args *a, pid_t prog, int sfd, uint64_t deadline)
{
	struct rj__shm *shm = a->shm;
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = RJ__INIT_LIFELINE_FD } };
	for (;;) {
		int st;
		pid_t pid;
		while ((pid = sys_wait4(-1, &st, __WALL | WNOHANG)) > 0) {
			if (pid != prog)
				continue;
			shm->wstatus = st;
			atomic_store(&shm->state, RJ__SHM_FINISHED);
			/* When the program ends, the sandbox ends with it. */
			sys_kill(-1, SIGKILL);
		}
		if (pid < 0 && errno != EINTR)
			break;
		uint64_t now = 0;
		sys_clock_ns(&now);
		struct timespec left = { 0, 0 };
		if (deadline > now)
			left = (struct timespec){ (time_t)((deadline - now) / 1000000000ull),
						  (long)((deadline - now) % 1000000000ull) };
		int n = deadline && now >= deadline ? 0 : sys_ppoll(p, 2, deadline ? &left : NULL);
		if (n == 0 || (n > 0 && p[1].revents)) {
			sys_kill(-1, SIGKILL);
			p[1].fd = -1;
			deadline = 0;
		}
		uint64_t drain[16];
		if (n > 0 && p[0].revents)
			sys_read(sfd, drain, sizeof drain);
	}
	sys_exit(0);
}

/* init is a copy of the executor that never executes anything: its
 * /proc/1/cmdline would show the caller's argv (tokens, paths) to the
 * program. Blank it in our copy of the memory, and rename the thread. */
static void scrub_identity(const struct rj__child_args *a)
{
	if (a->arg_start && a->arg_end > a->arg_start)
		memset((void *)a->arg_start, 0, a->arg_end - a->arg_start);
	sys_prctl(PR_SET_NAME, (unsigned long)"ringjail-init", 0, 0, 0);
}

/* The executor's records of every other sandbox are none of our business. */
static void unmap_neighbours(const struct rj__child_args *a)
{
	if (!a->shm_all)
		return;
	size_t own = (size_t)(a->shm - a->shm_all);
	if (own)
		sys_munmap(a->shm_all, own * sizeof *a->shm);
	if (own + 1 < a->shm_count)
		sys_munmap(a->shm + 1, (a->shm_count - own - 1) * sizeof *a->shm);
}

static void prologue(const struct rj__child_args *a)
{
	scrub_identity(a);
	unmap_neighbours(a);
	setup_fds(a);
	rj__child_reset_signals();
	if (sys_setsid() < 0)
		rj__child_die(a->shm, RJ_STAGE_NAMESPACES, errno, 0);
	stamp(a->shm, 0);
}

static _Noreturn void start_program(const struct rj__child_args *a);

_Noreturn void rj__child_main(const struct rj__child_args *a)
{
	struct rj__shm *shm = a->shm;
	prologue(a);
	wait_for_go(a);
	stamp(shm, 1);
	become_box_user(a);
	check_lifeline(a);
	sys_umask(0);
	if (sys_sethostname("ringjail", 8) < 0)
		rj__child_die(shm, RJ_STAGE_NAMESPACES, errno, 1);
	rj__child_build_root(a);
	rj__child_write_files(a);
	rj__child_enter_root(a);
	stamp(shm, 2);
	start_program(a);
}

/* ---- the prepared path (root mode) --------------------------------------
 * The executor built the read-only root once, in a mount namespace of its
 * own (rj__root_builder). Here, still the host's root but in fresh pid,
 * ipc and uts namespaces, we copy that small namespace instead of the
 * host's, mount this run's /box, /tmp and /proc, join the network
 * namespace, become the sandbox's host id, and only then create the user
 * namespace, writing our own one-line id maps. Every namespace but the
 * user one is owned by the initial user namespace, so the sandbox holds
 * no capability over any of them. */

static int write_self(const char *file, const char *data, size_t len)
{
	int fd = sys_open(file, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ssize_t n = sys_write(fd, data, len);
	int e = errno;
	sys_close(fd);
	return n == (ssize_t)len ? 0 : n < 0 ? -e : -EIO;
}

static void own_user_ns(const struct rj__child_args *a)
{
	char map[64];
	size_t at = rj__s_num(map, rj__s_cat(map, 0, "1000 ", sizeof map), a->host_id, 10, sizeof map);
	at = rj__s_cat(map, at, " 1\n", sizeof map);
	/* We changed ids: make /proc/self ours again to write the maps. */
	sys_prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (sys_unshare(CLONE_NEWUSER) < 0)
		rj__child_die(a->shm, RJ_STAGE_USERNS, errno, 3);
	int r = write_self("/proc/self/uid_map", map, at);
	if (r == 0)
		r = write_self("/proc/self/setgroups", "deny", 4);
	if (r == 0)
		r = write_self("/proc/self/gid_map", map, at);
	if (r < 0)
		rj__child_die(a->shm, RJ_STAGE_USERNS, -r, 4);
}

static void join_net(const struct rj__child_args *a)
{
	if (a->net_fd >= 0 && sys_setns(a->net_fd, CLONE_NEWNET) < 0)
		rj__child_die(a->shm, RJ_STAGE_NAMESPACES, errno, 2);
	if (a->net_private && sys_unshare(CLONE_NEWNET) < 0)
		rj__child_die(a->shm, RJ_STAGE_NAMESPACES, errno, 3);
}

/* cgroup v1 has no CLONE_INTO_CGROUP: still the host's root, we move
 * ourselves, before anything the sandbox does is accounted. */
static void join_cgroups(const struct rj__child_args *a)
{
	for (int i = 0; i < a->cg_n; i++) {
		int fd = sys_openat(a->cg_dirfd[i], a->cg_rel[i], O_WRONLY | O_CLOEXEC, 0);
		if (fd < 0 || sys_write(fd, "0", 1) != 1)
			rj__child_die(a->shm, RJ_STAGE_NAMESPACES, errno, 5);
		sys_close(fd);
	}
}

_Noreturn void rj__child_main_prepared(const struct rj__child_args *a)
{
	struct rj__shm *shm = a->shm;
	join_cgroups(a);
	prologue(a);
	sys_umask(0);
	if (sys_setns(a->mnt0_fd, CLONE_NEWNS) < 0 || sys_unshare(CLONE_NEWNS) < 0)
		rj__child_die(shm, RJ_STAGE_NAMESPACES, errno, 4);
	rj__child_replay_range(a, a->pol->run_mops, a->pol->nmops);
	if (sys_sethostname("ringjail", 8) < 0)
		rj__child_die(shm, RJ_STAGE_NAMESPACES, errno, 1);
	join_net(a);
	if (sys_setgroups0() < 0 || sys_setresgid(a->host_id, a->host_id, a->host_id) < 0 ||
	    sys_setresuid(a->host_id, a->host_id, a->host_id) < 0)
		rj__child_die(shm, RJ_STAGE_USERNS, errno, 2);
	rj__child_write_files(a);
	own_user_ns(a);
	check_lifeline(a);
	if (sys_chdir(a->pol->in.cwd) < 0)
		rj__child_die(shm, RJ_STAGE_CHDIR, errno, 0);
	stamp(shm, 2);
	start_program(a);
}

/* Keeps the lifeline as fd 3 and a signalfd for SIGCHLD as fd 4, both
 * close-on-exec, and closes everything else above stdio: the program's
 * open-files limit must not count the executor's descriptors. */
static int init_fds(const struct rj__child_args *a)
{
	if (a->lifeline != RJ__INIT_LIFELINE_FD &&
	    sys_dup3(a->lifeline, RJ__INIT_LIFELINE_FD, O_CLOEXEC) < 0)
		return -errno;
	close_from(RJ__INIT_LIFELINE_FD + 1, 0);
	int sfd = sys_signalfd(rj__sigbit(SIGCHLD), SFD_CLOEXEC | SFD_NONBLOCK);
	return sfd < 0 ? -errno : sfd;
}

static _Noreturn void start_program(const struct rj__child_args *a)
{
	struct rj__shm *shm = a->shm;
	int sfd = init_fds(a);
	if (sfd < 0)
		rj__child_die(shm, RJ_STAGE_FORK, -sfd, 1);
	sys_umask(022);
	/* Nothing inside may read init's memory through /proc. */
	sys_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	uint64_t deadline = 0;
	sys_clock_ns(&deadline);
	deadline += a->pol->limits[RJ_LIMIT_WALL_TIME] * 1000 + RJ__INIT_MARGIN_NS;
	pid_t prog = clone(program_main, prog_stack + PROG_STACK,
			   CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)a);
	if (prog < 0)
		rj__child_die(shm, RJ_STAGE_FORK, errno, 0);
	/* CLONE_VFORK: the program has executed or failed by now. */
	stamp(shm, 3);
	if (atomic_load(&shm->state) == RJ__SHM_FAILED) {
		sys_wait4(prog, NULL, __WALL);
		sys_exit(127);
	}
	atomic_store(&shm->state, RJ__SHM_RUNNING);
	for (int fd = 0; fd < 3; fd++)
		sys_close(fd);
	close_from((unsigned)sfd + 1, 0);
	rj__caps_drop_all();
	reap_all(a, prog, sfd, deadline);
}

