/* The child side, from clone3 to execve. Everything here runs in a copy of
 * the executor's address space (or, for the program, shares init's), so it
 * calls only raw system calls and async-signal-safe functions: no malloc,
 * no stdio, no locks, no libseccomp or libcap-ng. Each failure is recorded
 * as {stage, errno} in the sandbox's shared record and the process exits.
 *
 * Two processes live here:
 *   init    PID 1 of the sandbox's pid namespace: waits for the parent to
 *           write its id maps, builds the mount namespace, writes the
 *           workspace files, starts the program with a vfork-style clone,
 *           then reaps everything until the program ends and kills the rest.
 *   program applies rlimits, Landlock, capabilities, no_new_privs and
 *           seccomp (the last thing before execve) and executes argv.
 */
#include <errno.h>
#include <linux/mount.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "internal.h"
#include "sys.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
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

static _Noreturn void die(struct rj__shm *shm, int stage, int err, int detail)
{
	shm->stage = stage;
	shm->err = err ? err : EPERM;
	shm->detail = detail;
	atomic_store(&shm->state, RJ__SHM_FAILED);
	sys_exit(127);
}

/* ---- small string helpers (no libc formatting here) ------------------ */

static size_t s_cat(char *dst, size_t at, const char *src)
{
	while (*src && at < PATH_BUF - 1)
		dst[at++] = *src++;
	dst[at] = '\0';
	return at;
}

static size_t s_num(char *dst, size_t at, uint64_t v, unsigned base)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && at < PATH_BUF - 1)
		dst[at++] = tmp[--n];
	dst[at] = '\0';
	return at;
}

/* root + "/" + rel */
static void join(char *out, const char *root, const char *rel)
{
	size_t at = s_cat(out, 0, root);
	at = s_cat(out, at, "/");
	s_cat(out, at, rel);
}

/* mkdir -p of `path`, whose first `skip` bytes name a directory we trust
 * (the root being built), refusing to pass through a symbolic link below
 * it: a kept workdir (/box) may hold links an earlier run planted. Returns
 * an O_PATH descriptor of the last directory, and what is then made in it
 * is made through that descriptor, never by the path again: another
 * writer of a kept workdir could swap a directory for a link meanwhile. */
