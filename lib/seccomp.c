/* The syscall filter: the policy as a table, compiled to BPF with libseccomp.
 *
 * The filter is an allowlist. A syscall the table does not name fails with
 * ENOSYS, the answer runtimes expect from an older kernel: glibc, libuv and
 * the JVM probe newer syscalls and fall back, so an unknown syscall must never
 * kill. Only syscalls that attack the kernel or escape the sandbox kill the
 * process (SIGSYS, which ringjail reports as syscall_violation).
 *
 * libseccomp cannot take a rule back, and an unconditional rule swallows the
 * conditional rules of its syscall, so the build goes in two steps: first one
 * kind per syscall number (the table, then the caller's allow and deny lists,
 * the last word winning), then the libseccomp rules. */
#include "seccomp.h"

/* libseccomp's header. Meson puts lib/ on the include path by default, and
 * there our own seccomp.h would shadow it. */
#include <seccomp.h>
#ifndef SCMP_VER_MAJOR
#error "<seccomp.h> is lib/seccomp.h: use implicit_include_directories : false"
#endif

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* What the filter does with one syscall. */
enum kind {
	RET_ALLOW = 1,
	RET_NOSYS,       /* ENOSYS, the default: listed where a fallback matters */
	RET_EPERM,       /* a clean refusal the program can report */
	RET_KILL,        /* SIGSYS for the whole process */
	ARG_CLONE,       /* the rules on arguments further down */
	ARG_SOCKET,
	ARG_IOCTL,
	ARG_PERSONALITY,
	ARG_PRLIMIT,
	ARG_FADVISE,
	ARG_MADVISE,
	ARG_SETID,       /* creating or chmodding with a set-id mode bit */
};

struct group {
	enum kind kind;
	const char *names;   /* separated by spaces */
};

/* The policy. Names this architecture or this libseccomp does not know are
 * skipped (arch_prctl on aarch64, say); they keep the default, ENOSYS. */
