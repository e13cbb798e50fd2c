/* Nothing outlives the process (or thread) that started it, and the child
 * side is safe in a process with other threads and its own signal
 * handlers (issue 10, sections 1 and 2). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slowhost.h"
#include "util.h"

/* A sandbox that leaves a daemon behind: the subshell forks a sleeper and
 * exits, so the sleeper is reparented to the sandbox's init, then the
 * program itself sleeps. Two processes run `sleep MARKER`. */
static rj_plan *daemon_plan(const char *marker, double wall_s)
{
	char script[128];
	snprintf(script, sizeof script, "(sleep %s &); exec sleep %s", marker, marker);
	rj_plan *p = PLAN("/bin/sh", "-c", script);
	set_limit(p, RJ_LIMIT_WALL_TIME, (uint64_t)(wall_s * 1e6));
	/* The CPU limit defaults to the wall limit: set it far apart, so that
	 * only the wall limit can end these sleepers (under emulation,
	 * starting a shell and two sleeps used more than 0.5 s of CPU). */
	set_limit(p, RJ_LIMIT_TIME, 60 * 1000000);
	return p;
}

static void marker_make(char *buf, size_t len, int n)
{
	snprintf(buf, len, "7%d.%06d", n, (int)getpid() % 1000000);
}

/* Waits up to ms for exactly want processes running `sleep marker` (for
 * at least want, with at_least). */
static int wait_procs_x(const char *marker, int want, int ms, bool at_least)
{
	const char *argv[] = { "sleep", marker, NULL };
	double end = now_ms() + ms;
	int n;
	while ((n = count_procs(argv)) != want && !(at_least && n > want) && now_ms() < end)
		usleep(20000);
	return n;
}

static int wait_procs(const char *marker, int want, int ms)
{
	return wait_procs_x(marker, want, ms, false);
}

/* init's deadline is the wall limit plus this (RJ__INIT_MARGIN_NS). */
#define INIT_MARGIN_MS 3000

static void ignore_events(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	(void)ev;
	(void)ctx;
}

static rj_executor *bare_executor(void)
{
	struct rj_executor_opts o = { .on_event = ignore_events };
	rj_executor *ex = NULL;
	int r = rj_executor_new(&ex, &o);
	cr_assert_eq(r, 0, "rj_executor_new: %s", rj_executor_error(NULL));
	return ex;
}

/* ---- the process that started it dies -------------------------------- */

static pid_t spawner_process(const char *marker, int sandboxes)
{
	int ready[2];
	cr_assert_eq(pipe(ready), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		rj_executor *ex = bare_executor();
		rj_plan *p = daemon_plan(marker, 30);
		for (int i = 0; i < sandboxes; i++)
			if (rj_spawn(ex, p, NULL, NULL) < 0)
				_exit(3);
		if (write(ready[1], "x", 1) != 1)
			_exit(4);
		for (;;)
			rj_executor_run(ex, 1000);
	}
	close(ready[1]);
	char b;
	cr_assert_eq(read(ready[0], &b, 1), 1, "the spawning process failed");
	close(ready[0]);
	return pid;
}

/* A process with n running sandboxes (two sleepers each), SIGKILLed:
 * returns its pid once reaped; the sandboxes' processes left after a
 * second go to *left. */
static pid_t kill_spawner(const char *marker, int n, int *left)
{
	pid_t pid = spawner_process(marker, n);
	cr_assert_eq(wait_procs(marker, 2 * n, 5000), 2 * n, "the sandboxes never started");
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
	*left = wait_procs(marker, 0, 1000);
	return pid;
}

Test(supervisor, sigkill_to_the_process_ends_every_sandbox_within_a_second)
{
	char marker[32];
	int left;
	marker_make(marker, sizeof marker, 1);
	kill_spawner(marker, 3, &left);
	cr_assert_eq(left, 0, "%d sandbox processes alive 1 s after SIGKILL to their executor's process", left);
}

/* Whatever a killed executor left (its cgroups, its mount point) is
 * reclaimed by the next executor made on the host. */
