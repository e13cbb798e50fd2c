/* The io_uring loop: one ring per executor, no thread per sandbox. Per
 * sandbox the ring holds a waitid (or a poll) on its pidfd, a read per
 * output pipe (multishot, with buffers provided to the kernel), stdin
 * writes, a wall deadline and a CPU timer re-armed from measured usage.
 *
 * The life of a slot. rj_spawn takes a slot (slots.c), whose index and
 * generation make the sandbox's id and the user_data of its ring
 * operations; spawn.c clones the child; start() puts the child's pipes in
 * the ring's fixed file table and arms the operations. handle() finds the
 * slot again from each completion's user_data. Once the child is reaped
 * and both pipes are at end of file, try_finish() gives back what the
 * sandbox held and sends the final event. The slot goes back on the free
 * list (maybe_free) once that event is sent and no operation that points
 * into the slot is in flight: s->pending counts the waits, reads, writes
 * and worker notes; timers are not counted, as the kernel copies their
 * time at submission. Its generation then moves on, so a late completion
 * (a cancelled timer's, say) or a stale id finds nothing. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor.h"

#define BGID 0

struct io_uring_sqe *rj__sqe(rj_executor *ex)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ex->ring);
	if (!sqe) {
		io_uring_submit(&ex->ring);
		sqe = io_uring_get_sqe(&ex->ring);
	}
	return sqe;
}

/* ---- arming ring operations -------------------------------------------- */

static int arm_read(rj_executor *ex, struct rj__sbx *s, enum rj__op op)
{
	struct rj__stream *st = op == RJ__OP_OUT ? &s->out : &s->err;
	struct io_uring_sqe *sqe = rj__sqe(ex);
	if (!sqe)
		return -EBUSY;
	if (ex->fallback)
		io_uring_prep_read(sqe, st->fd, NULL, RJ__BUF_SIZE, 0);
	else
		io_uring_prep_rw(RJ__OP_READ_MULTISHOT, sqe, st->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | (s->fixed ? IOSQE_FIXED_FILE : 0);
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, rj__ud(s, op));
	st->armed = true;
	s->pending++;
	return 0;
}

static int arm_wait(rj_executor *ex, struct rj__sbx *s)
{
	struct io_uring_sqe *sqe = rj__sqe(ex);
	if (!sqe)
		return -EBUSY;
	if (ex->fallback) {
		io_uring_prep_poll_add(sqe, s->pidfd, POLLIN);
		if (s->fixed)
			sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		/* WNOWAIT: the ring tells us it ended; the reap itself is a
		 * waitid system call, which also returns the rusage. By pid:
		 * our child, never reaped by anyone else (no exit signal), so
		 * the pid stays ours until we reap it. */
		io_uring_prep_rw(RJ__OP_WAITID, sqe, s->pid, NULL, P_PID, (uint64_t)(uintptr_t)&s->si);
		sqe->file_index = WEXITED | WNOWAIT | __WALL;
	}
	io_uring_sqe_set_data64(sqe, rj__ud(s, RJ__OP_WAIT));
	s->pending++;
	return 0;
}

static int arm_timeout(rj_executor *ex, struct rj__sbx *s, enum rj__op op, uint64_t at_ns)
{
	struct __kernel_timespec *ts = op == RJ__OP_WALL ? &s->wall_ts : &s->cpu_ts;
	ts->tv_sec = (long long)(at_ns / 1000000000ull);
	ts->tv_nsec = (long long)(at_ns % 1000000000ull);
	struct io_uring_sqe *sqe = rj__sqe(ex);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_timeout(sqe, ts, 0, IORING_TIMEOUT_ABS);
	io_uring_sqe_set_data64(sqe, rj__ud(s, op));
	if (op == RJ__OP_WALL)
		s->wall_armed = true;
	else
		s->cpu_armed = true;
	return 0;
}

/* The workspace worker's next note ('D' over the disk bound, 'H' handed
 * back), if the sandbox has a workdir. */
static void arm_ws(rj_executor *ex, struct rj__sbx *s)
{
	int fd = rj__ws_fd(s);
	struct io_uring_sqe *sqe = fd >= 0 ? rj__sqe(ex) : NULL;
	if (!sqe)
		return;
	io_uring_prep_read(sqe, fd, &s->ws_note, 1, 0);
	io_uring_sqe_set_data64(sqe, rj__ud(s, RJ__OP_WS));
	s->pending++;
}