static const struct group policy[] = {
	/* Memory. Every runtime maps, protects and advises its heap; the JVM and
	 * V8 also use protection keys, membarrier and mremap. mseal and
	 * map_shadow_stack act only on the program's own mappings. mincore
	 * shows the page cache of a file only to those who may write it. */
	{ RET_ALLOW, "brk mmap munmap mremap mprotect msync mincore "
		     "membarrier pkey_alloc pkey_free pkey_mprotect get_mempolicy "
		     "memfd_create munlock munlockall map_shadow_stack mseal" },
	/* Advice that would push the page cache of a shared read-only file
	 * out for every sandbox and the host succeeds without effect; the
	 * rest of madvise is the program's own business. */
	{ ARG_MADVISE, "madvise" },
	/* Locked pages cannot be reclaimed, and NUMA placement is the host's
	 * business: both fail with EPERM, an error programs already handle. */
	{ RET_EPERM, "mlock mlock2 mlockall mbind set_mempolicy "
		     "set_mempolicy_home_node migrate_pages move_pages" },

	/* Processes and threads. clone is checked for namespace flags below;
	 * clone3 passes its flags in memory a filter cannot read, so it gets
	 * ENOSYS and glibc falls back to clone. */
	{ ARG_CLONE, "clone" },
	{ RET_NOSYS, "clone3" },
	{ RET_ALLOW, "fork vfork execve execveat exit exit_group wait4 waitid "
		     "set_tid_address set_robust_list rseq restart_syscall "
		     "futex futex_waitv futex_wake futex_wait futex_requeue" },
	/* Signals reach only this sandbox: its pid namespace and Landlock's
	 * signal scope bound kill and pidfds. */
	{ RET_ALLOW, "kill tkill tgkill pidfd_open pidfd_send_signal "
		     "rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending "
		     "rt_sigtimedwait rt_sigsuspend rt_sigqueueinfo "
		     "rt_tgsigqueueinfo sigaltstack pause signalfd signalfd4" },
	/* Identity and sessions. The sandbox holds no capabilities, so the
	 * set*id calls can only drop, and setuid(0) fails EPERM in the kernel. */
	{ RET_ALLOW, "getpid gettid getppid getpgid getpgrp setpgid getsid setsid "
		     "getuid geteuid getgid getegid getresuid getresgid getgroups "
		     "setuid setgid setreuid setregid setresuid setresgid "
		     "setgroups setfsuid setfsgid capget capset" },
	/* Scheduling, limits and self-description. Hard limits only go down
	 * without CAP_SYS_RESOURCE; prlimit64 is checked to touch only self. */
	{ RET_ALLOW, "sched_yield sched_getaffinity sched_setaffinity "
		     "sched_getparam sched_setparam sched_getscheduler "
		     "sched_setscheduler sched_get_priority_max "
		     "sched_get_priority_min sched_rr_get_interval sched_getattr "
		     "sched_setattr getcpu getpriority setpriority ioprio_get "
		     "getrlimit setrlimit getrusage times sysinfo uname umask "
		     "prctl arch_prctl getrandom" },
	{ ARG_PRLIMIT, "prlimit64" },
	{ ARG_PERSONALITY, "personality" },
	/* These only add restrictions, which a program may want for itself. */
	{ RET_ALLOW, "seccomp landlock_create_ruleset landlock_add_rule "
		     "landlock_restrict_self" },

	/* Time. Reading clocks and sleeping; setting clocks kills below. */
	{ RET_ALLOW, "clock_gettime clock_getres clock_nanosleep gettimeofday "
		     "time nanosleep alarm getitimer setitimer timer_create "
		     "timer_settime timer_gettime timer_getoverrun timer_delete "
		     "timerfd_create timerfd_settime timerfd_gettime" },

	/* Files. Landlock and the mount namespace decide which files; the
	 * filter lets compilers, shells and runtimes use them. */
	{ RET_ALLOW, "read write readv writev pread64 pwrite64 preadv pwritev "
		     "preadv2 pwritev2 lseek open openat openat2 creat close "
		     "close_range dup dup2 dup3 fcntl flock fsync fdatasync "
		     "sync_file_range ftruncate truncate fallocate readahead "
		     "copy_file_range sendfile splice tee vmsplice" },
	{ ARG_FADVISE, "fadvise64" },
	{ RET_ALLOW, "stat fstat lstat newfstatat statx statfs fstatfs access "
		     "faccessat faccessat2 readlink readlinkat getdents getdents64 "
		     "getcwd chdir fchdir" },
	{ RET_ALLOW, "rename renameat renameat2 link linkat unlink unlinkat "
		     "symlink symlinkat mkdir mkdirat rmdir chmod fchmod fchmodat "
		     "fchmodat2 chown fchown lchown fchownat utime utimes futimesat "
		     "utimensat" },
	/* inotify instances count against the caller's (128 by default):
	 * rootless, a sandbox could hold all of them until it ends. ENOSYS is
	 * what a kernel without inotify answers, and tail -f, for one, falls
	 * back to polling. fanotify_init kills further down. */
	{ RET_NOSYS, "inotify_init inotify_init1 inotify_add_watch "
		     "inotify_rm_watch fanotify_mark" },
	{ RET_ALLOW, "getxattr lgetxattr fgetxattr getxattrat listxattr "
		     "llistxattr flistxattr listxattrat setxattr lsetxattr "
		     "fsetxattr setxattrat removexattr lremovexattr fremovexattr "
		     "removexattrat" },
	/* Device nodes have no use in a judge. Refusing the whole call also
	 * refuses mkfifo(3), a cost accepted for a simpler filter. */
	{ RET_EPERM, "mknod mknodat" },
	/* No set-id bit, ever (EPERM): a file the program makes in a kept
	 * workspace is its owner's on the host (root's, as root), and a
	 * set-id one would hand that owner's rights to whoever runs it on
	 * the host before the hand-back clears it. These entries replace
	 * the plain ones above. openat2 passes its mode in memory a filter
	 * cannot read: ENOSYS, and callers fall back to openat. */
	{ ARG_SETID, "chmod fchmod fchmodat fchmodat2 creat open openat" },
	{ RET_NOSYS, "openat2" },
	/* Terminal injection (TIOCSTI, TIOCLINUX) is refused; other ioctls
	 * act on the program's own descriptors. */
	{ ARG_IOCTL, "ioctl" },

	/* Waiting and IPC. System V and POSIX IPC live in the sandbox's own
	 * ipc namespace. */
	{ RET_ALLOW, "pipe pipe2 eventfd eventfd2 poll ppoll select pselect6 "
		     "epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait "
		     "epoll_pwait2" },
	{ RET_ALLOW, "shmget shmat shmdt shmctl semget semop semtimedop semctl "
		     "msgget msgsnd msgrcv msgctl mq_open mq_unlink mq_timedsend "
		     "mq_timedreceive mq_notify mq_getsetattr" },
	/* io_uring bypasses the filter for the work it does, so it is absent;
	 * libuv (node) probes it and must see ENOSYS to fall back to epoll. */
	{ RET_NOSYS, "io_uring_setup io_uring_enter io_uring_register" },

	/* Sockets. Which families socket() may create is checked below; the
	 * rest only works on sockets that exist. */
	{ ARG_SOCKET, "socket socketpair" },
	{ RET_ALLOW, "connect accept accept4 bind listen sendto recvfrom sendmsg "
		     "recvmsg sendmmsg recvmmsg shutdown getsockopt setsockopt "
		     "getsockname getpeername" },

	/* Escapes: inspecting other processes, mounts and namespaces. */
	{ RET_KILL, "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd "
		    "mount umount2 pivot_root chroot move_mount open_tree "
		    "open_tree_attr fsopen fsmount fsconfig fspick mount_setattr "
		    "unshare setns open_by_handle_at name_to_handle_at" },
	/* Kernel attack surface: programmable or privileged subsystems. */
	{ RET_KILL, "bpf perf_event_open userfaultfd fanotify_init keyctl add_key "
		    "request_key lookup_dcookie" },
	/* The machine's own state: boot, modules, swap, clocks, names, ports. */
	{ RET_KILL, "kexec_load kexec_file_load reboot init_module finit_module "
		    "delete_module swapon swapoff acct quotactl quotactl_fd "
		    "settimeofday clock_settime clock_adjtime adjtimex "
		    "sethostname setdomainname iopl ioperm nfsservctl vhangup "
		    "syslog" },
	/* Changing LSM attributes is the host's business. */
	{ RET_EPERM, "lsm_set_self_attr" },
};