static int find_named(const char *dir, const char *prefix, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if (!strncmp(e->d_name, prefix, strlen(prefix)))
			n++;
		char sub[4096];
		if (depth > 0 && snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) < (int)sizeof sub)
			n += find_named(sub, prefix, depth - 1);
	}
	closedir(d);
	return n;
}

/* Processes still in the groups below directories named prefix...: the
 * sandboxes' inits may take a moment to finish exiting after their
 * programs are gone, and a busy group is rightly left alone. */
static int procs_below(const char *dir, const char *prefix, int depth, bool inside)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char sub[4096];
		if (e->d_name[0] == '.' || snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) >= (int)sizeof sub)
			continue;
		if (inside && !strcmp(e->d_name, "cgroup.procs")) {
			FILE *f = fopen(sub, "r");
			int c;
			while (f && (c = fgetc(f)) != EOF)
				n += c == '\n';
			if (f)
				fclose(f);
		}
		if (e->d_type == DT_DIR && depth > 0)
			n += procs_below(sub, prefix, depth - 1,
					 inside || !strncmp(e->d_name, prefix, strlen(prefix)));
	}
	closedir(d);
	return n;
}

Test(supervisor, leftovers_of_a_killed_executor_are_reclaimed)
{
	char tmp[] = "/tmp/rj-core-sup-XXXXXX";
	cr_assert_not_null(mkdtemp(tmp));
	cr_assert_eq(chmod(tmp, 0755), 0);
	cr_assert_eq(setenv("TMPDIR", tmp, 1), 0);
	char marker[32];
	int left;
	marker_make(marker, sizeof marker, 2);
	pid_t pid = kill_spawner(marker, 2, &left);
	cr_assert_eq(left, 0);

	char cg[32], root[64];
	snprintf(cg, sizeof cg, "ringjail-%d-", (int)pid);
	snprintf(root, sizeof root, "ringjail-root-%d-", (int)pid);
	double end = now_ms() + 5000;
	while (procs_below("/sys/fs/cgroup", cg, 8, false) && now_ms() < end)
		usleep(20000);
	int groups = find_named("/sys/fs/cgroup", cg, 6);
	cr_assert_eq(find_named(tmp, root, 0), 1, "the killed executor left no mount point to reclaim");

	rj_executor *ex = bare_executor();
	cr_assert_eq(find_named(tmp, root, 0), 0, "the next executor left the dead one's mount point");
	cr_assert_eq(find_named("/sys/fs/cgroup", cg, 6), 0,
		     "the next executor left %d of the dead one's cgroups (there were %d)",
		     find_named("/sys/fs/cgroup", cg, 6), groups);
	rj_executor_free(ex);
	unsetenv("TMPDIR");
	rmdir(tmp);
}

/* ---- the thread that started it exits --------------------------------- */

struct spawn_job {
	const char *marker;
	rj_executor *ex;
	int r1, r2;
};

static enum rj_status statuses[2];

static void keep_statuses(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	(void)ctx;
	if (ev->type == RJ_EVENT_COMPLETED || ev->type == RJ_EVENT_TIMEOUT)
		statuses[(uintptr_t)ev->user_data] = ev->result->status;
}

/* Spawns and leaves at once: no loop turn, no free. */
static void *spawn_and_exit(void *arg)
{
	struct spawn_job *j = arg;
	rj_plan *quick = PLAN("/bin/sleep", "0.3");
	rj_plan *stuck = daemon_plan(j->marker, 0.5);
	j->r1 = rj_spawn(j->ex, quick, (void *)0, NULL);
	j->r2 = rj_spawn(j->ex, stuck, (void *)1, NULL);
	rj_plan_free(quick);
	rj_plan_free(stuck);
	return NULL;
}

/* The sandboxes belong to the executor, not to the thread that spawned
 * them: a thread pool may retire that thread while another runs the loop.
 * Left alone, they still end: init's own deadline is the wall limit + 3 s. */
