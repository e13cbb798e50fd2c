/* Workspaces kept by the caller (--workdir): one sandbox at a time, across
 * processes, and what the program created handed back to the caller. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_DEPTH 128

int rj__workdir_lock(const char *dir, int *lock_fd, char *err, size_t errlen)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		rj__fmt(err, errlen, "cannot open workdir '%s': %s", dir, strerror(e));
		return -e;
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

/* Give the caller what the sandbox's id owns below dir_fd: never following
 * symlinks, never crossing into another filesystem, never touching a file
 * with other hard links (it may be linked from somewhere we must not
 * change). */
static int hand_back_dir(int dir_fd, dev_t dev, uid_t box_uid, uid_t uid, gid_t gid, int depth)
{
	int fd = dup(dir_fd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			int sub = openat(dir_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				hand_back_dir(sub, dev, box_uid, uid, gid, depth + 1);
				close(sub);
			}
		}
		if (st.st_uid != box_uid || (!S_ISDIR(st.st_mode) && st.st_nlink > 1))
			continue;
		fchownat(dir_fd, e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW);
	}
	closedir(d);
	return 0;
}

int rj__workdir_hand_back(int dir_fd, uid_t box_uid, uid_t uid, gid_t gid)
{
	struct stat st;
	if (fstat(dir_fd, &st) < 0)
		return -errno;
	hand_back_dir(dir_fd, st.st_dev, box_uid, uid, gid, 0);
	return fchown(dir_fd, uid, gid) < 0 ? -errno : 0;
}

/* Mount points left by executors that died without freeing (empty
 * directories named after their pid). */
static void sweep_roots(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		int pid;
		char rest[16];
		if (sscanf(e->d_name, "ringjail-root-%d-%15s", &pid, rest) == 2 && pid > 0 &&
		    pid != (int)getpid() && kill(pid, 0) < 0 && errno == ESRCH)
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	}
	closedir(d);
}

int rj__root_dir_make(char *out, size_t outlen)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || tmp[0] != '/')
		tmp = "/tmp";
	sweep_roots(tmp);
	rj__fmt(out, outlen, "%s/ringjail-root-%d-XXXXXX", tmp, (int)getpid());
	if (!mkdtemp(out))
		return -errno;
	/* Only a mount point: it stays empty on the host, but the sandbox's
	 * own id has to be able to look it up. */
	return chmod(out, 0755) < 0 ? -errno : 0;
}
