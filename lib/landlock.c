/* Landlock: the ABI is probed once in the parent; the ruleset itself is
 * built by the program's process after the mounts, because rules bind to
 * inodes and /box, /tmp and /dev/shm are new inodes every run (DESIGN.md).
 * The child side uses raw system calls only. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* Debian 12's <linux/landlock.h> predates network rules and scoping, so
 * the structures and bits are spelled out here. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

#define LL_CREATE_VERSION 1u
#define LL_RULE_PATH_BENEATH 1

#define FS_EXECUTE    (1ull << 0)
#define FS_WRITE_FILE (1ull << 1)
#define FS_READ_FILE  (1ull << 2)
#define FS_READ_DIR   (1ull << 3)
#define FS_REFER      (1ull << 13)
#define FS_TRUNCATE   (1ull << 14)
#define FS_IOCTL_DEV  (1ull << 15)
#define NET_BIND_TCP    (1ull << 0)
#define NET_CONNECT_TCP (1ull << 1)
#define SCOPE_ABSTRACT_UNIX (1ull << 0)
#define SCOPE_SIGNAL        (1ull << 1)

int rj__landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static uint64_t fs_all(int abi)
{
	uint64_t all = (1ull << 13) - 1; /* ABI 1: execute .. make_sym */
	if (abi >= 2)
		all |= FS_REFER;
	if (abi >= 3)
		all |= FS_TRUNCATE;
	if (abi >= 5)
		all |= FS_IOCTL_DEV;
	return all;
}

static int allow(int rfd, const char *path, uint64_t access)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct ll_path_beneath pb = { .allowed_access = access, .parent_fd = fd };
	long r = syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0);
	int e = errno;
	close(fd);
	return r < 0 ? -e : 0;
}

static int add_rules(int rfd, const struct rj__policy *pol, int abi)
{
	const uint64_t all = fs_all(abi);
	const uint64_t ro = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR;
	uint64_t dev = FS_READ_FILE | FS_WRITE_FILE | FS_READ_DIR;
	if (abi >= 3)
		dev |= FS_TRUNCATE;
	if (abi >= 5)
		dev |= FS_IOCTL_DEV;
	int r = 0;
	r = r ? r : allow(rfd, "/", ro);
	r = r ? r : allow(rfd, "/box", all);
	r = r ? r : allow(rfd, "/tmp", all);
	r = r ? r : allow(rfd, "/dev/shm", all);
	r = r ? r : allow(rfd, "/dev", dev);
	r = r ? r : allow(rfd, "/proc", FS_READ_FILE | FS_READ_DIR | FS_WRITE_FILE);
	for (size_t i = 0; !r && i < pol->nmounts; i++) {
		uint64_t acc = (pol->mounts[i].flags & RJ_MOUNT_RW) ? all : ro;
		if (pol->mounts[i].flags & RJ_MOUNT_NOEXEC)
			acc &= ~FS_EXECUTE;
		r = allow(rfd, pol->mounts[i].box, acc);
	}
	return r;
}

int rj__landlock_apply(const struct rj__policy *pol, int abi, bool scope)
{
	struct ll_ruleset_attr attr = { .handled_access_fs = fs_all(abi) };
	size_t size = sizeof attr.handled_access_fs;
	if (abi >= 4) {
		/* No rule for TCP: with the network off, bind and connect are
		 * denied. With it on, the network is not handled at all. */
		if (!pol->net)
			attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
		size = 2 * sizeof(uint64_t);
	}
	if (abi >= 6 && scope) {
		attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
		size = sizeof attr;
	}
	int rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rfd < 0)
		return -errno;
	int r = add_rules(rfd, pol, abi);
	if (!r && syscall(SYS_landlock_restrict_self, rfd, 0) < 0)
		r = -errno;
	close(rfd);
	return r;
}