/* Syscalls numbered since Linux 5.1, which share one number on every
 * architecture but alpha and mips: older libseccomp releases do not know
 * their names, so a miss in libseccomp falls back to this list. */
#if (defined(__x86_64__) && !defined(__ILP32__)) || defined(__aarch64__)
#define UNIFIED_FIRST 424
static const char *const unified[] = {
	/* 424 */ "pidfd_send_signal", "io_uring_setup", "io_uring_enter",
	/* 427 */ "io_uring_register", "open_tree", "move_mount", "fsopen",
	/* 431 */ "fsconfig", "fsmount", "fspick", "pidfd_open", "clone3",
	/* 436 */ "close_range", "openat2", "pidfd_getfd", "faccessat2",
	/* 440 */ "process_madvise", "epoll_pwait2", "mount_setattr",
	/* 443 */ "quotactl_fd", "landlock_create_ruleset", "landlock_add_rule",
	/* 446 */ "landlock_restrict_self", "memfd_secret", "process_mrelease",
	/* 449 */ "futex_waitv", "set_mempolicy_home_node", "cachestat",
	/* 452 */ "fchmodat2", "map_shadow_stack", "futex_wake", "futex_wait",
	/* 456 */ "futex_requeue", "statmount", "listmount", "lsm_get_self_attr",
	/* 460 */ "lsm_set_self_attr", "lsm_list_modules", "mseal", "setxattrat",
	/* 464 */ "getxattrat", "listxattrat", "removexattrat", "open_tree_attr",
	/* 468 */ "file_getattr", "file_setattr",
};
#endif