Test(supervisor, sandboxes_outlive_the_spawning_thread_but_not_their_limits)
{
	char marker[32];
	marker_make(marker, sizeof marker, 3);
	struct rj_executor_opts o = { .on_event = keep_statuses };
	struct spawn_job j = { .marker = marker };
	cr_assert_eq(rj_executor_new(&j.ex, &o), 0);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, spawn_and_exit, &j), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(j.r1, 0);
	cr_assert_eq(j.r2, 0);
	double t0 = now_ms();
	cr_assert_geq(wait_procs_x(marker, 1, 5000, true), 1, "the sandbox never started");
	int left = wait_procs(marker, 0, 500 + INIT_MARGIN_MS + 1500);
	cr_assert_eq(left, 0, "%d processes alive %.0f ms after a 0.5 s wall limit whose loop never ran",
		     left, now_ms() - t0);
	statuses[0] = statuses[1] = RJ_STATUS_SETUP_ERROR;
	double end = now_ms() + 5000;
	while (rj_executor_active(j.ex) && now_ms() < end)
		rj_executor_run(j.ex, 100);
	cr_assert_eq(statuses[0], RJ_STATUS_OK, "the quick one: %s", rj_status_name(statuses[0]));
	cr_assert_eq(statuses[1], RJ_STATUS_WALL_TIME_LIMIT, "the stuck one: %s", rj_status_name(statuses[1]));
	rj_executor_free(j.ex);
}

/* ---- nobody runs the loop ------------------------------------------------ */

static enum rj_status last_status;

static void keep_status(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	(void)ctx;
	if (ev->type == RJ_EVENT_COMPLETED || ev->type == RJ_EVENT_TIMEOUT)
		last_status = ev->result->status;
}

Test(supervisor, init_ends_the_sandbox_when_no_loop_enforces_the_wall_limit)
{
	char marker[32];
	marker_make(marker, sizeof marker, 4);
	struct rj_executor_opts o = { .on_event = keep_status };
	rj_executor *ex = NULL;
	cr_assert_eq(rj_executor_new(&ex, &o), 0);
	rj_plan *p = daemon_plan(marker, 0.5);
	cr_assert_eq(rj_spawn(ex, p, NULL, NULL), 0);
	/* Not one turn of the loop: its wall timer never fires. init's own
	 * deadline (the limit + its margin) must end everything. */
	double t0 = now_ms();
	cr_assert_geq(wait_procs_x(marker, 1, 5000, true), 1, "the sandbox never started");
	int left = wait_procs(marker, 0, 500 + INIT_MARGIN_MS + 1500);
	cr_assert_eq(left, 0, "%d sandbox processes alive %.0f ms after a 0.5 s wall limit with no loop",
		     left, now_ms() - t0);
	last_status = RJ_STATUS_OK;
	double end = now_ms() + 5000;
	while (rj_executor_active(ex) && now_ms() < end)
		rj_executor_run(ex, 100);
	cr_assert_eq(last_status, RJ_STATUS_WALL_TIME_LIMIT, "status %s", rj_status_name(last_status));
	rj_executor_free(ex);
	rj_plan_free(p);
}

/* ---- several threads, each with its executor --------------------------- */

enum { SPAWNERS = 4, IN_FLIGHT = 8, CHURNERS = 2 };

/* 2,000 runs per executor; under software emulation (RJ_SLOW_HOST) a run
 * costs 15-55 times as much, so fewer, in proportion, with the same
 * concurrency: the hazard (a clone while another thread holds glibc's
 * lock) is per clone, and 8,000 of them would take the VM an hour. */
static int runs_per_executor(void)
{
	int n = (int)(2000 / host_slowdown());
	return n < 100 ? 100 : n;
}

struct tally {
	atomic_int ok, bad, done;
	atomic_bool stop;
	char first_bad[512];
	pthread_mutex_t lock;
};