static void cancel_timeout(rj_executor *ex, struct rj__sbx *s, enum rj__op op)
{
	struct io_uring_sqe *sqe = rj__sqe(ex);
	if (!sqe)
		return;
	io_uring_prep_timeout_remove(sqe, rj__ud(s, op), 0);
	io_uring_sqe_set_data64(sqe, RJ__OP_IGNORE);
}

static void arm_write(rj_executor *ex, struct rj__sbx *s)
{
	const char *data;
	size_t len;
	if (s->in_busy || s->in_fd < 0)
		return;
	if (s->in_off < s->in_len) {
		data = s->in_data + s->in_off;
		len = s->in_len - s->in_off;
	} else if (s->q_off < s->q_len) {
		data = s->queue + s->q_off;
		len = s->q_len - s->q_off;
	} else {
		if (s->in_close)
			rj__slot_close_stdin(s);
		return;
	}
	struct io_uring_sqe *sqe = rj__sqe(ex);
	if (!sqe)
		return;
	/* stdin's write end is never a fixed file: see rj__slot_fix_files. */
	io_uring_prep_write(sqe, s->in_fd, data, (unsigned)(len > (1u << 30) ? 1u << 30 : len), 0);
	io_uring_sqe_set_data64(sqe, rj__ud(s, RJ__OP_IN));
	s->in_busy = true;
	s->pending++;
}

/* ---- killing ------------------------------------------------------------ */

static void kill_sandbox(struct rj__sbx *s, enum rj__kill why)
{
	if (s->kill == RJ__KILL_NONE)
		s->kill = why;
	/* Not reaped yet, so the pid is still this sandbox's init. */
	if (s->pid > 0 && !s->exited)
		kill(s->pid, SIGKILL);
}

/* ---- finishing a sandbox ------------------------------------------------- */

static void maybe_free(rj_executor *ex, struct rj__sbx *s)
{
	if (s->in_use && s->final_sent && s->pending == 0)
		rj__slot_free(ex, s);
}

static void dispatch(rj_executor *ex, struct rj_event *ev)
{
	ex->in_callback++;
	ex->cb(ex, ev, ex->ctx);
	ex->in_callback--;
}

static void try_finish(rj_executor *ex, struct rj__sbx *s)
{
	if (s->final_sent || !s->exited || (s->out.fd >= 0 && !s->out.eof) ||
	    (s->err.fd >= 0 && !s->err.eof))
		return;
	/* A workdir is handed back off the loop first (wsworker.c). */
	if (rj__ws_pending(ex, s))
		return;
	s->end_ns = s->end_ns ? s->end_ns : rj__now_ns();
	if (s->wall_armed)
		cancel_timeout(ex, s, RJ__OP_WALL);
	if (s->cpu_armed)
		cancel_timeout(ex, s, RJ__OP_CPU);
	rj__result_compute(ex, s);
	struct rj_event ev = {
		.type = (s->res.status == RJ_STATUS_TIME_LIMIT ||
			 s->res.status == RJ_STATUS_WALL_TIME_LIMIT) ? RJ_EVENT_TIMEOUT : RJ_EVENT_COMPLETED,
		.id = s->id, .user_data = s->user_data, .result = &s->res,
	};
	s->final_sent = true;
	ex->active--;
	ex->finals++;
	/* Everything but the captures goes back before the event, so that
	 * the callback may reuse the workdir or the slot's resources; the
	 * captures are borrowed by the callback and freed after it. */
	char *oc = s->out.cap, *ec = s->err.cap;
	s->out.cap = s->err.cap = NULL;
	rj__sandbox_release(ex, s);
	dispatch(ex, &ev);
	free(oc);
	free(ec);
	maybe_free(ex, s);
}

/* ---- completions ---------------------------------------------------------- */

static void reap(struct rj__sbx *s)
{
	siginfo_t si;
	memset(&s->ru, 0, sizeof s->ru);
	long r = syscall(SYS_waitid, P_PID, s->pid, &si, WEXITED | __WALL, &s->ru);
	s->reaped_ok = r == 0;
	s->si = si;
	s->exited = true;
	s->end_ns = rj__now_ns();
}

static void on_wait(struct rj__sbx *s, int res)
{
	if (s->deferred) {
		s->exited = true;
		return;
	}
	if (res < 0 && res != -ECANCELED && !s->exited) {
		/* The ring could not wait (an old kernel, say): block instead
		 * of losing the sandbox. */
		reap(s);
		return;
	}
	if (!s->exited)
		reap(s);
}

