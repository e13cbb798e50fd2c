/* The child side's mount namespace: the root replayed from the policy's
 * mount plan, the caller's directories attached, the workspace files
 * written, and the switch into the new root; also the prepared root's
 * builder (root mode, once per executor). Like child.c, raw system calls
 * only (sys.h), and every failure ends the child through rj__child_die. */
#include <errno.h>
#include <linux/mount.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "internal.h"
#include "sys.h"

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

/* root + "/" + rel */
static void join(char *out, const char *root, const char *rel)
{
	size_t at = rj__s_cat(out, 0, root, PATH_BUF);
	at = rj__s_cat(out, at, "/", PATH_BUF);
	rj__s_cat(out, at, rel, PATH_BUF);
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
	size_t at = rj__s_cat(opts, 0, "size=", sizeof opts);
	at = rj__s_num(opts, at, size, 10, sizeof opts);
	at = rj__s_cat(opts, at, ",mode=", sizeof opts);
	rj__s_num(opts, at, mode, 8, sizeof opts);
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
				       wd ? a->pol->in.workdir : a->pol->in.mounts[op->arg].host,
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

void rj__child_replay_range(const struct rj__child_args *a, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		int r = replay(a, &a->pol->mops[i]);
		if (r < 0)
			rj__child_die(a->shm, RJ_STAGE_MOUNTS, -r, (int)i);
	}
}

void rj__child_build_root(const struct rj__child_args *a)
{
	struct rj__shm *shm = a->shm;
	/* Nothing we mount may propagate back to the host. */
	if (sys_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		rj__child_die(shm, RJ_STAGE_MOUNTS, errno, -1);
	if (sys_mount("tmpfs", a->root_dir, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=1m,nr_inodes=4096,mode=0755") < 0)
		rj__child_die(shm, RJ_STAGE_MOUNTS, errno, -2);
	rj__child_replay_range(a, 0, a->pol->nmops);
}

void rj__child_write_files(const struct rj__child_args *a)
{
	const struct rj__policy *pol = a->pol;
	char dst[PATH_BUF];
	char box[PATH_BUF];
	join(box, root_of(a), "box");
	for (size_t i = 0; i < pol->in.nfiles; i++) {
		join(dst, box, pol->in.files[i].path);
		int r = op_write(dst, strlen(root_of(a)), pol->in.files[i].data, pol->in.files[i].len,
				 pol->in.files[i].mode);
		if (r < 0)
			rj__child_die(a->shm, RJ_STAGE_FILES, -r, (int)i);
	}
}

void rj__child_enter_root(const struct rj__child_args *a)
{
	if (sys_chdir(a->root_dir) < 0 || sys_pivot_root(".", ".") < 0)
		rj__child_die(a->shm, RJ_STAGE_MOUNTS, errno, -4);
	/* The old root now sits on top of the new one: detach it. */
	if (sys_umount2(".", MNT_DETACH) < 0)
		rj__child_die(a->shm, RJ_STAGE_MOUNTS, errno, -5);
	if (sys_chdir(a->pol->in.cwd) < 0)
		rj__child_die(a->shm, RJ_STAGE_CHDIR, errno, 0);
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
	rj__child_reset_signals();
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