static void count_result(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	struct tally *t = ctx;
	if (ev->type != RJ_EVENT_COMPLETED && ev->type != RJ_EVENT_TIMEOUT)
		return;
	atomic_fetch_add(&t->done, 1);
	if (ev->result->status == RJ_STATUS_OK && ev->result->exit_code == 0) {
		atomic_fetch_add(&t->ok, 1);
		return;
	}
	pthread_mutex_lock(&t->lock);
	if (atomic_fetch_add(&t->bad, 1) == 0)
		snprintf(t->first_bad, sizeof t->first_bad, "%s: %s", rj_status_name(ev->result->status),
			 ev->result->message);
	pthread_mutex_unlock(&t->lock);
}

struct spawner {
	struct tally *t;
	const rj_plan *plan;
	int spawned;
	int error;
};

static void *spawner_main(void *arg)
{
	struct spawner *sp = arg;
	struct tally local = { 0 };
	pthread_mutex_init(&local.lock, NULL);
	struct rj_executor_opts o = { .on_event = count_result, .ctx = &local };
	rj_executor *ex = NULL;
	if ((sp->error = rj_executor_new(&ex, &o)) < 0)
		return NULL;
	int runs = runs_per_executor();
	double end = now_ms() + scaled_ms(120000);
	while (atomic_load(&local.done) < runs && now_ms() < end) {
		while (sp->spawned < runs && (int)rj_executor_active(ex) < IN_FLIGHT) {
			if ((sp->error = rj_spawn(ex, sp->plan, NULL, NULL)) < 0)
				break;
			sp->spawned++;
		}
		if (sp->error < 0)
			break;
		rj_executor_run(ex, 100);
	}
	rj_executor_free(ex);
	atomic_fetch_add(&sp->t->ok, atomic_load(&local.ok));
	atomic_fetch_add(&sp->t->done, atomic_load(&local.done));
	pthread_mutex_lock(&sp->t->lock);
	if (atomic_load(&local.bad) && !sp->t->first_bad[0])
		memcpy(sp->t->first_bad, local.first_bad, sizeof local.first_bad);
	atomic_fetch_add(&sp->t->bad, atomic_load(&local.bad));
	pthread_mutex_unlock(&sp->t->lock);
	pthread_mutex_destroy(&local.lock);
	return NULL;
}

static void *nothing(void *arg)
{
	return arg;
}

/* Thread creation and exit take glibc's stack-cache lock, which its
 * set-id broadcast takes too; a child that used glibc's setresuid after
 * a clone made while the lock was held would never get it. */
static void *churn_main(void *arg)
{
	struct tally *t = arg;
	while (!atomic_load(&t->stop)) {
		pthread_t th;
		if (pthread_create(&th, NULL, nothing, NULL) == 0)
			pthread_join(th, NULL);
	}
	return NULL;
}

Test(threads, four_executors_spawn_2000_each_while_threads_come_and_go, .timeout = 240)
{
	struct tally t = { 0 };
	pthread_mutex_init(&t.lock, NULL);
	rj_plan *p = PLAN("/bin/true");
	struct spawner sp[SPAWNERS];
	pthread_t st[SPAWNERS], ct[CHURNERS];
	for (int i = 0; i < CHURNERS; i++)
		cr_assert_eq(pthread_create(&ct[i], NULL, churn_main, &t), 0);
	for (int i = 0; i < SPAWNERS; i++) {
		sp[i] = (struct spawner){ .t = &t, .plan = p };
		cr_assert_eq(pthread_create(&st[i], NULL, spawner_main, &sp[i]), 0);
	}
	for (int i = 0; i < SPAWNERS; i++)
		pthread_join(st[i], NULL);
	atomic_store(&t.stop, true);
	for (int i = 0; i < CHURNERS; i++)
		pthread_join(ct[i], NULL);
	for (int i = 0; i < SPAWNERS; i++)
		cr_assert_eq(sp[i].error, 0, "spawner %d: %s", i, strerror(-sp[i].error));
	int runs = SPAWNERS * runs_per_executor();
	cr_assert_eq(atomic_load(&t.bad), 0, "%d of %d runs went wrong, the first: %s",
		     atomic_load(&t.bad), runs, t.first_bad);
	cr_assert_eq(atomic_load(&t.ok), runs, "%d of %d runs ended ok", atomic_load(&t.ok), runs);
	rj_plan_free(p);
	pthread_mutex_destroy(&t.lock);
}

