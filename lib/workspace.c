/* Workspaces kept by the caller (--workdir): which directories may be one,
 * one sandbox at a time across processes, the mount the sandbox gets, and
 * what the program created handed back to the caller. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

/* ---- which directories may be a workspace ------------------------------ */

/* Filesystems that are the kernel's own view of the host, never a place to
 * keep files: mounting one at /box shows the host's processes, devices or
 * cgroups to the program. devtmpfs reports tmpfs's magic and is told by
 * its name in mountinfo. */
static const struct {
	unsigned long magic;
	const char *name;
} pseudo_fs[] = {
	{ PROC_SUPER_MAGIC, "proc" }, { SYSFS_MAGIC, "sysfs" },
	{ CGROUP_SUPER_MAGIC, "cgroup" }, { CGROUP2_SUPER_MAGIC, "cgroup2" },
	{ DEBUGFS_MAGIC, "debugfs" }, { TRACEFS_MAGIC, "tracefs" },
	{ SECURITYFS_MAGIC, "securityfs" }, { DEVPTS_SUPER_MAGIC, "devpts" },
	{ BPF_FS_MAGIC, "bpf" }, { PSTOREFS_MAGIC, "pstore" },
	{ EFIVARFS_MAGIC, "efivarfs" }, { SELINUX_MAGIC, "selinuxfs" },
	{ SMACK_MAGIC, "smackfs" }, { BINFMTFS_MAGIC, "binfmt_misc" },
	{ NSFS_MAGIC, "nsfs" }, { AUTOFS_SUPER_MAGIC, "autofs" },
	{ HUGETLBFS_MAGIC, "hugetlbfs" }, { RDTGROUP_SUPER_MAGIC, "resctrl" },
	{ 0x62656570, "configfs" }, { 0x19800202, "mqueue" },
	{ 0x65735543, "fusectl" },
};

/* The filesystem type mountinfo names for one mount, or "" if not found. */
static void mount_fstype(uint64_t mnt_id, char *out, size_t outlen)
{
	out[0] = '\0';
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		unsigned long long id;
		char *sep = strstr(line, " - ");
		if (sscanf(line, "%llu", &id) != 1 || id != mnt_id || !sep)
			continue;
		rj__fmt(out, outlen, "%.*s", (int)strcspn(sep + 3, " "), sep + 3);
		break;
	}
	fclose(f);
}

static const char *pseudo_name(int fd, uint64_t mnt_id, bool have_mnt, char *buf, size_t len)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) == 0)
		for (size_t i = 0; i < sizeof pseudo_fs / sizeof *pseudo_fs; i++)
			if ((unsigned long)sf.f_type == pseudo_fs[i].magic)
				return pseudo_fs[i].name;
	if (have_mnt) {
		mount_fstype(mnt_id, buf, len);
		if (!strcmp(buf, "devtmpfs"))
			return buf;
	}
	return NULL;
}

/* A directory right below the host's root: /etc, /usr, /home, /var, ... */
static bool top_level(int fd)
{
	struct stat root, parent;
	int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		return false;
	bool top = fstat(up, &parent) == 0 && stat("/", &root) == 0 &&
		   parent.st_dev == root.st_dev && parent.st_ino == root.st_ino;
	close(up);
	return top;
}

static int statx_fd(int fd, struct statx *stx)
{
	memset(stx, 0, sizeof *stx);
	return statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID, stx) < 0 ? -errno : 0;
}

/* Where the kernel or the layout makes the directory unfit (who owns it is
 * checked by the caller). */
