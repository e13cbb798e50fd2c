/* The program's lockdown, child side: the Landlock ruleset (built here,
 * after the mounts, because rules bind to inodes and /box, /tmp and
 * /dev/shm are new inodes every run: DESIGN.md) and the capability drop
 * (raw capset and prctl: libcap-ng allocates and caches the thread it
 * first ran on). Raw system calls only (sys.h), like child.c. */
#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>

#include "internal.h"
#include "sys.h"

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
	int fd = sys_open(path, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	struct ll_path_beneath pb = { .allowed_access = access, .parent_fd = fd };
	long r = syscall(SYS_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0);
	int e = errno;
	sys_close(fd);
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
	for (size_t i = 0; !r && i < pol->in.nmounts; i++) {
		uint64_t acc = (pol->in.mounts[i].flags & RJ_MOUNT_RW) ? all : ro;
		if (pol->in.mounts[i].flags & RJ_MOUNT_NOEXEC)
			acc &= ~FS_EXECUTE;
		r = allow(rfd, pol->in.mounts[i].box, acc);
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
		if (!pol->in.net)
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
	sys_close(rfd);
	return r;
}

int rj__caps_drop_all(void)
{
	/* Lock the securebits first, while CAP_SETPCAP is still ours: no
	 * later execve or setuid can give root's capabilities back. */
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			     SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
			     SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	if (sys_prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return -errno;
	for (int cap = 0; cap < 64; cap++)
		if (sys_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	if (sys_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}