/* ---- the embedding program's signal handlers ---------------------------- */

static pid_t main_pid;
static atomic_int *in_child; /* shared with every process forked from us */

static void on_usr1(int sig)
{
	(void)sig;
	if (getpid() != main_pid)
		atomic_fetch_add(in_child, 1);
}

struct signaller {
	atomic_bool stop;
};

/* SIGUSR1 to our whole process group, as a terminal's ^C reaches every
 * process of the foreground group, a child that has not yet left it
 * included. */
static void *signal_main(void *arg)
{
	struct signaller *s = arg;
	while (!atomic_load(&s->stop)) {
		kill(0, SIGUSR1);
		usleep(50);
	}
	return NULL;
}

Test(signals, the_embedding_programs_handlers_never_run_in_a_child, .timeout = 120)
{
	/* Our own process group: the signal must reach nobody else. */
	if (getpgrp() != getpid())
		cr_assert_eq(setpgid(0, 0), 0, "setpgid: %s", strerror(errno));
	main_pid = getpid();
	in_child = mmap(NULL, sizeof *in_child, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(in_child, MAP_FAILED);
	struct sigaction sa = { .sa_handler = on_usr1 };
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	struct signaller s = { 0 };
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, signal_main, &s), 0);
	struct col c;
	col_init(&c, 0, 64);
	rj_plan *p = PLAN("/bin/true");
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 10; i++)
			col_spawn(&c, p);
		col_wait(&c, 30000);
	}
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	signal(SIGUSR1, SIG_IGN);
	for (size_t i = 0; i < c.n; i++)
		cr_assert_eq(c.recs[i].res.status, RJ_STATUS_OK, "run %zu: %s: %s", i,
			     rj_status_name(c.recs[i].res.status), c.recs[i].res.message);
	cr_assert_eq(atomic_load(in_child), 0, "the test's SIGUSR1 handler ran %d times in a sandbox's process",
		     atomic_load(in_child));
	col_free(&c);
	rj_plan_free(p);
	munmap(in_child, sizeof *in_child);
}

/* ---- what an init holds of the executor ----------------------------------- */

/* The host pid of a running init whose parent is this process. */
static pid_t find_init(void)
{
	DIR *d = opendir("/proc");
	cr_assert_not_null(d);
	struct dirent *e;
	pid_t found = 0;
	while (!found && (e = readdir(d))) {
		char path[300], stat[512];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(stat, 1, sizeof stat - 1, f);
		fclose(f);
		stat[n] = '\0';
		int pid, ppid;
		char comm[64];
		if (sscanf(stat, "%d (%63[^)]) %*c %d", &pid, comm, &ppid) == 3 && ppid == getpid() &&
		    !strcmp(comm, "ringjail-init"))
			found = pid;
	}
	closedir(d);
	return found;
}

/* A compromised init must not be able to read the executor's records of
 * other sandboxes: of the shared records it keeps only its own page. */
Test(supervisor, an_init_keeps_only_its_own_shared_record)
{
	struct col c;
	col_init(&c, 0, 64);
	rj_plan *p = PLAN("sleep", "5");
	for (int i = 0; i < 3; i++)
		col_spawn(&c, p);
	col_pump(&c, 300);
	pid_t init = find_init();
	cr_assert_gt(init, 0, "no running init found");
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)init);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	int shared = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[3] != 's')
			continue;
		shared++;
		cr_assert_leq(hi - lo, 4096ul, "init %d maps %lu KiB of shared memory: %s", (int)init,
			      (hi - lo) / 1024, line);
	}
	fclose(f);
	cr_assert_eq(shared, 1, "init %d has %d shared mappings, not its one record", (int)init, shared);
	for (size_t i = 0; i < c.n; i++)
		rj_kill(c.ex, c.recs[i].id);
	col_wait(&c, 5000);
	col_free(&c);
	rj_plan_free(p);
}