/* Argument values, each list sorted. The kernel reads these arguments as
 * 32-bit ints, so the rules look only at the low 32 bits. */
static const uint32_t unix_only[] = { AF_UNIX };
static const uint32_t net_families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };
static const uint32_t tty_injection[] = { TIOCSTI, TIOCLINUX };
static const uint32_t self_only[] = { 0 };
/* PER_LINUX, and 0xffffffff, which only reads the persona. */
static const uint32_t plain_persona[] = { 0, 0xffffffff };

/* Advice that drops the cached pages of a file, whoever else reads it
 * (NOREUSE has marked the file's own pages for early reclaim since Linux
 * 6.3): both succeed without effect, as advice may. glibc's values are the
 * kernel's for this architecture (s390x numbers them 6 and 7). */
static const uint32_t evicting_fadvice[] = { POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE };

/* MADV_PAGEOUT reclaims the file pages of a mapping at once, for any file
 * its caller may write: rootless, that is every file of the caller's that
 * a sandbox sees read-only. MADV_COLD puts them first in line. */
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
static const uint32_t evicting_madvice[] = { MADV_COLD, MADV_PAGEOUT };

/* fadvise64(fd, offset, len, advice) on 64-bit architectures; 32-bit ones
 * split the 64-bit arguments over registers in their own orders. */
#if defined(__LP64__) && !defined(__mips__)
#define FADVISE_ADVICE_ARG 3
#endif

/* A program that makes namespaces could build the mounts and ids the
 * sandbox took away. CLONE_NEWTIME shares the exit-signal byte of clone's
 * flags, but no valid signal sets that bit. */
static const uint32_t ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
	CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

/* s390 passes the stack first and the flags second. */
#if defined(__s390__)
#define CLONE_FLAGS_ARG 1
#else
#define CLONE_FLAGS_ARG 0
#endif

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct entry {
	int nr;
	enum kind kind;
};

struct table {
	struct entry *v;
	size_t n, cap;
};

/* Writes "seccomp: WHAT: strerror(-rc)" into err and returns rc. */
static int fail(char *err, size_t errlen, int rc, const char *what)
{
	if (err && errlen)
		snprintf(err, errlen, "seccomp: %s: %s", what, strerror(-rc));
	return rc;
}

/* Copies the next space-separated word of *s into buf and advances *s;
 * false at the end. Words longer than buf are truncated and then unknown. */
static bool next_name(const char **s, char *buf, size_t len)
{
	size_t i = 0;

	while (**s == ' ')
		(*s)++;
	if (**s == '\0')
		return false;
	for (; **s && **s != ' '; (*s)++)
		if (i + 1 < len)
			buf[i++] = **s;
	buf[i] = '\0';
	return true;
}

static int resolve_name(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr >= 0)
		return nr;
#ifdef UNIFIED_FIRST
	for (size_t i = 0; i < COUNT(unified); i++)
		if (strcmp(name, unified[i]) == 0)
			return UNIFIED_FIRST + (int)i;
#endif
	/* libseccomp's pseudo-syscalls (negative) are not supported. */
	return -1;
}

int rj__seccomp_resolve(const char *name)
{
	char *end;
	long nr;

	if (!name || !*name)
		return -1;
	if (*name < '0' || *name > '9')
		return resolve_name(name);
	errno = 0;
	nr = strtol(name, &end, 10);
	/* Numbers at 2^30 and above are x32's or nobody's. */
	if (errno || *end || nr >= 0x40000000L)
		return -1;
	return (int)nr;
}

/* Records the kind of one syscall, replacing an earlier one. */
static void table_set(struct table *t, int nr, enum kind kind)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].nr == nr) {
			t->v[i].kind = kind;
			return;
		}
	}
	if (t->n < t->cap)
		t->v[t->n++] = (struct entry){ nr, kind };
}

/* How many names the policy lists: the table needs no more entries. */
static size_t policy_names(void)
{
	char buf[64];
	size_t n = 0;

	for (size_t i = 0; i < COUNT(policy); i++)
		for (const char *s = policy[i].names; next_name(&s, buf, sizeof(buf));)
			n++;
	return n;
}