static int walk_beneath(char *path, size_t skip, unsigned mode)
{
	char save = path[skip];
	path[skip] = '\0';
	int dir = sys_open(skip ? path : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	path[skip] = save;
	if (dir < 0)
		return -errno;
	int r = 0;
	char *c = path + skip;
	while (!r) {
		while (*c == '/')
			c++;
		if (!*c)
			break;
		char *end = c;
		while (*end && *end != '/')
			end++;
		char sep = *end;
		*end = '\0';
		if (sys_mkdirat(dir, c, sep ? 0755 : mode) < 0 && errno != EEXIST)
			r = -errno;
		int next = r ? -1 : sys_openat(dir, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
		if (!r && next < 0)
			r = -errno;
		*end = sep;
		sys_close(dir);
		dir = next;
		c = end;
	}
	return r < 0 ? r : dir;
}

static int mkdir_beneath(char *path, size_t skip, unsigned mode)
{
	int fd = walk_beneath(path, skip, mode);
	if (fd < 0)
		return fd;
	sys_close(fd);
	return 0;
}

/* The parent of path, walked as above, and the last component's name. */
static int walk_parent(char *path, size_t skip, const char **name)
{
	char *slash = strrchr(path, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*name = slash + 1;
	if ((size_t)(slash - path) < skip) {
		char save = path[skip];
		path[skip] = '\0';
		int fd = sys_open(skip ? path : "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		path[skip] = save;
		return fd < 0 ? -errno : fd;
	}
	*slash = '\0';
	int fd = walk_beneath(path, skip, 0755);
	*slash = '/';
	return fd;
}

static int mkparent(char *path, size_t skip)
{
	const char *name;
	int fd = walk_parent(path, skip, &name);
	if (fd < 0)
		return fd;
	sys_close(fd);
	return 0;
}

static int setattr(const char *path, uint64_t set, unsigned flags)
{
	struct mount_attr attr = { .attr_set = set };
	return syscall(SYS_mount_setattr, AT_FDCWD, path, flags, &attr, sizeof attr) < 0 ? -errno : 0;
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
			die(a->shm, RJ_STAGE_STDIO, errno, i);
	for (int i = 0; i < 3; i++)
		if (sys_dup3(tmp[i], i, 0) < 0)
			die(a->shm, RJ_STAGE_STDIO, errno, i);
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
static void reset_signals(void)
{
	for (int s = 1; s <= 64; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sys_sig_default(s);
	sys_sigmask(SIG_SETMASK, rj__sigbit(SIGCHLD));
}

/* ---- the mount namespace ---------------------------------------------- */

/* attrs == 0: no mount_setattr (the seal, or the source's flags, apply). */
static int op_bind(const char *src, char *dst, size_t skip, uint64_t attrs, bool is_file)
{
	int r = is_file ? 0 : mkdir_beneath(dst, skip, 0755);
	if (r < 0)
		return r;
	if (sys_mount(src, dst, NULL, MS_BIND | (is_file ? 0 : MS_REC), NULL) < 0)
		return -errno;
	return attrs ? setattr(dst, attrs, AT_RECURSIVE) : 0;
}

static int op_file(char *dst, size_t skip)
{
	int r = mkparent(dst, skip);
	if (r < 0)
		return r;
	int fd = sys_open(dst, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	sys_close(fd);
	return 0;
}

/* owner: the sandbox's id as seen by whoever mounts (1000 inside the
 * sandbox's user namespace, its host id on the prepared path). It is
 * given with a chown, not a uid= option, which /proc/self/mountinfo
 * would show to the program (its host id, on the prepared path). */
static int op_tmpfs(char *dst, size_t skip, uint64_t size, unsigned mode, uint32_t owner)
{
	char opts[PATH_BUF];
	size_t at = s_cat(opts, 0, "size=");
	at = s_num(opts, at, size, 10);
	at = s_cat(opts, at, ",mode=");
	s_num(opts, at, mode, 8);
	int r = mkdir_beneath(dst, skip, 0755);
	if (r < 0)
		return r;
	if (sys_mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return -errno;
	return sys_fchownat(AT_FDCWD, dst, owner, owner, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* A file, always a new one: whatever an earlier run left under that name
 * in a kept workdir (a link, a fifo, a file with other links) is removed
 * first, never opened. */
static int op_write(char *dst, size_t skip, const char *data, size_t len, unsigned mode)
{
	const char *name;
	int dir = walk_parent(dst, skip, &name);
	if (dir < 0)
		return dir;
	int r = 0;
	int fd = -1;
	if (sys_unlinkat(dir, name, 0) < 0 && errno != ENOENT)
		r = -errno;
	if (!r && (fd = sys_openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode)) < 0)
		r = -errno;
	sys_close(dir);
	if (r)
		return r;
	size_t done = 0;
	while (done < len) {
		ssize_t n = sys_write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	if (r == 0 && sys_fchmod(fd, mode) < 0)
		r = -errno;
	sys_close(fd);
	return r;
}

static uint64_t bind_attrs(unsigned flags)
{
	uint64_t a = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	if (!(flags & RJ_MOUNT_RW))
		a |= MOUNT_ATTR_RDONLY;
	if (flags & RJ_MOUNT_NOEXEC)
		a |= MOUNT_ATTR_NOEXEC;
	return a;
}

/* The caller's directories: as root, the parent cloned each tree with its
 * own permissions (open_tree), and we attach the copy; a bind of a path
 * would be looked up with the sandbox's id, which may not reach it.
 * Rootless, the sandbox's id is the caller's, so the path is looked up
 * with the same permissions. */
static bool same_inode(int fd1, int fd2)
{
	struct statx x1, x2;
	if (syscall(SYS_statx, fd1, "", AT_EMPTY_PATH, STATX_INO, &x1) < 0 ||
	    syscall(SYS_statx, fd2, "", AT_EMPTY_PATH, STATX_INO, &x2) < 0)
		return false;
	return x1.stx_ino == x2.stx_ino && x1.stx_dev_major == x2.stx_dev_major &&
	       x1.stx_dev_minor == x2.stx_dev_minor;
}

static int op_bindfd(const struct rj__child_args *a, const struct rj__mop *op, char *dst, size_t skip)
{
	bool wd = op->arg == UINT64_MAX;
	int src = wd ? a->workdir_fd : a->mount_fds[op->arg];
	bool own = src < 0;
	/* Rootless: a copy of the caller's tree, looked up with the caller's
	 * own id (ours), like a bind of the path but held by a descriptor. A
	 * workdir comes without what is mounted below it, and must be the
	 * directory the executor locked, not whatever the path names now. */
	if (own && (src = (int)syscall(SYS_open_tree, AT_FDCWD,
				       wd ? a->pol->workdir : a->pol->mounts[op->arg].host,
				       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (wd ? 0 : AT_RECURSIVE))) < 0)
		return -errno;
	if (own && wd && !same_inode(src, a->workdir_lock_fd)) {
		sys_close(src);
		return -ESTALE;
	}
	/* Attached onto the directory the walk found, never by path, which
	 * another writer of a kept workdir could redirect meanwhile; then
	 * made read-only (or not) through the same descriptor, once it is in
	 * our namespace (a copy the executor made is not ours to change). */
	int r = 0;
	int dir = walk_beneath(dst, skip, 0755);
	if (dir < 0)
		r = dir;
	if (!r && syscall(SYS_move_mount, src, "", dir, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		r = -errno;
	struct mount_attr attr = { .attr_set = bind_attrs(op->flags) };
	if (!r && syscall(SYS_mount_setattr, src, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
		r = -errno;
	if (dir >= 0)
		sys_close(dir);
	if (own)
		sys_close(src);
	return r;
}

/* Where the root being built lives: on the prepared path we are in it
 * already; otherwise it is the mount point we build it on. */
static const char *root_of(const struct rj__child_args *a)
{
	return a->mnt0_fd >= 0 ? "" : a->root_dir;
}

static int replay(const struct rj__child_args *a, const struct rj__mop *op)
{
	char dst[PATH_BUF];
	size_t skip = strlen(root_of(a));
	join(dst, root_of(a), op->dst);
	switch (op->kind) {
	case RJ__MOP_DIR:
		return mkdir_beneath(dst, skip, 0755);
	case RJ__MOP_FILE:
		return op_file(dst, skip);
	case RJ__MOP_BIND:
		return op_bind(op->src, dst, skip, 0, false);
	case RJ__MOP_BINDFILE:
		/* Device nodes, bound after the seal: writable, no nodev. */
		return op_bind(op->src, dst, skip, 0, true);
	case RJ__MOP_BINDFD:
		return op_bindfd(a, op, dst, skip);
	case RJ__MOP_SYMLINK: {
		int r = mkparent(dst, skip);
		return r < 0 ? r : sys_symlinkat(op->src, AT_FDCWD, dst) < 0 ? -errno : 0;
	}
	case RJ__MOP_TMPFS:
		return op_tmpfs(dst, skip, op->arg, op->mode, a->mnt0_fd >= 0 ? a->host_id : RJ__BOX_UID);
	case RJ__MOP_WRITE:
		return op_write(dst, skip, op->data, op->len, op->mode);
	case RJ__MOP_SEAL:
		/* One call makes the root and every system bind read-only,
		 * nosuid and nodev. */
		return setattr(a->root_dir, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
			       AT_RECURSIVE);
	case RJ__MOP_PROC:
		return sys_mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? -errno : 0;
	}
	return -EINVAL;
}

static void replay_range(const struct rj__child_args *a, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		int r = replay(a, &a->pol->mops[i]);
		if (r < 0)
			die(a->shm, RJ_STAGE_MOUNTS, -r, (int)i);
	}
}

static void build_root(const struct rj__child_args *a)
{
	struct rj__shm *shm = a->shm;
	/* Nothing we mount may propagate back to the host. */
	if (sys_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die(shm, RJ_STAGE_MOUNTS, errno, -1);
	if (sys_mount("tmpfs", a->root_dir, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=1m,nr_inodes=4096,mode=0755") < 0)
		die(shm, RJ_STAGE_MOUNTS, errno, -2);
	replay_range(a, 0, a->pol->nmops);
}

static void write_files(const struct rj__child_args *a)
{
	const struct rj__policy *pol = a->pol;
	char dst[PATH_BUF];
	char box[PATH_BUF];
	join(box, root_of(a), "box");
	for (size_t i = 0; i < pol->nfiles; i++) {
		join(dst, box, pol->files[i].path);
		int r = op_write(dst, strlen(root_of(a)), pol->files[i].data, pol->files[i].len,
				 pol->files[i].mode);
		if (r < 0)
			die(a->shm, RJ_STAGE_FILES, -r, (int)i);
	}
}

static void enter_root(const struct rj__child_args *a)
{
	if (sys_chdir(a->root_dir) < 0 || sys_pivot_root(".", ".") < 0)
		die(a->shm, RJ_STAGE_MOUNTS, errno, -4);
	/* The old root now sits on top of the new one: detach it. */
	if (sys_umount2(".", MNT_DETACH) < 0)
		die(a->shm, RJ_STAGE_MOUNTS, errno, -5);
	if (sys_chdir(a->pol->cwd) < 0)
		die(a->shm, RJ_STAGE_CHDIR, errno, 0);
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
	if (a->pol->limits_set & (1u << RJ_LIMIT_AS))
		r |= set_rlimit(RLIMIT_AS, l[RJ_LIMIT_AS], l[RJ_LIMIT_AS]);
	return r ? -EINVAL : 0;
}

/* execvpe without malloc: PROGRAM without a slash is looked up on the
 * sandbox's PATH. Returns the errno of the most telling failure. */
static int exec_program(const struct rj__policy *pol)
{
	const char *prog = pol->argv[0];
	if (strchr(prog, '/') || !pol->path_env) {
		sys_execve(prog, pol->argv, pol->envp);
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
			sys_execve(path, pol->argv, pol->envp);
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
		die(shm, RJ_STAGE_RLIMITS, -r, 0);
	if (a->landlock_abi > 0 && (r = rj__landlock_apply(a->pol, a->landlock_abi, a->landlock_scope)) < 0)
		die(shm, RJ_STAGE_LANDLOCK, -r, 0);
	/* After Landlock, which needs a few descriptors of its own: a limit
	 * below that must still let the program start. */
	if ((r = set_rlimit(RLIMIT_NOFILE, a->pol->limits[RJ_LIMIT_OPEN_FILES],
			    a->pol->limits[RJ_LIMIT_OPEN_FILES])) < 0)
		die(shm, RJ_STAGE_RLIMITS, -r, 1);
	if ((r = rj__caps_drop_all()) < 0)
		die(shm, RJ_STAGE_CAPS, -r, 0);
	if (sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die(shm, RJ_STAGE_NO_NEW_PRIVS, errno, 0);
	/* seccomp is the last step before execve (bubblewrap's order). */
	if (syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &a->pol->bpf) < 0)
		die(shm, RJ_STAGE_SECCOMP, errno, 0);
	die(shm, RJ_STAGE_EXEC, exec_program(a->pol), 0);
}

/* ---- init --------------------------------------------------------------- */

static void wait_for_go(struct rj__shm *shm)
{
	/* The parent writes our id maps (and attaches v1 cgroups) and then
	 * flips `go`. If it died meanwhile, PDEATHSIG kills us; the timeout
	 * covers a parent that died before we set it. */
	struct timespec ts = { 10, 0 };
	while (atomic_load(&shm->go) == 0) {
		long r = sys_futex_wait(&shm->go, 0, &ts);
		if (r < 0 && errno == ETIMEDOUT)
			sys_exit(126);
	}
	if (atomic_load(&shm->go) != 1)
		sys_exit(126);
}

/* Whether the executor's process is still there, once our ids changed.
 * The parent-death signal armed in prologue() covers the setup until then
 * (the spawning thread waits in rj_spawn for us to be released), and the
 * kernel clears it at that change. It is not armed again on purpose: it
 * fires when the *thread* that cloned us exits, which would kill the
 * sandboxes of an executor whose spawning thread retires (thread pools)
 * and cannot be re-armed without a window where that exit goes unseen.
 * From here on the lifeline, a pipe whose write end only the executor's
 * process holds, is what ties us to it, and init watches it to the end. */
static void check_lifeline(const struct rj__child_args *a)
{
	struct pollfd p = { .fd = a->lifeline, .events = POLLIN };
	struct timespec now = { 0, 0 };
	if (sys_ppoll(&p, 1, &now) != 0)
		sys_exit(126);
}

static void become_box_user(const struct rj__child_args *a)
{
	if (a->root_mode && sys_setgroups0() < 0)
		die(a->shm, RJ_STAGE_USERNS, errno, 1);
	/* Our host uid is not mapped in the namespace, so the kernel keeps
	 * our capabilities in it across this switch to a mapped id. */
	if (sys_setresgid(RJ__BOX_UID, RJ__BOX_UID, RJ__BOX_UID) < 0 ||
	    sys_setresuid(RJ__BOX_UID, RJ__BOX_UID, RJ__BOX_UID) < 0)
		die(a->shm, RJ_STAGE_USERNS, errno, 2);
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
	/* Covers the executor dying before our first change of ids. */
	sys_prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	scrub_identity(a);
	unmap_neighbours(a);
	setup_fds(a);
	reset_signals();
	if (sys_setsid() < 0)
		die(a->shm, RJ_STAGE_NAMESPACES, errno, 0);
	stamp(a->shm, 0);
}

static _Noreturn void start_program(const struct rj__child_args *a);

_Noreturn void rj__child_main(const struct rj__child_args *a)
{
	struct rj__shm *shm = a->shm;
	prologue(a);
	wait_for_go(shm);
	stamp(shm, 1);
	become_box_user(a);
	check_lifeline(a);
	sys_umask(0);
	if (sys_sethostname("ringjail", 8) < 0)
		die(shm, RJ_STAGE_NAMESPACES, errno, 1);
	build_root(a);
	write_files(a);
	enter_root(a);
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
	size_t at = s_num(map, s_cat(map, 0, "1000 "), a->host_id, 10);
	at = s_cat(map, at, " 1\n");
	/* We changed ids: make /proc/self ours again to write the maps. */
	sys_prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	if (sys_unshare(CLONE_NEWUSER) < 0)
		die(a->shm, RJ_STAGE_USERNS, errno, 3);
	int r = write_self("/proc/self/uid_map", map, at);
	if (r == 0)
		r = write_self("/proc/self/setgroups", "deny", 4);
	if (r == 0)
		r = write_self("/proc/self/gid_map", map, at);
	if (r < 0)
		die(a->shm, RJ_STAGE_USERNS, -r, 4);
}

static void join_net(const struct rj__child_args *a)
{
	if (a->net_fd >= 0 && sys_setns(a->net_fd, CLONE_NEWNET) < 0)
		die(a->shm, RJ_STAGE_NAMESPACES, errno, 2);
	if (a->net_private && sys_unshare(CLONE_NEWNET) < 0)
		die(a->shm, RJ_STAGE_NAMESPACES, errno, 3);
}

/* cgroup v1 has no CLONE_INTO_CGROUP: still the host's root, we move
 * ourselves, before anything the sandbox does is accounted. */
static void join_cgroups(const struct rj__child_args *a)
{
	for (int i = 0; i < a->cg_n; i++) {
		int fd = sys_openat(a->cg_dirfd[i], a->cg_rel[i], O_WRONLY | O_CLOEXEC, 0);
		if (fd < 0 || sys_write(fd, "0", 1) != 1)
			die(a->shm, RJ_STAGE_NAMESPACES, errno, 5);
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
		die(shm, RJ_STAGE_NAMESPACES, errno, 4);
	replay_range(a, a->pol->run_mops, a->pol->nmops);
	if (sys_sethostname("ringjail", 8) < 0)
		die(shm, RJ_STAGE_NAMESPACES, errno, 1);
	join_net(a);
	if (sys_setgroups0() < 0 || sys_setresgid(a->host_id, a->host_id, a->host_id) < 0 ||
	    sys_setresuid(a->host_id, a->host_id, a->host_id) < 0)
		die(shm, RJ_STAGE_USERNS, errno, 2);
	write_files(a);
	own_user_ns(a);
	check_lifeline(a);
	if (sys_chdir(a->pol->cwd) < 0)
		die(shm, RJ_STAGE_CHDIR, errno, 0);
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
		die(shm, RJ_STAGE_FORK, -sfd, 1);
	sys_umask(022);
	/* Nothing inside may read init's memory through /proc. */
	sys_prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	uint64_t deadline = 0;
	sys_clock_ns(&deadline);
	deadline += a->pol->limits[RJ_LIMIT_WALL_TIME] * 1000 + RJ__INIT_MARGIN_NS;
	pid_t prog = clone(program_main, prog_stack + PROG_STACK,
			   CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)a);
	if (prog < 0)
		die(shm, RJ_STAGE_FORK, errno, 0);
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

/* ---- building the prepared root (root mode, once per executor) --------- */

_Noreturn void rj__root_builder(const struct rj__mop *ops, size_t n, const char *root_dir, int ready_fd)
{
	struct rj__shm shm;
	struct rj__policy pol;
	memset(&shm, 0, sizeof shm);
	memset(&pol, 0, sizeof pol);
	pol.mops = (struct rj__mop *)ops;
	pol.nmops = n;
	struct rj__child_args a = { .pol = &pol, .shm = &shm, .root_dir = root_dir, .mnt0_fd = -1 };
	sys_prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	reset_signals();
	int err = 0;
	if (sys_unshare(CLONE_NEWNS) < 0 || sys_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    sys_mount("tmpfs", root_dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=8m,nr_inodes=8192,mode=0755") < 0)
		err = errno;
	sys_umask(0);
	for (size_t i = 0; !err && i < n; i++) {
		int r = replay(&a, &ops[i]);
		if (r < 0)
			err = -r;
	}
	if (!err && (sys_chdir(root_dir) < 0 || sys_pivot_root(".", ".") < 0 ||
		     sys_umount2(".", MNT_DETACH) < 0 || sys_chdir("/") < 0))
		err = errno;
	unsigned char b = (unsigned char)(err > 255 ? 255 : err);
	if (sys_write(ready_fd, &b, 1) != 1 || err)
		sys_exit(1);
	for (;;)
		sys_ppoll(NULL, 0, NULL);
}
