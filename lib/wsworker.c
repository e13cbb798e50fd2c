/* The workspace worker: one thread per executor, started with its first
 * --workdir sandbox, for what would stall the event loop and with it every
 * other sandbox's limits: the disk accounting of a kept workspace while its
 * program runs, and the hand-back after it.
 *
 * The disk bound of a workdir (--disk) is accounting with a kill: the
 * worker walks the workspace and adds up the space taken by every entry
 * whose status changed since the run began (created, written, renamed,
 * linked: ctime), each inode once; past the bound it tells the loop, which
 * kills the sandbox (output_limit). It walks every 10 ms, or, for a large
 * workspace, three times as long as a walk took, and not while it hands
 * back another workspace. A single file is bounded exactly, as --fsize is
 * at most --disk for a workdir.
 *
 * The loop and the worker talk through one pipe per sandbox: the worker
 * writes 'D' (over the disk bound) and 'H' (handed back, the lock closed);
 * the loop reads it through the ring. A job belongs to the loop until it
 * drops it; the worker frees dropped jobs it is not working on. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "executor.h"

#define PERIOD_NS (10ull * 1000000)
#define INODE_SLOTS 4096u

enum job_state { J_WATCH, J_HANDBACK, J_DONE };

struct rj__wsjob {
	struct rj__wsjob *next;
	enum job_state state;
	bool dropped;          /* the loop no longer knows it */
	bool busy;             /* the worker is on it, unlocked */
	bool over;             /* 'D' was sent */
	int dir_fd;            /* the workdir, a description of our own */
	int lock_fd;           /* the locked one, ours for the hand-back */
	int note_fd, read_fd;  /* the pipe to the loop */
	uint64_t limit;        /* bytes the run may take there */
	uid_t owner;           /* the directory's owner */
	struct timespec since; /* what changed from then on counts */
	uint64_t next_ns;
	struct rj__handback hb;
};

struct rj__wsw {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rj__wsjob *jobs;
	bool started;
	bool stop;
};

/* ---- the disk accounting ----------------------------------------------- */

struct tally {
	const struct rj__wsjob *job;
	uint64_t bytes;
	uint64_t *seen;        /* inodes with several links, counted once */
	size_t nseen, cap;
};

static bool changed_since(const struct statx *sx, const struct timespec *t)
{
	return sx->stx_ctime.tv_sec > t->tv_sec ||
	       (sx->stx_ctime.tv_sec == t->tv_sec && sx->stx_ctime.tv_nsec >= (uint32_t)t->tv_nsec);
}

/* An open-addressing set of inode numbers; false if it was there. */
static bool first_sight(struct tally *t, uint64_t ino)
{
	if (t->nseen * 2 >= t->cap) {
		size_t cap = t->cap ? t->cap * 2 : INODE_SLOTS;
		uint64_t *n = calloc(cap, sizeof *n), *old = t->seen;
		if (!n)
			return true;
		t->seen = n;
		t->cap = cap;
		t->nseen = 0;
		for (size_t i = 0; old && i < cap / 2; i++)
			if (old[i])
				first_sight(t, old[i]);
		free(old);
	}
	size_t i = (size_t)(ino * 0x9e3779b97f4a7c15ull) & (t->cap - 1);
	for (; t->seen[i]; i = (i + 1) & (t->cap - 1))
		if (t->seen[i] == ino + 1)
			return false;
	t->seen[i] = ino + 1;
	t->nseen++;
	return true;
}

