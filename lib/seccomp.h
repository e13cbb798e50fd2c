/* The syscall filter: built with libseccomp in the parent, once per policy. */
#ifndef RJ_SECCOMP_H
#define RJ_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

struct rj__seccomp_opts {
	bool net;              /* sockets of any family allowed */
	const int *allow;      /* extra syscalls allowed (numbers) */
	size_t nallow;
	const int *deny;       /* extra syscalls denied (killed) */
	size_t ndeny;
};

/* Build the BPF program. prog->filter is malloc'd (free() it). 0 or -errno,
 * with a message in err. */
int rj__seccomp_build(const struct rj__seccomp_opts *o, struct sock_fprog *prog,
		      char *err, size_t errlen);
/* A syscall number from a name ("ptrace") or a decimal number ("101");
 * -1 when unknown on this architecture. */
int rj__seccomp_resolve(const char *name);

#endif