static int table_add_list(struct table *t, const int *nrs, size_t n,
			  enum kind kind, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (nrs[i] < 0) {
			if (err && errlen)
				snprintf(err, errlen, "seccomp: syscall number %d "
					 "in the %s list is not valid: give a "
					 "name or a number from 0 up", nrs[i],
					 kind == RET_ALLOW ? "allow" : "deny");
			return -EINVAL;
		}
		table_set(t, nrs[i], kind);
	}
	return 0;
}

/* The policy, then the caller's allows, then its denies: deny wins a tie. */
static int table_build(struct table *t, const struct rj__seccomp_opts *o,
		       char *err, size_t errlen)
{
	char buf[64];
	int rc;

	t->n = 0;
	t->cap = policy_names() + o->nallow + o->ndeny;
	t->v = calloc(t->cap, sizeof(*t->v));
	if (!t->v)
		return fail(err, errlen, -ENOMEM, "cannot build the policy");
	for (size_t i = 0; i < COUNT(policy); i++) {
		for (const char *s = policy[i].names; next_name(&s, buf, sizeof(buf));) {
			int nr = resolve_name(buf);

			if (nr >= 0)
				table_set(t, nr, policy[i].kind);
		}
	}
	rc = table_add_list(t, o->allow, o->nallow, RET_ALLOW, err, errlen);
	if (rc == 0)
		rc = table_add_list(t, o->deny, o->ndeny, RET_KILL, err, errlen);
	return rc;
}

/* One rule comparing the low 32 bits of an argument under a mask. */
static int add_masked(scmp_filter_ctx ctx, uint32_t action, int nr,
		      unsigned arg, uint32_t mask, uint32_t value)
{
	struct scmp_arg_cmp cmp = SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, value);

	return seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
}

/* Gives every low-32-bit value in [lo, hi) the action, as aligned
 * power-of-two blocks (the way an address range becomes CIDR prefixes):
 * each block is one masked comparison, and blocks never overlap. */
static int add_span(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned arg,
		    uint64_t lo, uint64_t hi)
{
	while (lo < hi) {
		uint64_t size = lo ? lo & -lo : UINT64_C(1) << 32;
		int rc;

		while (lo + size > hi)
			size >>= 1;
		rc = add_masked(ctx, action, nr, arg, (uint32_t)~(size - 1),
				(uint32_t)lo);
		if (rc < 0)
			return rc;
		lo += size;
	}
	return 0;
}

/* Splits the 32-bit space of one argument in two: the listed values get
 * `listed`, every other value `other`. The rules cover each value exactly
 * once, so no rule depends on how libseccomp orders overlapping ones. */
static int add_values(scmp_filter_ctx ctx, int nr, unsigned arg,
		      const uint32_t *v, size_t n, uint32_t listed, uint32_t other)
{
	uint64_t next = 0;
	int rc;

	for (size_t i = 0; i < n; i++) {
		rc = add_span(ctx, other, nr, arg, next, v[i]);
		if (rc == 0)
			rc = add_masked(ctx, listed, nr, arg, UINT32_MAX, v[i]);
		if (rc < 0)
			return rc;
		next = (uint64_t)v[i] + 1;
	}
	return add_span(ctx, other, nr, arg, next, UINT64_C(1) << 32);
}

/* clone without namespace flags is allowed; with any of them it kills. */
static int add_clone(scmp_filter_ctx ctx, int nr)
{
	uint32_t all = 0;
	int rc;

	for (size_t i = 0; i < COUNT(ns_flags); i++) {
		all |= ns_flags[i];
		rc = add_masked(ctx, SCMP_ACT_KILL_PROCESS, nr, CLONE_FLAGS_ARG,
				ns_flags[i], ns_flags[i]);
		if (rc < 0)
			return rc;
	}
	return add_masked(ctx, SCMP_ACT_ALLOW, nr, CLONE_FLAGS_ARG, all, 0);
}

