/* Raw system calls for the child side (child.c, lockdown.c): the code that
 * runs between clone3 and execve, in a copy of a process that may have had
 * other threads. glibc's own wrappers are not all safe there: setgroups,
 * setresuid and setresgid broadcast the change to every thread of the
 * process through a signal and a lock (the "setxid" machinery), and a
 * clone made while another thread held that lock leaves the child stuck
 * for ever. So the child calls the kernel directly, through these
 * wrappers and nothing else; tests/core/child_symbols.sh holds it to that
 * by listing what the child's objects import.
 *
 * Each wrapper has libc's shape: -1 with errno set on failure. */
#ifndef RJ_SYS_H
#define RJ_SYS_H

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* The kernel's sigset is 64 bits on every architecture we build for. */
#define RJ__KSIGSET_SIZE 8

static inline int sys_open(const char *path, int flags, unsigned mode)
{
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static inline int sys_openat(int dir, const char *path, int flags, unsigned mode)
{
	return (int)syscall(SYS_openat, dir, path, flags, mode);
}

static inline int sys_close(int fd)
{
	return (int)syscall(SYS_close, fd);
}

static inline ssize_t sys_read(int fd, void *buf, size_t len)
{
	return syscall(SYS_read, fd, buf, len);
}

static inline ssize_t sys_write(int fd, const void *buf, size_t len)
{
	return syscall(SYS_write, fd, buf, len);
}

static inline int sys_mkdirat(int dir, const char *path, unsigned mode)
{
	return (int)syscall(SYS_mkdirat, dir, path, mode);
}

static inline int sys_symlinkat(const char *target, int dir, const char *path)
{
	return (int)syscall(SYS_symlinkat, target, dir, path);
}

static inline int sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

static inline int sys_unlinkat(int dir, const char *path, int flags)
{
	return (int)syscall(SYS_unlinkat, dir, path, flags);
}

static inline int sys_fchownat(int dir, const char *path, uid_t uid, gid_t gid, int flags)
{
	return (int)syscall(SYS_fchownat, dir, path, uid, gid, flags);
}

static inline int sys_fchmod(int fd, unsigned mode)
{
	return (int)syscall(SYS_fchmod, fd, mode);
}

static inline int sys_fcntl(int fd, int cmd, long arg)
{
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

static inline int sys_dup3(int old, int new_, int flags)
{
	return (int)syscall(SYS_dup3, old, new_, flags);
}

static inline int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}

static inline int sys_mount(const char *src, const char *dst, const char *type,
			    unsigned long flags, const void *data)
{
	return (int)syscall(SYS_mount, src, dst, type, flags, data);
}

static inline int sys_umount2(const char *path, int flags)
{
	return (int)syscall(SYS_umount2, path, flags);
}

static inline int sys_pivot_root(const char *new_root, const char *put_old)
{
	return (int)syscall(SYS_pivot_root, new_root, put_old);
}

static inline int sys_chdir(const char *path)
{
	return (int)syscall(SYS_chdir, path);
}

static inline unsigned sys_umask(unsigned mask)
{
	return (unsigned)syscall(SYS_umask, mask);
}

static inline int sys_setns(int fd, int type)
{
	return (int)syscall(SYS_setns, fd, type);
}

static inline int sys_unshare(int flags)
{
	return (int)syscall(SYS_unshare, flags);
}

static inline int sys_sethostname(const char *name, size_t len)
{
	return (int)syscall(SYS_sethostname, name, len);
}

static inline pid_t sys_setsid(void)
{
	return (pid_t)syscall(SYS_setsid);
}

static inline int sys_prctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d)
{
	return (int)syscall(SYS_prctl, op, a, b, c, d);
}

/* Ids: the raw calls change this process only, which is all the child is. */
static inline int sys_setgroups0(void)
{
	return (int)syscall(SYS_setgroups, 0, NULL);
}

static inline int sys_setresgid(gid_t r, gid_t e, gid_t s)
{
	return (int)syscall(SYS_setresgid, r, e, s);
}

static inline int sys_setresuid(uid_t r, uid_t e, uid_t s)
{
	return (int)syscall(SYS_setresuid, r, e, s);
}

static inline int sys_prlimit(int res, const struct rlimit *rl)
{
	return (int)syscall(SYS_prlimit64, 0, res, rl, NULL);
}

static inline int sys_kill(pid_t pid, int sig)
{
	return (int)syscall(SYS_kill, pid, sig);
}

static inline pid_t sys_wait4(pid_t pid, int *status, int options)
{
	return (pid_t)syscall(SYS_wait4, pid, status, options, NULL);
}

static inline int sys_execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)syscall(SYS_execve, path, argv, envp);
}

static inline _Noreturn void sys_exit(int code)
{
	for (;;)
		syscall(SYS_exit_group, code);
}

static inline int sys_clock_ns(uint64_t *ns)
{
	struct timespec ts;
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) < 0)
		return -1;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

/* Signals, with the kernel's own sigset (a 64-bit mask): no handler is
 * ever installed on the child side, so no restorer is needed. */
struct rj__ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static inline int sys_sig_default(int sig)
{
	struct rj__ksigaction sa = { .handler = SIG_DFL };
	return (int)syscall(SYS_rt_sigaction, sig, &sa, NULL, RJ__KSIGSET_SIZE);
}

static inline int sys_sigmask(int how, uint64_t set)
{
	return (int)syscall(SYS_rt_sigprocmask, how, &set, NULL, RJ__KSIGSET_SIZE);
}

static inline uint64_t rj__sigbit(int sig)
{
	return 1ull << (sig - 1);
}

static inline int sys_signalfd(uint64_t set, int flags)
{
	return (int)syscall(SYS_signalfd4, -1, &set, RJ__KSIGSET_SIZE, flags);
}

static inline int sys_ppoll(struct pollfd *fds, unsigned n, const struct timespec *ts)
{
	return (int)syscall(SYS_ppoll, fds, n, ts, NULL, RJ__KSIGSET_SIZE);
}

static inline long sys_futex_wait(_Atomic uint32_t *addr, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, addr, 0 /* FUTEX_WAIT */, val, ts, NULL, 0);
}

/* String building without libc's formatting: into dst[size], from at. */
static inline size_t rj__s_cat(char *dst, size_t at, const char *src, size_t size)
{
	while (*src && at + 1 < size)
		dst[at++] = *src++;
	dst[at] = '\0';
	return at;
}

static inline size_t rj__s_num(char *dst, size_t at, uint64_t v, unsigned base, size_t size)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && at + 1 < size)
		dst[at++] = tmp[--n];
	dst[at] = '\0';
	return at;
}

#endif
