/* The hand-back of a kept workspace (--workdir) after a run: everything
 * below it that a sandbox's host id owns goes to the caller, and no file
 * the sandbox could have made keeps a set-id bit. At any depth, whatever
 * the link count, never following a symlink and never leaving the
 * workspace's own mount.
 *
 * The walk is iterative and holds one directory open at a time: going down
 * it notes where it was in the parent (the getdents cookie) and closes it;
 * coming back it opens "..", checks that it is the directory it left (a
 * tree moved meanwhile stops the walk) and seeks back. Depth costs memory
 * (a few words a level), never descriptors or stack. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

#define SETID (S_ISUID | S_ISGID)

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct frame {
	dev_t dev;
	ino_t ino;
	int64_t resume;      /* getdents cookie after the entry we went into */
};

struct walk {
	uint64_t mnt_id;
	bool have_mnt;
	dev_t dev;
	uid_t owner;         /* whose unreadable folders get u+rwx back */
	rj__visit_fn visit;
	void *ctx;
	uint64_t errors;
};

struct fixer {
	const struct rj__handback *hb;
	struct rj__handback_stats *st;
};

/* Same mount as the workspace's root: by mount id where the kernel gives
 * one (overlayfs reports different st_dev for files and directories of one
 * mount), else by device. */
static bool same_mount(const struct walk *w, const struct statx *sx)
{
	if (w->have_mnt && (sx->stx_mask & STATX_MNT_ID))
		return sx->stx_mnt_id == w->mnt_id;
	return makedev(sx->stx_dev_major, sx->stx_dev_minor) == w->dev;
}

static int statx_at(int dfd, const char *name, struct statx *sx)
{
	memset(sx, 0, sizeof *sx);
	int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | (name[0] ? 0 : AT_EMPTY_PATH);
	return statx(dfd, name, flags, STATX_BASIC_STATS | STATX_MNT_ID, sx) < 0 ? -errno : 0;
}

/* chmod without following a link: through an O_PATH descriptor checked to
 * be the inode we looked at. */