static void deliver(rj_executor *ex, struct rj__sbx *s, enum rj__op op, const char *data, size_t len)
{
	uint64_t limit = s->pol->limits[RJ_LIMIT_OUTPUT];
	if (s->truncated)
		return;
	if (s->delivered + len > limit) {
		len = (size_t)(limit - s->delivered);
		s->truncated = true;
		kill_sandbox(s, RJ__KILL_OUTPUT);
	}
	if (len == 0)
		return;
	s->delivered += len;
	struct rj__stream *st = op == RJ__OP_OUT ? &s->out : &s->err;
	if (op == RJ__OP_OUT)
		s->res.stdout_bytes += len;
	else
		s->res.stderr_bytes += len;
	size_t room = s->pol->in.capture > st->cap_len ? s->pol->in.capture - st->cap_len : 0;
	size_t keep = len < room ? len : room;
	if (keep) {
		if (st->cap_len + keep > st->cap_size) {
			size_t want = st->cap_size ? st->cap_size : 4096;
			while (want < st->cap_len + keep)
				want *= 2;
			char *n = realloc(st->cap, want);
			if (n) {
				st->cap = n;
				st->cap_size = want;
			}
		}
		if (st->cap_len + keep <= st->cap_size) {
			memcpy(st->cap + st->cap_len, data, keep);
			st->cap_len += keep;
		}
	}
	struct rj_event ev = {
		.type = op == RJ__OP_OUT ? RJ_EVENT_STDOUT : RJ_EVENT_STDERR,
		.id = s->id, .user_data = s->user_data, .data = data, .len = len,
	};
	dispatch(ex, &ev);
}

static void recycle(rj_executor *ex, unsigned bid)
{
	io_uring_buf_ring_add(ex->br, ex->bufs + (size_t)bid * RJ__BUF_SIZE, RJ__BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(RJ__BUF_COUNT), 0);
	io_uring_buf_ring_advance(ex->br, 1);
}

static void on_read(rj_executor *ex, struct rj__sbx *s, enum rj__op op, struct io_uring_cqe *cqe)
{
	struct rj__stream *st = op == RJ__OP_OUT ? &s->out : &s->err;
	bool more = cqe->flags & IORING_CQE_F_MORE;
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		if (cqe->res > 0)
			deliver(ex, s, op, ex->bufs + (size_t)bid * RJ__BUF_SIZE, (size_t)cqe->res);
		recycle(ex, bid);
	}
	/* A read that emptied a full pipe: this program writes a lot. A
	 * bigger pipe means fewer wakeups and completions per byte; only the
	 * chatty ones pay for it, as pipe pages count against the user. */
	if (cqe->res >= 64 * 1024 && !st->grown && st->fd >= 0 && !s->fixed) {
		st->grown = true;
		fcntl(st->fd, F_SETPIPE_SZ, RJ__BIG_PIPE);
	}
	if (more)
		return;
	s->pending--;
	st->armed = false;
	if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -EINTR &&
			      cqe->res != -EAGAIN && cqe->res != -ECANCELED)) {
		st->eof = true;
		/* A fixed file is replaced when the slot is next used. */
		if (!s->fixed)
			close(st->fd);
		st->fd = -1;
		return;
	}
	if (cqe->res == -ENOBUFS) {
		/* Every buffer is in use: arm again once this batch has given
		 * them back. */
		if (ex->nrearm == ex->rearm_cap) {
			uint32_t cap = ex->rearm_cap ? ex->rearm_cap * 2 : 64;
			uint32_t *n = realloc(ex->rearm, cap * sizeof *n);
			if (!n) {
				arm_read(ex, s, op);
				return;
			}
			ex->rearm = n;
			ex->rearm_cap = cap;
		}
		st->rearm = true;
		ex->rearm[ex->nrearm++] = s->index;
		return;
	}
	arm_read(ex, s, op);
}

static void on_write(rj_executor *ex, struct rj__sbx *s, int res)
{
	s->in_busy = false;
	if (res < 0) {
		if (res == -EAGAIN || res == -EINTR) {
			arm_write(ex, s);
			return;
		}
		/* The reader is gone (EPIPE): nothing more will be read. */
		rj__slot_close_stdin(s);
		return;
	}
	if (s->in_off < s->in_len)
		s->in_off += (size_t)res;
	else
		s->q_off += (size_t)res;
	arm_write(ex, s);
}