static int check_place(int fd, const struct statx *stx, const char *dir, char *err, size_t errlen)
{
	char fstype[64];
	bool have_mnt = stx->stx_mask & STATX_MNT_ID;
	const char *pseudo = pseudo_name(fd, stx->stx_mnt_id, have_mnt, fstype, sizeof fstype);
	if (pseudo) {
		rj__fmt(err, errlen, "workdir '%s' is on %s, a kernel pseudo-filesystem that shows "
			"the host: use a directory of your own on a disk or tmpfs", dir, pseudo);
		return -EINVAL;
	}
	if ((stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		rj__fmt(err, errlen, "workdir '%s' is %s: use a directory below it, made for the "
			"sandbox", dir, top_level(fd) || !strcmp(dir, "/") ? "the root of a host filesystem"
			: "a mount point of the host");
		return -EINVAL;
	}
	if (top_level(fd)) {
		rj__fmt(err, errlen, "workdir '%s' is a top-level directory of the host (it holds "
			"the host's own files): use a directory made for the sandbox", dir);
		return -EINVAL;
	}
	return 0;
}

/* The workspace is the caller's: as root, a directory root owns (a root
 * caller never works inside a directory another user controls, and the
 * sandbox then acts on it only as root's stand-in); otherwise one the
 * caller's uid owns. Nobody else may write it. */
int rj__workdir_check(int fd, const char *dir, bool root, char *err, size_t errlen)
{
	struct statx stx;
	int r = statx_fd(fd, &stx);
	if (r < 0) {
		rj__fmt(err, errlen, "cannot inspect workdir '%s': %s", dir, strerror(-r));
		return r;
	}
	if (!S_ISDIR(stx.stx_mode)) {
		rj__fmt(err, errlen, "workdir '%s' is not a directory", dir);
		return -ENOTDIR;
	}
	if ((r = check_place(fd, &stx, dir, err, errlen)) < 0)
		return r;
	uid_t want = root ? 0 : getuid();
	if (stx.stx_uid != want) {
		rj__fmt(err, errlen, "workdir '%s' belongs to uid %u, not to %s (uid %u): use a "
			"directory of your own, or chown it to %u", dir, stx.stx_uid,
			root ? "root, the caller" : "the caller", (unsigned)want, (unsigned)want);
		return -EPERM;
	}
	if (stx.stx_mode & S_IWOTH) {
		rj__fmt(err, errlen, "workdir '%s' is writable by every user (mode %04o), so others "
			"could plant files in it: chmod o-w it, or use a directory of your own",
			dir, stx.stx_mode & 07777);
		return -EPERM;
	}
	return 0;
}

int rj__workdir_lock(const char *dir, bool root, int *lock_fd, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		rj__fmt(err, errlen, "cannot open workdir '%s': %s", dir, strerror(e));
		return -e;
	}
	/* Checked again on what we hold: the plan checked the path, which
	 * may name another directory by now. */
	int r = rj__workdir_check(fd, dir, root, err, errlen);
	if (r < 0) {
		close(fd);
		return r;
	}
	/* flock on the directory itself holds across ringjail processes and
	 * vanishes with the fd, so a crashed run never leaves it locked. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		rj__fmt(err, errlen, "workdir '%s' is in use by another running sandbox", dir);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	*lock_fd = fd;
	return 0;
}

/* ---- the sandbox's mount of it (root mode) ------------------------------ */

static int idle_child(void *arg)
{
	(void)arg;
	for (;;)
		syscall(SYS_pause);
	return 0;
}

static int write_map(pid_t pid, const char *file, unsigned from, unsigned to)
{
	char path[64], map[64];
	rj__fmt(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	int n = rj__fmt(map, sizeof map, "%u %u 1\n", from, to);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, map, (size_t)n);
	int e = errno;
	close(fd);
	return w == n ? 0 : w < 0 ? -e : -EIO;
}

/* A user namespace whose only mapping is the directory's owner (and group)
 * to the sandbox's host id: the idmapping of the workdir's mount. It is made
 * by a child that shares our memory and only waits to be killed (signals
 * blocked, so no handler of an embedding program runs in it). */
static int idmap_userns(uid_t uid, gid_t gid, uint32_t host)
{
	char stack[4096] __attribute__((aligned(16)));
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = clone(idle_child, stack + sizeof stack, CLONE_NEWUSER | CLONE_VM, NULL);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return -e;
	int r = write_map(pid, "uid_map", uid, host);
	if (r == 0)
		r = write_map(pid, "gid_map", gid, host);
	int fd = -1;
	if (r == 0) {
		char path[64];
		rj__fmt(path, sizeof path, "/proc/%d/ns/user", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			r = -errno;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
		;
	return r < 0 ? r : fd;
}

/* A detached copy of the locked directory itself (never looked up again by
 * path), idmapped where the filesystem allows: files the sandbox (host id
 * `host`) creates are the owner's on disk, and it sees the owner's files
 * as its own. *idmapped says whether it is; if not, the caller gives the
 * directory to the sandbox's id instead. */
int rj__workdir_tree(int lock_fd, uint32_t host, bool *idmapped)
{
	*idmapped = false;
	int tree = (int)syscall(SYS_open_tree, lock_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return -errno;
	struct stat st;
	if (fstat(lock_fd, &st) < 0)
		return tree;
	int ns = idmap_userns(st.st_uid, st.st_gid, host);
	if (ns < 0)
		return tree;
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
	/* EINVAL: a filesystem without idmapped mounts (overlayfs, NFS, an
	 * older kernel's tmpfs); the tree stays as it is. */
	*idmapped = syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) == 0;
	close(ns);
	return tree;
}

int rj__workdir_prepare(int dir_fd, uid_t box_uid, gid_t box_gid, uid_t *orig_uid, gid_t *orig_gid)
{
	struct stat st;
	if (fstat(dir_fd, &st) < 0)
		return -errno;
	*orig_uid = st.st_uid;
	*orig_gid = st.st_gid;
	/* The sandbox's own host id must be able to write the workspace. */
	return fchown(dir_fd, box_uid, box_gid) < 0 ? -errno : 0;
}

/* A mount point ("ringjail-root-PID-XXXXXX", empty) left by an executor
 * that died without freeing it. */
static void drop_root_dir(int tmp_fd, const char *name)
{
	unlinkat(tmp_fd, name, AT_REMOVEDIR);
}

int rj__root_dir_make(char *out, size_t outlen)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	rj__sweep_dead(tmp, "ringjail-root-", drop_root_dir);
	rj__fmt(out, outlen, "%s/ringjail-root-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(out))
		return -errno;
	/* Only a mount point: it stays empty on the host, but the sandbox's
	 * own id has to be able to look it up. */
	return chmod(out, 0755) < 0 ? -errno : 0;
}
