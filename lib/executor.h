/* The executor's private state, shared by executor.c (the loop), slots.c
 * (the slot table), spawn.c, host.c, net.c, wsworker.c and result.c. */
#ifndef RJ_EXECUTOR_H
#define RJ_EXECUTOR_H

#include <liburing.h>
#include <signal.h>
#include <sys/resource.h>

#include "cgroup.h"
#include "internal.h"

#define RJ__MAX_SLOTS (1u << 16) /* ids carry the slot in their low 16 bits */
#define RJ__BUF_COUNT 64u
#define RJ__BUF_SIZE (256u * 1024)
#define RJ__BIG_PIPE (256u * 1024)
/* Registered (fixed) files per sandbox: stdout, stderr, pidfd (stdin's
 * write end is never one: see rj__slot_fix_files). */
#define RJ__FIXED_PER_SLOT 3u
#define RJ__SMALL_STDIN (64u * 1024)
/* Opcodes newer than liburing 2.3's headers, prepared by number. */
#define RJ__OP_READ_MULTISHOT 49
#define RJ__OP_WAITID 50

/* What a completion is about: the low 8 bits of its user_data. */
enum rj__op {
	RJ__OP_WAIT = 1,  /* waitid, poll on the pidfd, or a deferred failure */
	RJ__OP_OUT,
	RJ__OP_ERR,
	RJ__OP_IN,
	RJ__OP_WALL,
	RJ__OP_CPU,
	RJ__OP_WS,        /* a note of the workspace worker (wsworker.c) */
	RJ__OP_IGNORE,    /* cancellations: nothing to do */
};

enum rj__kill {
	RJ__KILL_NONE = 0,
	RJ__KILL_USER,
	RJ__KILL_OUTPUT,
	RJ__KILL_WALL,
	RJ__KILL_CPU,
	RJ__KILL_SHUTDOWN,
	RJ__KILL_DISK,    /* the workdir took more than --disk */
};

struct rj__stream {
	int fd;
	bool eof;
	bool armed;
	bool rearm;          /* ran out of buffers: arm again after the batch */
	bool grown;          /* the pipe was enlarged for a chatty program */
	char *cap;           /* captured bytes (policy->capture) */
	size_t cap_len, cap_size;
};

struct rj__sbx {
	uint32_t index;
	uint32_t gen;
	bool in_use;
	bool final_sent;
	bool exited;
	bool reaped_ok;
	bool deferred;       /* failed before a child existed */
	bool fixed;          /* its fds are io_uring fixed files, not ours */
	unsigned pending;    /* ops in flight that point into this slot */
	uint64_t id;
	void *user_data;
	struct rj__policy *pol;
	pid_t pid;
	int pidfd;
	struct rj__stream out, err;
	/* stdin fed through the ring */
	int in_fd;
	const char *in_data;
	size_t in_len, in_off;
	char *queue;         /* rj_write_stdin's bytes */
	size_t q_len, q_off, q_cap;
	bool in_busy, in_close;
	/* limits */
	enum rj__kill kill;
	uint64_t start_ns, end_ns;
	uint64_t delivered;  /* stdout + stderr bytes passed on */
	bool truncated;
	struct __kernel_timespec wall_ts, cpu_ts;
	bool wall_armed, cpu_armed;
	/* resources */
	struct rj__cg *cg;
	bool has_uid;
	uint32_t host_uid;
	int wd_lock;
	uid_t wd_uid;
	gid_t wd_gid;
	bool wd_prepared;
	struct rj__wsjob *ws_job; /* the worker's accounting and hand-back */
	char ws_note;        /* the worker's last note, read by the ring */
	bool ws_handed;      /* it handed the workdir back */
	pid_t pasta;         /* --net: its pasta, ours to kill and reap, or 0 */
	siginfo_t si;
	struct rusage ru;
	struct rj_result res;
	int free_next;
};

struct rj_executor {
	struct io_uring ring;
	rj_event_cb cb;
	void *ctx;
	bool fallback;       /* poll + single reads instead of waitid + multishot */
	bool root;
	bool trace;          /* RJ_TRACE=1: per-run timing on stderr */
	int in_callback;
	/* host features */
	struct rj__cgroups *cgs;
	struct rj__cg_host cg;
	int landlock_abi;
	struct rj__net *net; /* root mode: the pool of empty network namespaces */
	int net_orig_fd;     /* root mode: our own, to return to after setns */
	int mnt0_fd;         /* the prepared root's mount namespace, or -1 */
	int lifeline[2];     /* see rj__lifeline_open */
	struct rj__ids *ids;
	struct rj__wsw *wsw; /* the workspace worker, from the first --workdir */
	char root_dir[256];
	unsigned ncpu;
	uintptr_t arg_start, arg_end; /* our argv, for init to blank */
	/* shared records and output buffers */
	struct rj__shm *shm;
	struct io_uring_buf_ring *br;
	char *bufs;
	/* slots */
	unsigned nfixed;     /* size of the ring's fixed file table */
	struct rj__sbx **slots;
	uint32_t nslots, slots_cap;
	int free_head;
	unsigned active;
	uint32_t *rearm;
	uint32_t nrearm, rearm_cap;
	int finals;
	char err[RJ__ERRLEN];
};

