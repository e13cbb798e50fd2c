/* Private declarations shared by the library's files.
 *
 * The library, one concern per file (the public API is include/ringjail.h):
 *
 *   Describing a run
 *     plan.c       the plan builder: setters that copy and validate early
 *     policy.c     a plan's inputs (struct rj__inputs: defaults, copy,
 *                  free) compiled into what the child replays
 *     seccomp.c    the syscall filter, a table compiled with libseccomp
 *     names.c      names of statuses, layers, limits, stages; rj_version
 *   The executor and its loop
 *     host.c       creating and freeing an executor: probing the host
 *     executor.c   the io_uring loop: operations, completions, finishing
 *     slots.c      the slot table, its ids and the ring's fixed files
 *     spawn.c      the parent side of one spawn, up to clone3 and id maps
 *     result.c     verdicts and accounting, with CLI.md's precedence
 *     util.c       the monotonic clock, message formatting, sweeping
 *                  what dead executors left
 *   The child side (built without sanitizers; raw system calls: sys.h)
 *     child.c      clone3 to execve, as a table of contents
 *     mounts.c     the mount namespace, the root, the workspace's files
 *     lockdown.c   Landlock and the capability drop
 *   What the host lends
 *     cgroup.c     the per-executor pool of cgroups (cgroup_v1.c and
 *                  cgroup_v2.c: what differs per version; cgroup_priv.h)
 *     ids.c        host uids per sandbox in root mode, locked host-wide
 *     net.c        network namespaces (pooled as root) and pasta
 *     caps.c, landlock.c  the parent's probes of capabilities, Landlock
 *   Kept workspaces (rj_plan_set_workdir)
 *     workspace.c  which directories may be one, the lock, the mount
 *     wsworker.c   the worker thread: disk accounting, hand-back
 *     handback.c   the hand-back: ownership to the caller, set-id cleared
 */
#ifndef RJ_INTERNAL_H
#define RJ_INTERNAL_H

#include <linux/filter.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ringjail.h"

#define RJ__ERRLEN 384
#define RJ__BOX_UID 1000u /* the sandbox's own id, inside its namespace */
#define RJ__MAX_ARGS 4096

/* Deadlines are nanoseconds on CLOCK_MONOTONIC: a year keeps every sum
 * of them far from overflowing. The limits' defaults are in policy.c. */
#define RJ__MAX_TIME_US   (365ull * 86400 * 1000000) /* CPU and wall limits */

/* One step of building the sandbox's root, prepared in the parent and
 * replayed by the child. Paths are relative to the new root. */
enum rj__mop_kind {
	RJ__MOP_DIR,      /* mkdir -p dst */
	RJ__MOP_BIND,     /* bind src (a host path) at dst, a directory */
	RJ__MOP_BINDFILE, /* bind src (a host file or device) at dst, a file */
	RJ__MOP_BINDFD,   /* bind the plan's mount number `arg` at dst */
	RJ__MOP_SYMLINK,  /* dst -> src */
	RJ__MOP_TMPFS,    /* tmpfs of `arg` bytes at dst, mode `mode` */
	RJ__MOP_WRITE,    /* a file with `data` at dst */
	RJ__MOP_PROC,     /* proc of the sandbox's pid namespace at dst */
	RJ__MOP_SEAL,     /* make the root and every bind so far read-only */
	RJ__MOP_FILE,     /* an empty file at dst (a mount point) */
};

struct rj__mop {
	enum rj__mop_kind kind;
	const char *src;
	const char *dst;
	const char *data;
	size_t len;
	uint64_t arg;
	unsigned mode;
	unsigned flags;   /* RJ_MOUNT_* for binds */
};

struct rj__file {
	char *path;       /* relative to /box, validated */
	char *data;
	size_t len;
	unsigned mode;
};

struct rj__mount {
	char *host;
	char *box;
	unsigned flags;
};

/* What a plan says, as its setters took it: held by the plan and copied
 * whole into each policy compiled from it. A new plan option is a field
 * here and its setter (plan.c); one that owns memory also gets a line in
 * rj__inputs_copy and in rj__inputs_free (policy.c, beside each other). */
struct rj__inputs {
	char **argv;
	char **env;              /* "NAME=VALUE", NULL-terminated */
	size_t nenv;
	char *stdin_data;
	size_t stdin_len;
	char *stdin_path;
	bool stdin_open;
	struct rj__file *files;
	size_t nfiles;
	struct rj__mount *mounts;
	size_t nmounts;
	char *workdir;
	char *cwd;
	uint64_t limits[RJ_LIMIT__COUNT]; /* the caller's: see rj__inputs_limit */
	uint32_t limits_set;     /* bit per limit the caller gave */
	bool best_effort;
	bool net;
	size_t capture;
	int *allow;
	size_t nallow;
	int *deny;
	size_t ndeny;
};