static int tally_one(void *ctx, int dfd, const char *name, const struct statx *sx)
{
	(void)dfd;
	(void)name;
	struct tally *t = ctx;
	if (!changed_since(sx, &t->job->since))
		return 0;
	if (!S_ISDIR(sx->stx_mode) && sx->stx_nlink > 1 && !first_sight(t, sx->stx_ino))
		return 0;
	t->bytes += sx->stx_blocks * 512;
	return t->bytes > t->job->limit ? 1 : 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void check_disk(struct rj__wsjob *j)
{
	uint64_t t0 = mono_ns();
	struct tally t = { .job = j };
	int r = rj__walk(j->dir_fd, j->owner, tally_one, &t, NULL);
	free(t.seen);
	uint64_t took = mono_ns() - t0;
	if (r == 1 && write(j->note_fd, "D", 1) == 1)
		j->over = true;
	j->next_ns = mono_ns() + (3 * took > PERIOD_NS ? 3 * took : PERIOD_NS);
}

/* ---- the hand-back -------------------------------------------------------- */

static void hand_back(struct rj__wsjob *j)
{
	struct rj__handback_stats st;
	rj__workdir_hand_back(j->lock_fd, &j->hb, &st);
	/* The lock goes before the note: the final event, and a next run in
	 * the same workdir, come after it. */
	close(j->dir_fd);
	close(j->lock_fd);
	j->dir_fd = j->lock_fd = -1;
	if (write(j->note_fd, "H", 1) != 1) {
		/* The loop dropped us (shutdown): nobody waits for the note. */
	}
}

/* ---- the thread ----------------------------------------------------------- */

static void job_free(struct rj__wsjob *j)
{
	int fds[] = { j->dir_fd, j->lock_fd, j->note_fd, j->read_fd };
	for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(j);
}

/* Under the lock: free what the loop dropped and nobody works on, and
 * pick the next piece of work (a hand-back first), or when to look again. */
static struct rj__wsjob *next_work(struct rj__wsw *w, uint64_t *wake)
{
	struct rj__wsjob *work = NULL, **pp = &w->jobs;
	uint64_t now = mono_ns();
	*wake = UINT64_MAX;
	while (*pp) {
		struct rj__wsjob *j = *pp;
		if (j->dropped && !j->busy && j->state != J_HANDBACK) {
			*pp = j->next;
			job_free(j);
			continue;
		}
		pp = &j->next;
		if (j->state == J_HANDBACK && (!work || work->state != J_HANDBACK))
			work = j;
		else if (!work && j->state == J_WATCH && !j->dropped && !j->over && j->limit) {
			if (j->next_ns <= now)
				work = j;
			else if (j->next_ns < *wake)
				*wake = j->next_ns;
		}
	}
	return work;
}

static void wait_until(struct rj__wsw *w, uint64_t wake)
{
	if (wake == UINT64_MAX) {
		pthread_cond_wait(&w->cond, &w->lock);
		return;
	}
	struct timespec ts = { (time_t)(wake / 1000000000ull), (long)(wake % 1000000000ull) };
	pthread_cond_timedwait(&w->cond, &w->lock, &ts);
}

static void *worker_main(void *arg)
{
	struct rj__wsw *w = arg;
	pthread_mutex_lock(&w->lock);
	w->started = true;
	pthread_cond_broadcast(&w->cond);
	for (;;) {
		uint64_t wake;
		struct rj__wsjob *j = next_work(w, &wake);
		if (j) {
			enum job_state what = j->state;
			j->busy = true;
			pthread_mutex_unlock(&w->lock);
			if (what == J_HANDBACK)
				hand_back(j);
			else
				check_disk(j);
			pthread_mutex_lock(&w->lock);
			j->busy = false;
			if (what == J_HANDBACK)
				j->state = J_DONE;
			continue;
		}
		if (w->stop)
			break;
		wait_until(w, wake);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int worker_new(struct rj__wsw **out)
{
	struct rj__wsw *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->lock, NULL);
	/* No signal of the embedding program is ever handled on our thread
	 * (and a note to a closed pipe gives EPIPE, not SIGPIPE). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -r;
	}
	/* Until the thread runs, glibc marks it as being created, and a
	 * child cloned then that changes ids with glibc's set*id would wait
	 * for it forever: no clone before it runs. */
	pthread_mutex_lock(&w->lock);
	while (!w->started)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	*out = w;
	return 0;
}

/* Hand-backs still queued are done first: a caller that frees the
 * executor finds its workdirs handed back. */
void rj__wsw_free(struct rj__wsw *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	while (w->jobs) {
		struct rj__wsjob *j = w->jobs;
		w->jobs = j->next;
		job_free(j);
	}
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* ---- what the loop calls ---------------------------------------------------- */

int rj__ws_watch(rj_executor *ex, struct rj__sbx *s, char *err, size_t errlen)
{
	int r = ex->wsw ? 0 : worker_new(&ex->wsw);
	struct rj__wsjob *j = r == 0 ? calloc(1, sizeof *j) : NULL;
	if (!j) {
		rj__fmt(err, errlen, "cannot start the workspace worker: %s", strerror(r ? -r : ENOMEM));
		return r ? r : -ENOMEM;
	}
	int p[2] = { -1, -1 };
	j->lock_fd = -1;
	/* Our own open file description: the lock is the sandbox's alone. */
	j->dir_fd = openat(s->wd_lock, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dir_fd < 0 || pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		if (j->dir_fd >= 0)
			close(j->dir_fd);
		free(j);
		rj__fmt(err, errlen, "cannot set up the workdir's accounting: %s", strerror(-r));
		return r;
	}
	j->read_fd = p[0];
	j->note_fd = p[1];
	j->limit = s->pol->limits[RJ_LIMIT_DISK];
	j->owner = s->wd_uid;
	/* Coarse clocks stamp files up to a tick early: start one before. */
	clock_gettime(CLOCK_REALTIME_COARSE, &j->since);
	j->since.tv_sec -= j->since.tv_nsec < 20000000;
	j->since.tv_nsec = (j->since.tv_nsec + 1000000000 - 20000000) % 1000000000;
	j->next_ns = mono_ns() + PERIOD_NS;
	pthread_mutex_lock(&ex->wsw->lock);
	j->next = ex->wsw->jobs;
	ex->wsw->jobs = j;
	pthread_cond_signal(&ex->wsw->cond);
	pthread_mutex_unlock(&ex->wsw->lock);
	s->ws_job = j;
	return 0;
}

int rj__ws_fd(const struct rj__sbx *s)
{
	return s->ws_job ? s->ws_job->read_fd : -1;
}

bool rj__ws_pending(rj_executor *ex, struct rj__sbx *s)
{
	struct rj__wsjob *j = s->ws_job;
	if (!j || s->ws_handed)
		return false;
	pthread_mutex_lock(&ex->wsw->lock);
	if (j->state == J_WATCH) {
		j->hb = (struct rj__handback){
			.box_uid = ex->root ? s->host_uid : (uid_t)-1,
			.uid = s->wd_uid, .gid = s->wd_gid, .chowned_root = s->wd_prepared,
		};
		j->lock_fd = s->wd_lock;
		s->wd_lock = -1;
		j->state = J_HANDBACK;
		pthread_cond_signal(&ex->wsw->cond);
	}
	pthread_mutex_unlock(&ex->wsw->lock);
	return true;
}

void rj__ws_drop(rj_executor *ex, struct rj__sbx *s)
{
	struct rj__wsjob *j = s->ws_job;
	if (!j)
		return;
	s->ws_job = NULL;
	pthread_mutex_lock(&ex->wsw->lock);
	j->dropped = true;
	pthread_cond_signal(&ex->wsw->cond);
	pthread_mutex_unlock(&ex->wsw->lock);
}
