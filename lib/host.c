/* Creating and freeing an executor: probe what the host offers once (ring
 * opcodes, Landlock ABI, cgroups, root or rootless), and prepare what every
 * sandbox uses (the pool of network namespaces, the id lock, the status
 * page, the output buffers). Also rj_run, the blocking convenience. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "executor.h"

_Thread_local char rj__executor_new_error[RJ__ERRLEN];


static bool want_fallback(const struct rj_executor_opts *o, struct io_uring *ring)
{
#ifdef RJ_FORCE_FALLBACK_BUILD
	(void)o;
	(void)ring;
	return true;
#else
	const char *env = getenv("RJ_FORCE_FALLBACK");
	if ((o->flags & RJ_EXECUTOR_FALLBACK) || (env && env[0] == '1'))
		return true;
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
	bool ok = probe && io_uring_opcode_supported(probe, RJ__OP_WAITID) &&
		  io_uring_opcode_supported(probe, RJ__OP_READ_MULTISHOT);
	if (probe)
		io_uring_free_probe(probe);
	return !ok;
#endif
}

static void raise_nofile(void)
{
	/* Up to 4 fds per sandbox in flight: unprivileged callers often start
	 * at a soft limit of 1,024. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int setup_buffers(rj_executor *ex)
{
	size_t ring_bytes = RJ__BUF_COUNT * sizeof(struct io_uring_buf);
	ex->br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ex->br == MAP_FAILED) {
		ex->br = NULL;
		return -errno;
	}
	ex->bufs = mmap(NULL, (size_t)RJ__BUF_COUNT * RJ__BUF_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ex->bufs == MAP_FAILED) {
		ex->bufs = NULL;
		return -errno;
	}
	/* Sandboxes are cloned from us: keep the output buffers out of the
	 * page tables each clone copies. */
	madvise(ex->bufs, (size_t)RJ__BUF_COUNT * RJ__BUF_SIZE, MADV_DONTFORK);
	struct io_uring_buf_reg reg = {
		.ring_addr = (uint64_t)(uintptr_t)ex->br, .ring_entries = RJ__BUF_COUNT, .bgid = 0,
	};
	int r = io_uring_register_buf_ring(&ex->ring, &reg, 0);
	if (r < 0)
		return r;
	io_uring_buf_ring_init(ex->br);
	for (unsigned i = 0; i < RJ__BUF_COUNT; i++)
		io_uring_buf_ring_add(ex->br, ex->bufs + (size_t)i * RJ__BUF_SIZE, RJ__BUF_SIZE,
				      (unsigned short)i, io_uring_buf_ring_mask(RJ__BUF_COUNT), (int)i);
	io_uring_buf_ring_advance(ex->br, RJ__BUF_COUNT);
	return 0;
}

/* Where our argv lives (fields 48 and 49 of /proc/self/stat), so each
 * sandbox's init can blank its copy of it. */
static void find_argv(rj_executor *ex)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	if (!f)
		return;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	int field = 2;
	unsigned long long start = 0, end = 0;
	for (char *tok = p ? strtok(p + 1, " ") : NULL; tok; tok = strtok(NULL, " ")) {
		if (++field == 48)
			start = strtoull(tok, NULL, 10);
		else if (field == 49)
			end = strtoull(tok, NULL, 10);
	}
	ex->arg_start = (uintptr_t)start;
	ex->arg_end = (uintptr_t)end;
}

/* Root mode: build the read-only root once, in a mount namespace of its
 * own, so each sandbox copies that small namespace instead of building a
 * root and copying (then detaching) the host's whole mount table. Any
 * failure leaves the per-run path in place (RJ_NO_PREPARED=1 forces it). */