static void on_cpu_timer(rj_executor *ex, struct rj__sbx *s)
{
	uint64_t used, limit = s->pol->limits[RJ_LIMIT_TIME] * 1000;
	if (!s->cg || rj__cg_cpu_ns(s->cg, &used) < 0)
		return;
	if (used >= limit) {
		kill_sandbox(s, RJ__KILL_CPU);
		return;
	}
	/* CPU time can accrue at most ncpu times faster than wall time, so
	 * this is the earliest moment the limit can be reached. */
	uint64_t wait = (limit - used) / ex->ncpu;
	if (wait < 200000)
		wait = 200000;
	arm_timeout(ex, s, RJ__OP_CPU, rj__now_ns() + wait);
}

static void handle(rj_executor *ex, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	enum rj__op op = rj__ud_op(ud);
	if (op == RJ__OP_IGNORE)
		return;
	struct rj__sbx *s = rj__ud_slot(ex, ud);
	if (!s) {
		/* A stale completion still holds a provided buffer. */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			recycle(ex, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		return;
	}
	switch (op) {
	case RJ__OP_WAIT:
		s->pending--;
		on_wait(s, cqe->res);
		break;
	case RJ__OP_OUT:
	case RJ__OP_ERR:
		on_read(ex, s, op, cqe);
		break;
	case RJ__OP_IN:
		s->pending--;
		on_write(ex, s, cqe->res);
		break;
	case RJ__OP_WALL:
		/* A timer may fire after the sandbox ended, before its removal
		 * reached the ring: the sandbox is gone, nothing to do. */
		s->wall_armed = false;
		if (cqe->res == -ETIME && !s->exited && !s->final_sent)
			kill_sandbox(s, RJ__KILL_WALL);
		break;
	case RJ__OP_CPU:
		s->cpu_armed = false;
		if (cqe->res == -ETIME && !s->exited && !s->final_sent)
			on_cpu_timer(ex, s);
		break;
	case RJ__OP_WS:
		s->pending--;
		if (cqe->res == 1 && s->ws_note == 'H') {
			s->ws_handed = true;
			break;
		}
		if (cqe->res == 1 && s->ws_note == 'D' && !s->exited && !s->final_sent)
			kill_sandbox(s, RJ__KILL_DISK);
		if (cqe->res == 1 || cqe->res == -EINTR || cqe->res == -EAGAIN)
			arm_ws(ex, s);
		break;
	default:
		break;
	}
	if (s->in_use) {
		try_finish(ex, s);
		maybe_free(ex, s);
	}
}

static void rearm_all(rj_executor *ex)
{
	uint32_t n = ex->nrearm;
	ex->nrearm = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct rj__sbx *s = ex->slots[ex->rearm[i]];
		if (!s->in_use)
			continue;
		if (s->out.rearm && !s->out.eof) {
			s->out.rearm = false;
			arm_read(ex, s, RJ__OP_OUT);
		}
		if (s->err.rearm && !s->err.eof) {
			s->err.rearm = false;
			arm_read(ex, s, RJ__OP_ERR);
		}
	}
}

int rj_executor_run(rj_executor *ex, int timeout_ms)
{
	if (!ex)
		return -EINVAL;
	if (ex->in_callback)
		return -EBUSY;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { timeout_ms / 1000, (long long)(timeout_ms % 1000) * 1000000 };
	int r;
	if (timeout_ms == 0) {
		io_uring_submit(&ex->ring);
		r = io_uring_peek_cqe(&ex->ring, &cqe);
	} else {
		r = io_uring_submit_and_wait_timeout(&ex->ring, &cqe, 1, timeout_ms < 0 ? NULL : &ts, NULL);
	}
	if (r < 0 && r != -ETIME && r != -EAGAIN && r != -EINTR)
		return r;
	ex->finals = 0;
	for (;;) {
		unsigned head, n = 0;
		io_uring_for_each_cqe(&ex->ring, head, cqe) {
			handle(ex, cqe);
			n++;
		}
		if (!n)
			break;
		io_uring_cq_advance(&ex->ring, n);
		rearm_all(ex);
	}
	io_uring_submit(&ex->ring);
	return ex->finals;
}

/* ---- spawning ------------------------------------------------------------ */

/* A failure found before any child exists still ends as the sandbox's
 * final event, through a NOP on the ring. */
static int defer_failure(rj_executor *ex, struct rj__sbx *s, int stage, int err, const char *msg)
{
	struct io_uring_sqe *sqe = rj__sqe(ex);
	if (!sqe)
		return -EBUSY;
	s->deferred = true;
	rj__result_setup_error(s, stage, err, msg);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, rj__ud(s, RJ__OP_WAIT));
	s->pending++;
	return 0;
}

