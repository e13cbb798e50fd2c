/*
 * ringjail — run untrusted programs in Linux sandboxes, thousands at a time,
 * from one io_uring event loop.
 *
 * Lifecycle
 * ---------
 *   1. rj_plan_new(argv)           describe what to run (copies its inputs)
 *   2. rj_plan_set_*()/add_*()     environment, stdin, files, limits, mounts
 *   3. rj_executor_new(&ex, &o)    one ring, one event callback
 *   4. rj_spawn(ex, plan, ud, &id) returns at once; a plan may be spawned
 *                                  many times, and freed while its sandboxes
 *                                  still run
 *   5. rj_executor_run(ex, ms)     waits on the ring and dispatches events:
 *                                  STDOUT/STDERR slices, then exactly one
 *                                  COMPLETED or TIMEOUT per spawned id
 *   6. rj_executor_free(ex)        kills and reaps whatever still runs
 *      rj_plan_free(plan)
 *
 * rj_run() does 3-6 for one plan on a private executor and blocks.
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * errno on failure. rj_plan_new() returns NULL and sets errno;
 * rj_executor_new() returns -errno like the rest and sets *out only on
 * success. A readable detail of the last failure is kept on the object
 * that failed (rj_plan_error(), rj_executor_error()). A call that fails
 * synchronously never fires the event callback for that sandbox.
 *
 * Threads: an executor belongs to one thread at a time (its calls, and
 * rj_executor_run() with the callbacks it makes, are not locked); give
 * each thread its own executor, as the CLI's batch does. Its sandboxes
 * belong to the process, not to that thread: they live on if the thread
 * exits, and die with the process. A plan may be spawned from several
 * threads and executors at once, but not changed (rj_plan_set_*, add_*,
 * free) while another thread spawns it. The name functions and
 * rj_version() are safe anywhere.
 *
 * Process-wide side effects, all from rj_executor_new():
 *   - the soft RLIMIT_NOFILE is raised to the hard limit;
 *   - SIGPIPE is ignored, unless the program already handles or ignores it
 *     (a write to a closed stdin must be EPIPE, not a signal);
 *   - as root: the lock file /run/ringjail/ids.lock (one byte locked per
 *     sandbox id range in use), and a helper process that builds the
 *     read-only root once and exits at once;
 *   - where it may make them: cgroups, a pool beside or below the
 *     caller's group;
 *   - one empty directory, $TMPDIR/ringjail-root-PID-XXXXXX (default
 *     /tmp), the sandboxes' mount point;
 *   - cgroups and mount points are removed by rj_executor_free(), or by
 *     the next executor when this process was killed;
 *   - a thread that hands --workdir files back, started with the first
 *     sandbox that has a workdir; a pasta process per sandbox with a
 *     network, ended with its sandbox;
 *   - the environment variables it reads: TMPDIR, RJ_PASTA (pasta's path),
 *     RJ_FORCE_FALLBACK=1 (the poll + read path), RJ_NO_PREPARED=1 (build
 *     each root per run), RJ_CGROUP_NO_POOL=1 (a fresh cgroup per run),
 *     RJ_TRACE=1 (timings on stderr).
 */
#ifndef RINGJAIL_H
#define RINGJAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RJ_BUILDING_LIBRARY)
#define RJ_API __attribute__((visibility("default")))
#else
#define RJ_API
#endif

#define RJ_VERSION_MAJOR 0
#define RJ_VERSION_MINOR 1

/* The version of the library linked in, "MAJOR.MINOR.PATCH". */
RJ_API const char *rj_version(void);

typedef struct rj_plan rj_plan;
typedef struct rj_executor rj_executor;

/* ------------------------------------------------------------------------
 * Results
 * ---------------------------------------------------------------------- */

/* Ordered by CLI.md's precedence: when several hold, the highest value is
 * the status. The numeric values are stable. */
enum rj_status {
	RJ_STATUS_OK = 0,
	RJ_STATUS_RUNTIME_ERROR,
	RJ_STATUS_SIGNALED,
	RJ_STATUS_OUTPUT_LIMIT,
	RJ_STATUS_MEMORY_LIMIT,
	RJ_STATUS_WALL_TIME_LIMIT,
	RJ_STATUS_TIME_LIMIT,
	RJ_STATUS_SYSCALL_VIOLATION,
	RJ_STATUS_INTERRUPTED,  /* set by callers such as `ringjail batch` */
	RJ_STATUS_SETUP_ERROR,
	RJ_STATUS_INVALID,      /* set by callers such as `ringjail batch` */
};

/* "ok", "runtime_error", ... as in CLI.md; never NULL. */
RJ_API const char *rj_status_name(enum rj_status status);