static int chmod_exact(int dfd, const char *name, const struct statx *sx, mode_t mode)
{
	int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct statx now;
	int r = statx_at(fd, "", &now);
	if (r == 0 && (now.stx_ino != sx->stx_ino || (now.stx_mode & S_IFMT) != (sx->stx_mode & S_IFMT)))
		r = -ESTALE;
	if (r == 0) {
		char path[64];
		rj__fmt(path, sizeof path, "/proc/self/fd/%d", fd);
		if (chmod(path, mode) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}

/* One entry: a sandbox's id gives way to the caller's; set-id bits go from
 * what the sandbox owned or could act as (S_ISGID stays on directories,
 * where it only passes the group on). What cannot be fixed is removed
 * (a directory that cannot is counted as an error). */
static int fix(void *ctx, int dfd, const char *name, const struct statx *sx)
{
	struct fixer *f = ctx;
	const struct rj__handback *hb = f->hb;
	bool dir = S_ISDIR(sx->stx_mode), lnk = S_ISLNK(sx->stx_mode);
	bool boxed = hb->box_uid != (uid_t)-1 && sx->stx_uid == hb->box_uid;
	mode_t mode = sx->stx_mode & 07777;
	if (boxed) {
		if (fchownat(dfd, name, hb->uid, hb->gid, AT_SYMLINK_NOFOLLOW) < 0)
			goto unfixable;
		f->st->chowned++;
		/* chown clears S_ISUID (and S_ISGID with group exec) of a
		 * non-directory itself; what it left is cleared below. */
		if (!dir)
			mode &= ~(mode_t)(S_ISUID | ((mode & S_IXGRP) ? S_ISGID : 0));
	} else if (sx->stx_uid != hb->uid) {
		return 0; /* not the sandbox's, nor anything it could act as */
	}
	mode_t clear = dir ? S_ISUID : SETID;
	if (lnk || !(mode & clear))
		return 0;
	if (chmod_exact(dfd, name, sx, mode & ~clear) < 0)
		goto unfixable;
	f->st->setid_cleared++;
	return 0;
unfixable:
	if (!dir && unlinkat(dfd, name, 0) == 0)
		f->st->removed++;
	else
		f->st->errors++;
	return 0;
}

/* Open a subdirectory to walk it: the same inode we looked at, on the same
 * mount, never through a link. A directory the caller may not read (a
 * rootless caller, and a program that chmodded its own folder to 0) gets
 * its owner's permissions back first. */
static int open_sub(struct walk *w, int dfd, const char *name, const struct statx *sx)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && sx->stx_uid == w->owner && sx->stx_uid == geteuid() &&
	    chmod_exact(dfd, name, sx, (sx->stx_mode & 07777) | S_IRWXU) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct statx now;
	if (statx_at(fd, "", &now) < 0 || now.stx_ino != sx->stx_ino || !same_mount(w, &now)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Back up one level: ".." must be the directory we came down from. */
static int open_parent(int fd, const struct frame *f)
{
	int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up < 0)
		return -errno;
	struct stat st;
	if (fstat(up, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino ||
	    lseek(up, (off_t)f->resume, SEEK_SET) < 0) {
		close(up);
		return -ESTALE;
	}
	return up;
}

static int push(struct frame **stack, size_t *n, size_t *cap, struct frame f)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct frame *s = realloc(*stack, c * sizeof *s);
		if (!s)
			return -ENOMEM;
		*stack = s;
		*cap = c;
	}
	(*stack)[(*n)++] = f;
	return 0;
}

/* The walk itself; fd is the open directory at the top of the stack. */
static int walk_tree(struct walk *w, int fd, struct frame **stack, size_t *depth, size_t *cap)
{
	char buf[16384] __attribute__((aligned(8)));
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n < 0) {
			close(fd);
			return -errno;
		}
		int sub = -1;
		for (long off = 0; off < n && sub < 0;) {
			struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + off);
			off += e->d_reclen;
			const char *name = e->d_name;
			struct statx sx;
			if (!strcmp(name, ".") || !strcmp(name, "..") || statx_at(fd, name, &sx) < 0 ||
			    !same_mount(w, &sx))
				continue;
			int stop = w->visit(w->ctx, fd, name, &sx);
			if (stop) {
				close(fd);
				return stop;
			}
			if (!S_ISDIR(sx.stx_mode))
				continue;
			struct stat here;
			if (fstat(fd, &here) < 0)
				continue;
			int r = open_sub(w, fd, name, &sx);
			if (r < 0) {
				w->errors++;
				continue;
			}
			struct frame f = { here.st_dev, here.st_ino, e->d_off };
			if (push(stack, depth, cap, f) < 0) {
				close(r);
				close(fd);
				return -ENOMEM;
			}
			sub = r;
		}
		if (sub >= 0) {
			close(fd);
			fd = sub;
			continue;
		}
		if (n > 0)
			continue;
		/* This directory is done: back to where we were in its parent. */
		if (*depth == 0) {
			close(fd);
			return 0;
		}
		int up = open_parent(fd, &(*stack)[--*depth]);
		close(fd);
		if (up < 0)
			return up;
		fd = up;
	}
}

int rj__walk(int dir_fd, uid_t owner, rj__visit_fn visit, void *ctx, uint64_t *errors)
{
	struct statx root;
	int r = statx_at(dir_fd, "", &root);
	if (r < 0)
		return r;
	struct walk w = {
		.mnt_id = root.stx_mnt_id, .have_mnt = root.stx_mask & STATX_MNT_ID,
		.dev = makedev(root.stx_dev_major, root.stx_dev_minor), .owner = owner,
		.visit = visit, .ctx = ctx,
	};
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct frame *stack = NULL;
	size_t depth = 0, cap = 0;
	r = walk_tree(&w, fd, &stack, &depth, &cap);
	free(stack);
	if (errors)
		*errors = w.errors;
	return r;
}

static int count_fix(void *ctx, int dfd, const char *name, const struct statx *sx)
{
	((struct fixer *)ctx)->st->entries++;
	return fix(ctx, dfd, name, sx);
}

/* The directory dir_fd itself stays the caller's and open. */
int rj__workdir_hand_back(int dir_fd, const struct rj__handback *hb, struct rj__handback_stats *st)
{
	struct statx root;
	memset(st, 0, sizeof *st);
	int r = statx_at(dir_fd, "", &root);
	if (r < 0)
		return r;
	struct fixer f = { hb, st };
	uint64_t errors = 0;
	r = rj__walk(dir_fd, hb->uid, count_fix, &f, &errors);
	st->errors += errors;
	if (hb->chowned_root && fchown(dir_fd, hb->uid, hb->gid) < 0 && r == 0)
		r = -errno;
	if (root.stx_mode & S_ISUID)
		fchmod(dir_fd, root.stx_mode & 07777 & ~(mode_t)S_ISUID);
	return r;
}