/* The child (spawn.c), then its fds into the ring's fixed file table and
 * every operation that watches it on the ring. */
static int start(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen)
{
	const struct rj__policy *pol = s->pol;
	int r;
	if ((r = rj__spawn_child(ex, s, err, errlen)) < 0)
		return r;
	rj__slot_fix_files(ex, s);
	arm_wait(ex, s);
	arm_read(ex, s, RJ__OP_OUT);
	arm_read(ex, s, RJ__OP_ERR);
	arm_write(ex, s);
	arm_ws(ex, s);
	arm_timeout(ex, s, RJ__OP_WALL, s->start_ns + pol->limits[RJ_LIMIT_WALL_TIME] * 1000);
	if (s->cg && ex->cg.cpu)
		arm_timeout(ex, s, RJ__OP_CPU, s->start_ns + pol->limits[RJ_LIMIT_TIME] * 1000 / ex->ncpu);
	return 0;
}

int rj_spawn(rj_executor *ex, const rj_plan *plan, void *user_data, uint64_t *id)
{
	if (!ex || !plan)
		return -EINVAL;
	ex->err[0] = '\0';
	struct rj__policy *pol = rj__plan_policy(plan, ex->err, sizeof ex->err);
	if (!pol) {
		if (!ex->err[0])
			rj__fmt(ex->err, sizeof ex->err, "cannot compile the plan: %s", strerror(errno));
		return -errno;
	}
	struct rj__sbx *s = rj__slot_alloc(ex);
	if (!s) {
		rj__policy_put(pol);
		rj__fmt(ex->err, sizeof ex->err, "too many sandboxes at once (at most %u)", RJ__MAX_SLOTS);
		return -EAGAIN;
	}
	s->pol = pol;
	s->user_data = user_data;
	char msg[RJ__ERRLEN] = "";
	int r = start(ex, s, msg, sizeof msg);
	if (r == -EOPNOTSUPP || r == -EAGAIN || r == -EBUSY) {
		/* The host cannot give what the plan requires: a setup_error
		 * result, as CLI.md says, rather than a failed call. */
		r = defer_failure(ex, s, RJ_STAGE_HOST, -r, msg);
	}
	if (r < 0) {
		rj__fmt(ex->err, sizeof ex->err, "%s", msg[0] ? msg : strerror(-r));
		rj__sandbox_release(ex, s);
		rj__slot_free(ex, s);
		return r;
	}
	ex->active++;
	if (id)
		*id = s->id;
	return 0;
}

int rj_kill(rj_executor *ex, uint64_t id)
{
	struct rj__sbx *s = ex ? rj__slot_find(ex, id) : NULL;
	if (!s)
		return -ESRCH;
	kill_sandbox(s, RJ__KILL_USER);
	return 0;
}

int rj_write_stdin(rj_executor *ex, uint64_t id, const void *data, size_t len)
{
	struct rj__sbx *s = ex ? rj__slot_find(ex, id) : NULL;
	if (!s)
		return -ESRCH;
	if (s->in_fd < 0 || s->in_close)
		return -EPIPE;
	if (s->q_off == s->q_len)
		s->q_off = s->q_len = 0;
	if (s->q_len + len > s->q_cap) {
		if (s->in_busy && s->q_off < s->q_len)
			return -EAGAIN; /* a write in flight points into the queue */
		size_t cap = s->q_cap ? s->q_cap : 4096;
		while (cap < s->q_len + len)
			cap *= 2;
		char *n = realloc(s->queue, cap);
		if (!n)
			return -ENOMEM;
		s->queue = n;
		s->q_cap = cap;
	}
	memcpy(s->queue + s->q_len, data, len);
	s->q_len += len;
	arm_write(ex, s);
	return 0;
}

int rj_close_stdin(rj_executor *ex, uint64_t id)
{
	struct rj__sbx *s = ex ? rj__slot_find(ex, id) : NULL;
	if (!s)
		return -ESRCH;
	s->in_close = true;
	arm_write(ex, s);
	return 0;
}

unsigned rj_executor_active(const rj_executor *ex)
{
	return ex ? ex->active : 0;
}

int rj_executor_fd(const rj_executor *ex)
{
	return ex ? ex->ring.ring_fd : -EINVAL;
}

const char *rj_executor_error(const rj_executor *ex)
{
	return ex ? ex->err : rj__executor_new_error;
}