/* Hardening layers, as bits of rj_result.hardening. */
enum rj_layer {
	RJ_LAYER_USER_NS = 1u << 0,
	RJ_LAYER_PID_NS = 1u << 1,
	RJ_LAYER_MOUNT_NS = 1u << 2,
	RJ_LAYER_NET_NS = 1u << 3,
	RJ_LAYER_IPC_NS = 1u << 4,
	RJ_LAYER_UTS_NS = 1u << 5,
	RJ_LAYER_LANDLOCK = 1u << 6,
	RJ_LAYER_SECCOMP = 1u << 7,
	RJ_LAYER_CAPS = 1u << 8,
	RJ_LAYER_NO_NEW_PRIVS = 1u << 9,
	RJ_LAYER_CGROUP = 1u << 10,
	/* Landlock scopes abstract unix sockets and signals to the sandbox. */
	RJ_LAYER_LANDLOCK_SCOPE = 1u << 11,
	/* No other sandbox uses the network namespace while this one runs:
	 * made for this run, or (root mode) an empty one from a pool, checked
	 * empty before reuse. Every sandbox has it now; it was missing where
	 * a root executor's sandboxes shared one empty namespace. */
	RJ_LAYER_NET_NS_PRIVATE = 1u << 12,
};
#define RJ_LAYER_COUNT 13

/* The name of one layer bit ("user_ns", "landlock", ...), or NULL. */
RJ_API const char *rj_layer_name(unsigned layer_bit);

/* Limits a plan can set. */
enum rj_limit {
	RJ_LIMIT_TIME = 0,   /* CPU time of the whole sandbox, microseconds */
	RJ_LIMIT_WALL_TIME,  /* microseconds */
	RJ_LIMIT_MEM,        /* bytes, the whole sandbox */
	RJ_LIMIT_PIDS,       /* processes and threads */
	RJ_LIMIT_OUTPUT,     /* stdout + stderr bytes together */
	RJ_LIMIT_FSIZE,      /* largest file, bytes */
	RJ_LIMIT_DISK,       /* size of /box and of /tmp, bytes each */
	RJ_LIMIT_OPEN_FILES, /* file descriptors */
	RJ_LIMIT_STACK,      /* bytes, or RJ_UNLIMITED */
	RJ_LIMIT_AS,         /* address space, bytes; off unless set */
	RJ_LIMIT__COUNT
};
/* Room for limits in rj_result.enforced: fixed, so that a new limit does
 * not move the fields after it. */
#define RJ_LIMIT_ROOM 16
#ifdef __cplusplus
static_assert(RJ_LIMIT__COUNT <= RJ_LIMIT_ROOM, "rj_result.enforced has no room for the limits");
#else
_Static_assert(RJ_LIMIT__COUNT <= RJ_LIMIT_ROOM, "rj_result.enforced has no room for the limits");
#endif
#define RJ_UNLIMITED UINT64_MAX

/* Where a sandbox's setup failed (rj_result.setup_stage). */
enum rj_setup_stage {
	RJ_STAGE_NONE = 0,
	RJ_STAGE_HOST,      /* in the parent: pipes, files, cgroups, ids */
	RJ_STAGE_CLONE,
	RJ_STAGE_USERNS,    /* id maps, setgroups, switching ids */
	RJ_STAGE_NAMESPACES,
	RJ_STAGE_MOUNTS,
	RJ_STAGE_FILES,     /* writing the plan's files into /box */
	RJ_STAGE_CHDIR,
	RJ_STAGE_RLIMITS,
	RJ_STAGE_LANDLOCK,
	RJ_STAGE_CAPS,
	RJ_STAGE_NO_NEW_PRIVS,
	RJ_STAGE_SECCOMP,
	RJ_STAGE_EXEC,      /* execve: program missing, not executable, ... */
	RJ_STAGE_STDIO,
	RJ_STAGE_FORK,      /* the sandbox's init could not start the program */
	RJ_STAGE__COUNT
};
RJ_API const char *rj_setup_stage_name(int stage);

/* The CLI.md name of a limit ("time", "wall_time", "mem", ...). */
RJ_API const char *rj_limit_name(enum rj_limit limit);

/* How one limit was enforced for a run. */
enum rj_enforce {
	RJ_ENFORCE_NONE = 0, /* not enforced (only under best effort) */
	RJ_ENFORCE_CGROUP,
	RJ_ENFORCE_RLIMIT,
	RJ_ENFORCE_TIMER,
	RJ_ENFORCE_PIPE,
	RJ_ENFORCE_TMPFS,
};
RJ_API const char *rj_enforce_name(enum rj_enforce how);