/* Everything a spawn needs, compiled once from a plan's inputs and shared,
 * read only, by every sandbox spawned from it (and by the children, which
 * see a copy of it after clone). */
struct rj__policy {
	atomic_int refs;
	struct rj__inputs in;    /* the plan's, copied */
	uint64_t limits[RJ_LIMIT__COUNT]; /* in force: defaults filled in */
	const char *path_env;    /* PATH's value inside in.env, for the lookup */
	struct sock_fprog bpf;
	struct rj__mop *mops;
	size_t nmops;
	size_t run_mops;         /* mops[run_mops..] are made for each run */
	bool prepared_ok;        /* the prepared root can serve this plan */
};

struct rj_plan {
	struct rj__inputs in;
	pthread_mutex_t lock;    /* guards the compiled policy below */
	struct rj__policy *policy;
	char err[RJ__ERRLEN];
};

/* policy.c: the inputs with their defaults (CLI.md's environment, /box,
 * the limits above), copied and freed in one place each; 0 or -errno. */
int rj__inputs_init(struct rj__inputs *in, const char *const *argv);
int rj__inputs_copy(struct rj__inputs *dst, const struct rj__inputs *src);
void rj__inputs_free(struct rj__inputs *in);
uint64_t rj__inputs_limit(const struct rj__inputs *in, enum rj_limit l);
/* policy.c: a new policy (one reference) from inputs, or NULL + errno
 * with err saying why. */
struct rj__policy *rj__policy_compile(const struct rj__inputs *in, char *err, size_t errlen);
struct rj__policy *rj__policy_get(struct rj__policy *pol);
void rj__policy_put(struct rj__policy *pol);
int rj__host_mops(struct rj__mop **ops, size_t *n);

/* plan.c: the plan's policy, compiled on first use (a reference to put);
 * a host file the plan names, opened as the plan's setters open it. */
struct rj__policy *rj__plan_policy(const rj_plan *plan, char *err, size_t errlen);
int rj__host_file_open(const char *workdir, const char *host, const char *what, char *err, size_t errlen);

/* Per-sandbox record in memory shared (MAP_SHARED) between the executor
 * and the sandbox's init; the program itself never sees it, as execve
 * replaces its address space. */
enum rj__shm_state {
	RJ__SHM_NONE = 0,
	RJ__SHM_FAILED,    /* setup failed: stage and err say where */
	RJ__SHM_RUNNING,   /* the program was executed */
	RJ__SHM_FINISHED,  /* the program ended: wstatus */
};

/* One page per record: each init unmaps every record but its own (see
 * child.c, unmap_neighbours), so a compromised init could not read what
 * other sandboxes' records say. Untouched pages cost nothing. */
struct __attribute__((aligned(4096))) rj__shm {
	_Atomic uint32_t go;     /* futex: 0 wait, 1 go, 2 abort */
	_Atomic uint32_t state;
	int32_t stage;
	int32_t err;
	int32_t wstatus;
	int32_t detail;          /* e.g. which mount step failed */
	uint32_t pad;
	/* CLOCK_MONOTONIC ns at: init running, ids mapped, root built, the
	 * program executed (bench's breakdown; RJ_TRACE=1 prints it). */
	uint64_t t[4];
};

/* init's own backstop: the wall limit plus this, should the executor's
 * loop that enforces the limit be stuck or gone. Generous: a loop that is
 * merely busy (a callback, a loaded machine) must stay the one that
 * enforces the limit and says how. */
#define RJ__INIT_MARGIN_NS (3000ull * 1000000)
/* Where init keeps the lifeline once the program runs. */
#define RJ__INIT_LIFELINE_FD 3