/* Refuses (EPERM) a mode with S_ISUID or S_ISGID, as two rules that never
 * overlap the allowing one; cond, if any, must also hold. */
static int add_setid_refusals(scmp_filter_ctx ctx, int nr, unsigned mode_arg,
			      const struct scmp_arg_cmp *cond)
{
	const struct scmp_arg_cmp bits[] = {
		SCMP_CMP(mode_arg, SCMP_CMP_MASKED_EQ, S_ISUID, S_ISUID),
		SCMP_CMP(mode_arg, SCMP_CMP_MASKED_EQ, S_ISUID | S_ISGID, S_ISGID),
	};
	for (size_t i = 0; i < COUNT(bits); i++) {
		struct scmp_arg_cmp c[2] = { bits[i] };
		if (cond)
			c[1] = *cond;
		int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), nr, cond ? 2 : 1, c);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* chmod and creation without set-id bits. open and openat look at the
 * mode only when they create (O_CREAT, or O_TMPFILE's own bit). */
static int add_setid(scmp_filter_ctx ctx, int nr)
{
	const uint32_t creating = O_CREAT | (O_TMPFILE & ~O_DIRECTORY);
	int flags_arg = -1;
	unsigned mode_arg = 1;     /* chmod, fchmod, creat */
	if (nr == resolve_name("open"))
		flags_arg = 1, mode_arg = 2;
	else if (nr == resolve_name("openat"))
		flags_arg = 2, mode_arg = 3;
	else if (nr == resolve_name("fchmodat") || nr == resolve_name("fchmodat2"))
		mode_arg = 2;
	int rc = add_masked(ctx, SCMP_ACT_ALLOW, nr, mode_arg, S_ISUID | S_ISGID, 0);
	if (rc < 0 || flags_arg < 0)
		return rc < 0 ? rc : add_setid_refusals(ctx, nr, mode_arg, NULL);
	rc = add_masked(ctx, SCMP_ACT_ALLOW, nr, (unsigned)flags_arg, creating, 0);
	const uint32_t each[] = { O_CREAT, creating & ~(uint32_t)O_CREAT };
	for (size_t i = 0; rc == 0 && i < COUNT(each); i++) {
		struct scmp_arg_cmp c = SCMP_CMP((unsigned)flags_arg, SCMP_CMP_MASKED_EQ, each[i], each[i]);
		rc = add_setid_refusals(ctx, nr, mode_arg, &c);
	}
	return rc;
}

static int add_entry(scmp_filter_ctx ctx, const struct entry *e, bool net)
{
	const uint32_t perm = SCMP_ACT_ERRNO(EPERM);

	switch (e->kind) {
	case RET_ALLOW:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, e->nr, 0);
	case RET_NOSYS:
		return 0;   /* the default action; libseccomp refuses a copy */
	case RET_EPERM:
		return seccomp_rule_add(ctx, perm, e->nr, 0);
	case RET_KILL:
		return seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, e->nr, 0);
	case ARG_CLONE:
		return add_clone(ctx, e->nr);
	case ARG_SOCKET:
		/* Without --net only AF_UNIX, with the error a kernel without
		 * the family gives; with it, IP and the routing netlink that
		 * getaddrinfo reads, and never packet or other raw families. */
		if (!net)
			return add_values(ctx, e->nr, 0, unix_only, COUNT(unix_only),
					  SCMP_ACT_ALLOW,
					  SCMP_ACT_ERRNO(EAFNOSUPPORT));
		return add_values(ctx, e->nr, 0, net_families,
				  COUNT(net_families), SCMP_ACT_ALLOW, perm);
	case ARG_IOCTL:
		return add_values(ctx, e->nr, 1, tty_injection,
				  COUNT(tty_injection), perm, SCMP_ACT_ALLOW);
	case ARG_PERSONALITY:
		/* ADDR_NO_RANDOMIZE and friends would weaken the program's ASLR. */
		return add_values(ctx, e->nr, 0, plain_persona,
				  COUNT(plain_persona), SCMP_ACT_ALLOW, perm);
	case ARG_PRLIMIT:
		return add_values(ctx, e->nr, 0, self_only, COUNT(self_only),
				  SCMP_ACT_ALLOW, perm);
	case ARG_FADVISE:
#ifdef FADVISE_ADVICE_ARG
		return add_values(ctx, e->nr, FADVISE_ADVICE_ARG, evicting_fadvice,
				  COUNT(evicting_fadvice), SCMP_ACT_ERRNO(0),
				  SCMP_ACT_ALLOW);
#else
		/* Where the advice's place is not known, all of it is ignored. */
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), e->nr, 0);
#endif
	case ARG_MADVISE:
		return add_values(ctx, e->nr, 2, evicting_madvice,
				  COUNT(evicting_madvice), SCMP_ACT_ERRNO(0),
				  SCMP_ACT_ALLOW);
	case ARG_SETID:
		return add_setid(ctx, e->nr);
	}
	return -EINVAL;
}