struct rj_result {
	enum rj_status status;
	int exit_code;            /* -1 when the program did not exit */
	int signal;               /* 0 when it was not killed by a signal */
	double wall_ms;           /* CLOCK_MONOTONIC, spawn to end */
	double cpu_ms;            /* user + system, whole sandbox */
	double cpu_user_ms;
	double cpu_sys_ms;
	uint64_t memory_kib;      /* peak of the whole sandbox */
	bool oom_killed;          /* the kernel's OOM killer acted */
	bool output_truncated;
	uint64_t stdout_bytes;    /* bytes the caller received */
	uint64_t stderr_bytes;
	long voluntary_ctxsw;
	long involuntary_ctxsw;
	uint32_t hardening;       /* RJ_LAYER_* bits applied to this run */
	/* enum rj_enforce per enum rj_limit; entries past RJ_LIMIT__COUNT
	 * are RJ_ENFORCE_NONE. */
	uint8_t enforced[RJ_LIMIT_ROOM];
	int setup_stage;          /* rj_setup_stage, on SETUP_ERROR */
	int setup_errno;
	/* Captured output (rj_plan_set_capture), borrowed for the callback. */
	const char *stdout_data;
	size_t stdout_len;
	const char *stderr_data;
	size_t stderr_len;
	char message[384];        /* why, for anything but OK; "" otherwise */
	uint64_t reserved[8];
};

/* ------------------------------------------------------------------------
 * Plans
 * ---------------------------------------------------------------------- */

/* A new plan running argv (NULL-terminated, non-empty; copied). PROGRAM
 * without a slash is looked up on the sandbox's PATH. NULL + errno on
 * failure (EINVAL for an empty argv or an empty argv[0]). */
RJ_API rj_plan *rj_plan_new(const char *const *argv);
RJ_API void rj_plan_free(rj_plan *plan);
/* Detail of the plan's last failure; "" when none. Owned by the plan. */
RJ_API const char *rj_plan_error(const rj_plan *plan);

/* Set (value != NULL) or remove a variable of the default environment
 * (PATH, HOME=/box, TMPDIR=/tmp, LANG=C.UTF-8). Copies both. */
RJ_API int rj_plan_set_env(rj_plan *plan, const char *name, const char *value);
/* Bytes fed to stdin (copied); the pipe closes after them. */
RJ_API int rj_plan_set_stdin(rj_plan *plan, const void *data, size_t len);
/* Feed a host file to stdin; opened at each spawn with the caller's
 * permissions (copies the path). */
RJ_API int rj_plan_set_stdin_file(rj_plan *plan, const char *path);
/* Keep stdin open after the plan's bytes for rj_write_stdin() until
 * rj_close_stdin(). */
RJ_API int rj_plan_set_stdin_open(rj_plan *plan, bool open);
/* Write a file into the workspace: box_path is relative to /box, has no
 * ".." component and does not start with '/'; mode as for chmod. Copies. */
RJ_API int rj_plan_add_file(rj_plan *plan, const char *box_path,
			    const void *data, size_t len, unsigned mode);
/* Copy a host file (read now, with the caller's permissions) into the
 * workspace at box_path (named as for rj_plan_add_file). mode is the
 * file's mode in the sandbox, as for rj_plan_add_file (at most 07777), or
 * RJ_MODE_KEEP_EXEC: 0755 when the host file is executable by anyone,
 * else 0644. Both are checked first (-EINVAL), before the host file is
 * opened. That must be a regular file of at most 1 GiB (else -EINVAL,
 * -EFBIG, or open's -errno); one inside the plan's workdir (set that
 * first) is opened beneath it without following any link (-ELOOP, and
 * -EXDEV for ".." out of it). Copies the contents. */
#define RJ_MODE_KEEP_EXEC 0xffffffffu
RJ_API int rj_plan_add_host_file(rj_plan *plan, const char *box_path,
				 const char *host_path, unsigned mode);

#define RJ_MOUNT_RW     0x1u
#define RJ_MOUNT_NOEXEC 0x2u
/* Make host directory host_dir visible at box_dir (absolute), read-only
 * unless RJ_MOUNT_RW. */
RJ_API int rj_plan_add_mount(rj_plan *plan, const char *host_dir,
			     const char *box_dir, unsigned flags);
/* Use host_dir as the workspace (/box) instead of a fresh one; it is kept,
 * and what the program creates there is handed back to the caller. */
RJ_API int rj_plan_set_workdir(rj_plan *plan, const char *host_dir);
/* Working directory inside the sandbox (absolute); default /box. */
RJ_API int rj_plan_set_cwd(rj_plan *plan, const char *box_dir);
/* Set a limit (units in enum rj_limit). A limit set here is the caller's:
 * if the host cannot enforce it, the run is SETUP_ERROR unless best effort. */