/* What the child needs, prepared by the parent (child.c). */
struct rj__child_args {
	const struct rj__policy *pol;
	struct rj__shm *shm;
	struct rj__shm *shm_all;  /* every record, [0, shm_count): init keeps its own */
	size_t shm_count;
	int stdin_fd, stdout_fd, stderr_fd;
	int lifeline;            /* read end: hangs up when the executor's process dies */
	int lifeline_wr;         /* its write end, which the child closes */
	int *mount_fds;          /* O_PATH fds of the plan's mounts */
	int workdir_fd;          /* O_PATH fd of the workdir, or -1 */
	int workdir_lock_fd;     /* the locked workdir: what a rootless bind must be */
	const char *root_dir;    /* empty host directory to build the root on */
	int mnt0_fd;             /* the prepared root's mount namespace, or -1 */
	int net_fd;              /* the shared empty network namespace, or -1 */
	bool net_private;        /* no shared one: make our own */
	uint32_t host_id;        /* the sandbox's host uid and gid (root mode) */
	int cg_n;                /* prepared path, v1: groups to move into */
	int cg_dirfd[3];
	char cg_rel[3][32];
	bool root_mode;          /* setgroups allowed */
	bool cg_mem, cg_pids;    /* limits applied by cgroups */
	uintptr_t arg_start, arg_end; /* the executor's argv, scrubbed by init */
	int landlock_abi;
	bool landlock_scope;
	uint64_t disk;
};

/* child.c and mounts.c, the child side (raw system calls only): */
_Noreturn void rj__child_die(struct rj__shm *shm, int stage, int err, int detail);
void rj__child_reset_signals(void);
void rj__child_replay_range(const struct rj__child_args *a, size_t from, size_t to);
void rj__child_build_root(const struct rj__child_args *a);
void rj__child_write_files(const struct rj__child_args *a);
void rj__child_enter_root(const struct rj__child_args *a);
/* child.c: runs in the clone3 child; never returns. */
_Noreturn void rj__child_main(const struct rj__child_args *a);
/* The prepared path (root mode): enters the prepared root's namespace. */
_Noreturn void rj__child_main_prepared(const struct rj__child_args *a);
/* Child of rj__prepare_root(): builds the shared root, pivots into it,
 * writes one byte (or an errno) to ready_fd and waits to be killed. */
_Noreturn void rj__root_builder(const struct rj__mop *ops, size_t n, const char *root_dir, int ready_fd);

/* landlock.c */
int rj__landlock_abi(void);
/* caps.c */
bool rj__caps_is_root(void);

/* lockdown.c, child side (raw syscalls only): build and apply the per-run
 * Landlock ruleset; clear every capability set and lock securebits. */
int rj__landlock_apply(const struct rj__policy *pol, int abi, bool scope);
int rj__caps_drop_all(void);

/* ids.c: host uid/gid per concurrent sandbox (root mode). */
struct rj__ids;
int rj__ids_new(struct rj__ids **out, uint32_t base, uint32_t count, char *err, size_t errlen);
void rj__ids_free(struct rj__ids *ids);
int rj__ids_acquire(struct rj__ids *ids, uint32_t *id);
void rj__ids_release(struct rj__ids *ids, uint32_t id);

/* workspace.c */
int rj__workdir_check(int fd, const char *dir, bool root, char *err, size_t errlen);
int rj__workdir_lock(const char *dir, bool root, int *lock_fd, char *err, size_t errlen);
int rj__workdir_tree(int lock_fd, uint32_t host, bool *idmapped);
int rj__workdir_prepare(int dir_fd, uid_t box_uid, gid_t box_gid, uid_t *orig_uid, gid_t *orig_gid);
int rj__root_dir_make(char *out, size_t outlen);

/* handback.c: after a run, below a kept workspace. */
struct rj__handback {
	uid_t box_uid;           /* the sandbox's host id, or (uid_t)-1 rootless */
	uid_t uid;               /* who gets it back: the directory's owner */
	gid_t gid;
	bool chowned_root;       /* the directory itself was given to box_uid */
};
struct rj__handback_stats {
	uint64_t entries, chowned, setid_cleared, removed, errors;
};
int rj__workdir_hand_back(int dir_fd, const struct rj__handback *hb, struct rj__handback_stats *st);
/* Every entry below dir_fd on its mount, at any depth, never through a
 * link: visit returns non-zero to stop the walk with that value. Folders
 * of `owner` that it cannot read get u+rwx back. */
struct statx;
typedef int (*rj__visit_fn)(void *ctx, int dfd, const char *name, const struct statx *sx);
int rj__walk(int dir_fd, uid_t owner, rj__visit_fn visit, void *ctx, uint64_t *errors);

/* util.c: CLOCK_MONOTONIC in nanoseconds; snprintf that never cuts a
 * UTF-8 character in two. */
uint64_t rj__now_ns(void);
int rj__fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* What executors killed before they could free left in dir: for each entry
 * named PREFIX<pid>-... whose pid is not ours and names no process,
 * drop(dir's fd, the entry's name). */
void rj__sweep_dead(const char *dir, const char *prefix,
		    void (*drop)(int dir_fd, const char *name));

#endif