static int ctx_new(scmp_filter_ctx *ctx)
{
	int rc;

	*ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
	if (!*ctx)
		return -ENOMEM;
	/* i386 (int 0x80) and x32 entry points have their own numbers and
	 * would slip past a table of native ones. */
	rc = seccomp_attr_set(*ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* The child sets no_new_privs itself, before loading the program. */
	if (rc == 0)
		rc = seccomp_attr_set(*ctx, SCMP_FLTATR_CTL_NNP, 0);
	/* A binary tree over syscall numbers instead of a linear scan. */
	if (rc == 0)
		rc = seccomp_attr_set(*ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	return rc;
}

static int read_program(int fd, struct sock_fprog *prog)
{
	struct sock_filter *f;
	struct stat st;
	size_t size, off = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(*f))
		return -EIO;
	if (size / sizeof(*f) > BPF_MAXINSNS)
		return -E2BIG;
	f = malloc(size);
	if (!f)
		return -ENOMEM;
	while (off < size) {
		ssize_t r = pread(fd, (char *)f + off, size - off, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int rc = r < 0 ? -errno : -EIO;

			free(f);
			return rc;
		}
		off += (size_t)r;
	}
	prog->filter = f;
	prog->len = (unsigned short)(size / sizeof(*f));
	return 0;
}

/* libseccomp 2.5 exports only to a file descriptor: a memfd holds any size
 * without the deadlock a full pipe would risk. */
static int export_program(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	int fd = memfd_create("ringjail-seccomp", MFD_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = seccomp_export_bpf(ctx, fd);
	if (rc == 0)
		rc = read_program(fd, prog);
	close(fd);
	return rc;
}

static int add_rules(scmp_filter_ctx ctx, const struct table *t, bool net,
		     char *err, size_t errlen)
{
	char what[96];

	for (size_t i = 0; i < t->n; i++) {
		int rc = add_entry(ctx, &t->v[i], net);

		if (rc < 0) {
			snprintf(what, sizeof(what), "libseccomp refused the rule "
				 "for syscall %d", t->v[i].nr);
			return fail(err, errlen, rc, what);
		}
	}
	return 0;
}

int rj__seccomp_build(const struct rj__seccomp_opts *o, struct sock_fprog *prog,
		      char *err, size_t errlen)
{
	static const struct rj__seccomp_opts none;
	struct table t = { 0 };
	scmp_filter_ctx ctx = NULL;
	int rc;

	prog->filter = NULL;
	prog->len = 0;
	if (!o)
		o = &none;
	rc = table_build(&t, o, err, errlen);
	if (rc < 0)
		goto out;
	rc = ctx_new(&ctx);
	if (rc < 0) {
		fail(err, errlen, rc, "libseccomp cannot start a filter "
		     "(it needs libseccomp 2.5 and Linux 4.14 or later)");
		goto out;
	}
	rc = add_rules(ctx, &t, o->net, err, errlen);
	if (rc < 0)
		goto out;
	rc = export_program(ctx, prog);
	if (rc < 0)
		fail(err, errlen, rc, "cannot export the filter as BPF");
out:
	if (ctx)
		seccomp_release(ctx);
	free(t.v);
	return rc;
}