/* ---- slots (slots.c) --------------------------------------------------------
 * The one encoding of a sandbox's id and of its ring operations' user_data,
 * inline because the loop decodes a user_data for every completion. An id
 * is the slot's generation + 1 above the slot's index (its low 16 bits):
 * unique for the executor's life, and found again in O(1). A user_data is
 * the slot's index (bits 40 and up), its generation (bits 8 to 39) and the
 * op (the low 8 bits): a completion for a slot that has since been reused
 * carries an old generation, and finds nothing. */
static inline uint64_t rj__slot_id(const struct rj__sbx *s)
{
	return ((uint64_t)s->gen + 1) << 16 | s->index;
}

static inline uint32_t rj__id_index(uint64_t id)
{
	return (uint32_t)(id & 0xffff);
}

static inline uint64_t rj__ud(const struct rj__sbx *s, enum rj__op op)
{
	return ((uint64_t)s->index << 40) | ((uint64_t)s->gen << 8) | (uint64_t)op;
}

static inline enum rj__op rj__ud_op(uint64_t ud)
{
	return (enum rj__op)(ud & 0xff);
}

/* The slot a completion is about, or NULL when it is stale. */
static inline struct rj__sbx *rj__ud_slot(const rj_executor *ex, uint64_t ud)
{
	uint32_t index = (uint32_t)(ud >> 40);
	uint32_t gen = (uint32_t)(ud >> 8);
	if (index >= ex->nslots)
		return NULL;
	struct rj__sbx *s = ex->slots[index];
	return s->gen == gen ? s : NULL;
}

/* rj_executor_new: the ring's fixed file table; rj_executor_free, after
 * the ring: every slot. */
void rj__slots_setup_fixed(rj_executor *ex);
void rj__slots_free(rj_executor *ex);
/* A free slot, reset, in use and with its id; NULL when there are
 * RJ__MAX_SLOTS in use or no memory. */
struct rj__sbx *rj__slot_alloc(rj_executor *ex);
/* Back on the free list, under a new generation. */
void rj__slot_free(rj_executor *ex, struct rj__sbx *s);
/* The sandbox with this id, while its final event has not been sent. */
struct rj__sbx *rj__slot_find(rj_executor *ex, uint64_t id);
/* Move a new sandbox's pipes (and fallback pidfd) into the ring's fixed
 * file table; where the table has no room they stay ordinary fds. */
void rj__slot_fix_files(rj_executor *ex, struct rj__sbx *s);
void rj__slot_close_stdin(struct rj__sbx *s);
/* Give back what the sandbox held: fds, cgroup, workdir, network, host id,
 * captures, policy. The slot itself stays taken. */
void rj__sandbox_release(rj_executor *ex, struct rj__sbx *s);

extern _Thread_local char rj__executor_new_error[RJ__ERRLEN];

/* executor.c */
struct io_uring_sqe *rj__sqe(rj_executor *ex);

/* spawn.c: the lifeline, and one spawn. rj__spawn_child takes the
 * sandbox's cgroup and host id, says how its limits are enforced, and
 * clones the child: on success s->pid, s->pidfd, s->out.fd, s->err.fd and
 * (stdin fed by the ring) s->in_fd are set; it never touches the ring.
 * On failure the caller gives back what was taken (rj__sandbox_release). */
int rj__lifeline_open(rj_executor *ex);
void rj__lifeline_close(rj_executor *ex);
int rj__spawn_child(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen);

/* wsworker.c: the disk accounting and hand-back of a --workdir, off the
 * loop. rj__ws_watch starts it (spawn); rj__ws_fd is the pipe the ring
 * reads its notes from; rj__ws_pending, once the sandbox ended, hands the
 * workdir back and says whether the final event must wait for the 'H'
 * note; rj__ws_drop lets go of it (release). */
struct rj__wsjob;
struct rj__wsw;
int rj__ws_watch(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen);
int rj__ws_fd(const struct rj__sbx *s);
bool rj__ws_pending(rj_executor *ex, struct rj__sbx *s);
void rj__ws_drop(rj_executor *ex, struct rj__sbx *s);
void rj__wsw_free(struct rj__wsw *w);
/* net.c: a network namespace of its own for every sandbox (pooled in
 * root mode), and pasta for those with --net. */
struct rj__net;
int rj__net_new(rj_executor *ex);
void rj__net_free(rj_executor *ex);
/* Before clone3: *fd, a namespace to join (the caller closes it after the
 * clone), or *private, make one at clone. Root --net: pasta is running. */
int rj__net_prepare(rj_executor *ex, struct rj__sbx *s, int *fd, bool *private, char *err, size_t errlen);
/* After the id maps, before the child goes on: rootless --net starts pasta. */
int rj__net_attach(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen);
/* Once the sandbox has been reaped: pasta goes too. */
void rj__net_release(struct rj__sbx *s);

/* result.c */
void rj__result_compute(rj_executor *ex, struct rj__sbx *s);
void rj__result_setup_error(struct rj__sbx *s, int stage, int err, const char *msg);

#endif