static void setup_prepared_root(rj_executor *ex)
{
	struct rj__mop *ops;
	size_t n;
	int p[2];
	const char *off = getenv("RJ_NO_PREPARED");
	if (!ex->root || (off && off[0] == '1') || rj__host_mops(&ops, &n) < 0)
		return;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(ops);
		return;
	}
	/* Signals blocked across the fork, as for every sandbox (spawn.c):
	 * no handler of the embedding program may run in the builder. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	/* A raw clone, not fork(): the embedding program's pthread_atfork
	 * handlers must not run for our helper. */
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
	if (pid == 0)
		rj__root_builder(ops, n, ex->root_dir, p[1]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(p[1]);
	unsigned char b = 1;
	if (pid > 0 && read(p[0], &b, 1) == 1 && b == 0) {
		char path[64];
		rj__fmt(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
		ex->mnt0_fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	close(p[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	free(ops);
}

static int setup_host(rj_executor *ex, const struct rj_executor_opts *o)
{
	int r;
	find_argv(ex);
	ex->root = rj__caps_is_root();
	ex->landlock_abi = rj__landlock_abi();
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		n = CPU_COUNT(&set);
	ex->ncpu = n > 0 ? (unsigned)n : 1;
	if ((r = rj__cgroups_new(&ex->cgs, &ex->cg)) < 0)
		return r;
	if (ex->root) {
		uint32_t base = o->uid_base ? o->uid_base : RJ_DEFAULT_UID_BASE;
		uint32_t count = o->uid_count ? o->uid_count : RJ_DEFAULT_UID_COUNT;
		if ((r = rj__ids_new(&ex->ids, base, count, ex->err, sizeof ex->err)) < 0)
			return r;
	}
	if ((r = rj__net_new(ex)) < 0)
		return r;
	if ((r = rj__root_dir_make(ex->root_dir, sizeof ex->root_dir)) < 0) {
		rj__fmt(ex->err, sizeof ex->err, "cannot make the sandbox root's mount point in %s: %s",
			getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", strerror(-r));
		ex->root_dir[0] = '\0';
		return r;
	}
	setup_prepared_root(ex);
	return 0;
}

int rj_executor_new(rj_executor **out, const struct rj_executor_opts *o)
{
	if (!out || !o || !o->on_event)
		return -EINVAL;
	rj_executor *ex = calloc(1, sizeof *ex);
	if (!ex)
		return -ENOMEM;
	ex->free_head = -1;
	ex->net_orig_fd = ex->mnt0_fd = -1;
	ex->lifeline[0] = ex->lifeline[1] = -1;
	ex->cb = o->on_event;
	ex->ctx = o->ctx;
	raise_nofile();
	/* A sandbox's stdin may close while we write to it: that must be
	 * EPIPE, not a signal that kills the caller. */
	struct sigaction old;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	unsigned entries = o->ring_entries ? o->ring_entries : 256;
	struct io_uring_params p = { .flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN };
	int r = io_uring_queue_init_params(entries, &ex->ring, &p);
	if (r < 0) {
		memset(&p, 0, sizeof p);
		r = io_uring_queue_init_params(entries, &ex->ring, &p);
	}
	if (r < 0) {
		free(ex);
		return r;
	}
	/* Sandboxes are cloned from us: none may see the ring's memory (a
	 * compromised init could forge completions in it). */
	io_uring_ring_dontfork(&ex->ring);
	ex->fallback = want_fallback(o, &ex->ring);
	const char *tr = getenv("RJ_TRACE");
	ex->trace = tr && tr[0] == '1';
	ex->shm = mmap(NULL, RJ__MAX_SLOTS * sizeof(struct rj__shm), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ex->shm == MAP_FAILED) {
		ex->shm = NULL;
		r = -errno;
	}
	if (r == 0 && (r = rj__lifeline_open(ex)) < 0)
		rj__fmt(ex->err, sizeof ex->err, "cannot make the pipe that ties sandboxes to this process: %s", strerror(-r));
	if (r == 0 && (r = setup_buffers(ex)) < 0)
		rj__fmt(ex->err, sizeof ex->err, "cannot register output buffers with io_uring (kernel 5.19 or later needed): %s", strerror(-r));
	if (r == 0)
		r = setup_host(ex, o);
	if (r == 0)
		rj__slots_setup_fixed(ex);
	if (r < 0) {
		/* No executor to ask: rj_executor_error(NULL) tells why. */
		rj__fmt(rj__executor_new_error, sizeof rj__executor_new_error, "%s",
			ex->err[0] ? ex->err : strerror(-r));
		rj_executor_free(ex);
		return r;
	}
	*out = ex;
	return 0;
}

/* Kill and reap every sandbox still running, without events. */
static void shutdown_all(rj_executor *ex)
{
	for (uint32_t i = 0; i < ex->nslots; i++) {
		struct rj__sbx *s = ex->slots[i];
		if (!s->in_use || s->final_sent)
			continue;
		if (s->pid > 0 && !s->exited && !s->deferred) {
			kill(s->pid, SIGKILL);
			siginfo_t si;
			while (syscall(SYS_waitid, P_PID, s->pid, &si, WEXITED | __WALL, NULL) < 0 &&
			       errno == EINTR)
				;
		}
		rj__sandbox_release(ex, s);
	}
}

int rj_executor_free(rj_executor *ex)
{
	if (!ex)
		return 0;
	if (ex->in_callback)
		return -EBUSY;
	shutdown_all(ex);
	/* Hand-backs in flight finish: the workdirs are the caller's again. */
	rj__wsw_free(ex->wsw);
	/* The ring goes first: it may still point into slots and buffers. */
	if (ex->ring.ring_fd > 0)
		io_uring_queue_exit(&ex->ring);
	rj__slots_free(ex);
	free(ex->rearm);
	if (ex->cgs)
		rj__cgroups_free(ex->cgs);
	rj__ids_free(ex->ids);
	rj__net_free(ex);
	if (ex->mnt0_fd >= 0)
		close(ex->mnt0_fd);
	rj__lifeline_close(ex);
	if (ex->root_dir[0])
		rmdir(ex->root_dir);
	if (ex->shm)
		munmap(ex->shm, RJ__MAX_SLOTS * sizeof(struct rj__shm));
	if (ex->br)
		munmap(ex->br, RJ__BUF_COUNT * sizeof(struct io_uring_buf));
	if (ex->bufs)
		munmap(ex->bufs, (size_t)RJ__BUF_COUNT * RJ__BUF_SIZE);
	free(ex);
	return 0;
}

/* ---- rj_run --------------------------------------------------------------- */

struct run_ctx {
	struct rj_result *res;
	bool done;
};

static _Thread_local char *run_out, *run_err;

static void run_cb(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	struct run_ctx *c = ctx;
	(void)ex;
	if (ev->type != RJ_EVENT_COMPLETED && ev->type != RJ_EVENT_TIMEOUT)
		return;
	*c->res = *ev->result;
	free(run_out);
	free(run_err);
	run_out = run_err = NULL;
	/* Keep the captured output past the callback, until the next rj_run. */
	if (ev->result->stdout_len && (run_out = malloc(ev->result->stdout_len)))
		memcpy(run_out, ev->result->stdout_data, ev->result->stdout_len);
	if (ev->result->stderr_len && (run_err = malloc(ev->result->stderr_len)))
		memcpy(run_err, ev->result->stderr_data, ev->result->stderr_len);
	c->res->stdout_data = run_out;
	c->res->stdout_len = run_out ? ev->result->stdout_len : 0;
	c->res->stderr_data = run_err;
	c->res->stderr_len = run_err ? ev->result->stderr_len : 0;
	c->done = true;
}

int rj_run(const rj_plan *plan, struct rj_result *result)
{
	if (!plan || !result)
		return -EINVAL;
	struct run_ctx c = { result, false };
	struct rj_executor_opts o = { .on_event = run_cb, .ctx = &c };
	rj_executor *ex;
	int r = rj_executor_new(&ex, &o);
	if (r < 0)
		return r;
	r = rj_spawn(ex, plan, NULL, NULL);
	while (r == 0 && !c.done) {
		int n = rj_executor_run(ex, -1);
		if (n < 0 && n != -EINTR)
			r = n;
	}
	rj_executor_free(ex);
	return r;
}