RJ_API int rj_plan_set_limit(rj_plan *plan, enum rj_limit limit, uint64_t value);
/* The limit a run gets: the caller's, else CLI.md's default (0: off). */
RJ_API uint64_t rj_plan_get_limit(const rj_plan *plan, enum rj_limit limit);
RJ_API int rj_plan_set_best_effort(rj_plan *plan, bool on);
RJ_API int rj_plan_set_net(rj_plan *plan, bool on);
/* Adjust the syscall filter by name ("ptrace") or number ("101"). */
RJ_API int rj_plan_allow_syscall(rj_plan *plan, const char *name);
RJ_API int rj_plan_deny_syscall(rj_plan *plan, const char *name);
/* Keep up to max bytes of stdout and of stderr in the final result
 * (bounded by the output limit as well); 0 (the default) keeps none. */
RJ_API int rj_plan_set_capture(rj_plan *plan, size_t max);

/* ------------------------------------------------------------------------
 * Executor and events
 * ---------------------------------------------------------------------- */

enum rj_event_type {
	RJ_EVENT_STDOUT = 1,
	RJ_EVENT_STDERR,
	RJ_EVENT_COMPLETED,
	RJ_EVENT_TIMEOUT, /* a CPU or wall time limit ended the sandbox */
};

struct rj_event {
	enum rj_event_type type;
	uint64_t id;
	void *user_data;
	const void *data;               /* STDOUT/STDERR slice, borrowed */
	size_t len;
	const struct rj_result *result; /* COMPLETED/TIMEOUT, borrowed */
};

typedef void (*rj_event_cb)(rj_executor *ex, const struct rj_event *ev,
			    void *ctx);

/* Force the poll + plain read path instead of IORING_OP_WAITID and
 * multishot reads (the environment variable RJ_FORCE_FALLBACK=1 does too). */
#define RJ_EXECUTOR_FALLBACK 0x1u

struct rj_executor_opts {
	rj_event_cb on_event;
	void *ctx;
	unsigned flags;          /* RJ_EXECUTOR_* */
	unsigned ring_entries;   /* 0: 256 */
	uint32_t uid_base;       /* root mode: first host uid/gid; 0: default */
	uint32_t uid_count;      /* root mode: how many; 0: default */
	uint64_t reserved[8];
};

/* Default host id range of sandboxes when ringjail runs as root. */
#define RJ_DEFAULT_UID_BASE  2000000000u
#define RJ_DEFAULT_UID_COUNT 65536u

/* Create an executor (a ring, a shared status page, the host's probed
 * features). Raises the soft RLIMIT_NOFILE to the hard limit. */
RJ_API int rj_executor_new(rj_executor **out, const struct rj_executor_opts *opts);
/* Kill and reap every sandbox still running (firing no more events), then
 * free. -EBUSY from inside the executor's own callback. */
RJ_API int rj_executor_free(rj_executor *ex);
/* Detail of the executor's last failure; with NULL, why the last
 * rj_executor_new() on this thread failed. */
RJ_API const char *rj_executor_error(const rj_executor *ex);

/* Start a sandbox. Returns at once; events arrive from rj_executor_run().
 * The plan is not needed afterwards. On failure nothing runs and no event
 * fires. */
RJ_API int rj_spawn(rj_executor *ex, const rj_plan *plan, void *user_data,
		    uint64_t *id);
/* Wait up to timeout_ms (-1: until an event) and dispatch what arrived.
 * Returns the number of final events dispatched, or -errno. */
RJ_API int rj_executor_run(rj_executor *ex, int timeout_ms);
/* Kill a sandbox; its final event reports SIGNALED (SIGKILL). */
RJ_API int rj_kill(rj_executor *ex, uint64_t id);
/* Queue bytes (copied) for a sandbox's stdin (rj_plan_set_stdin_open). */
RJ_API int rj_write_stdin(rj_executor *ex, uint64_t id, const void *data,
			  size_t len);
RJ_API int rj_close_stdin(rj_executor *ex, uint64_t id);
/* Sandboxes spawned whose final event has not been dispatched yet. */
RJ_API unsigned rj_executor_active(const rj_executor *ex);
/* The ring's fd, readable when rj_executor_run() has work to do. */
RJ_API int rj_executor_fd(const rj_executor *ex);

/* Blocking convenience: run one plan on a private executor and fill
 * result. Captured output in the result stays valid until the next call
 * of rj_run on this thread. 0 or -errno (a failed setup is a result). */
RJ_API int rj_run(const rj_plan *plan, struct rj_result *result);

#ifdef __cplusplus
}
#endif
#endif
