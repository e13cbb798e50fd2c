/*
 * embed: the smallest useful embedding of libringjail.
 *
 * Spawns three sandboxes on one executor and prints every event they
 * produce, as it arrives:
 *   - echo, which ends ok;
 *   - a shell that writes to stderr and exits 3 (runtime_error);
 *   - sleep 5 under a 0.2 s wall-clock limit (a TIMEOUT event).
 *
 * Build: part of the project (build/examples/embed), or by hand:
 *   cc -std=c11 -D_GNU_SOURCE embed.c -Iinclude -Lbuild/lib -lringjail \
 *      -luring -lseccomp -lcap-ng -lpthread
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ringjail.h"

static const char *event_name(enum rj_event_type type)
{
	switch (type) {
	case RJ_EVENT_STDOUT:    return "stdout";
	case RJ_EVENT_STDERR:    return "stderr";
	case RJ_EVENT_COMPLETED: return "completed";
	case RJ_EVENT_TIMEOUT:   return "timeout";
	}
	return "?";
}

/*
 * Called from rj_executor_run() for each event. Output slices and results
 * are borrowed: they are valid only during this call, so copy what you
 * keep. user_data is what rj_spawn() was given, here the sandbox's label.
 */
static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	const char *label = ev->user_data;
	const struct rj_result *r = ev->result;
	int *finished = ctx;

	(void)ex;
	if (ev->type == RJ_EVENT_STDOUT || ev->type == RJ_EVENT_STDERR) {
		printf("[%s #%llu] %s: %.*s", label, (unsigned long long)ev->id,
		       event_name(ev->type), (int)ev->len, (const char *)ev->data);
		if (ev->len == 0 || ((const char *)ev->data)[ev->len - 1] != '\n')
			putchar('\n');
		return;
	}
	/* COMPLETED or TIMEOUT: the one final event of this sandbox. */
	printf("[%s #%llu] %s: status %s, exit code %d, signal %d, "
	       "wall %.1f ms, cpu %.1f ms, memory %llu KiB%s%s\n",
	       label, (unsigned long long)ev->id, event_name(ev->type),
	       rj_status_name(r->status), r->exit_code, r->signal, r->wall_ms,
	       r->cpu_ms, (unsigned long long)r->memory_kib,
	       *r->message ? ", " : "", r->message);
	(*finished)++;
}

/* Build a plan for argv with an optional wall-clock limit in microseconds
 * (0: the default). Prints why and returns NULL on failure. */
static rj_plan *make_plan(const char *const *argv, uint64_t wall_us)
{
	rj_plan *plan = rj_plan_new(argv);
	int rc;

	if (!plan) {
		fprintf(stderr, "embed: rj_plan_new(%s): %s\n", argv[0], strerror(errno));
		return NULL;
	}
	if (wall_us) {
		rc = rj_plan_set_limit(plan, RJ_LIMIT_WALL_TIME, wall_us);
		if (rc < 0) {
			fprintf(stderr, "embed: wall limit: %s (%s)\n", strerror(-rc),
				rj_plan_error(plan));
			rj_plan_free(plan);
			return NULL;
		}
	}
	return plan;
}

int main(void)
{
	static const char *const echo[] = { "/bin/echo", "hello from a sandbox", NULL };
	static const char *const fail[] = { "/bin/sh", "-c", "echo oops >&2; exit 3", NULL };
	static const char *const nap[] = { "/bin/sleep", "5", NULL };
	const struct { const char *const *argv; uint64_t wall_us; const char *label; }
	jobs[] = {
		{ echo, 0, "echo" },
		{ fail, 0, "sh" },
		{ nap, 200000, "sleep" },   /* 0.2 s wall-clock limit */
	};
	int finished = 0, spawned = 0, rc;
	struct rj_executor_opts opts = { .on_event = on_event, .ctx = &finished };
	rj_executor *ex;

	rc = rj_executor_new(&ex, &opts);
	if (rc < 0) {
		fprintf(stderr, "embed: cannot create an executor: %s\n", strerror(-rc));
		return 1;
	}
	for (size_t k = 0; k < sizeof(jobs) / sizeof(jobs[0]); k++) {
		rj_plan *plan = make_plan(jobs[k].argv, jobs[k].wall_us);
		uint64_t id;

		if (!plan)
			continue;
		/* rj_spawn returns at once; the plan is no longer needed. */
		rc = rj_spawn(ex, plan, (void *)jobs[k].label, &id);
		rj_plan_free(plan);
		if (rc < 0) {
			fprintf(stderr, "embed: cannot spawn %s: %s\n", jobs[k].label,
				rj_executor_error(ex));
			continue;
		}
		printf("[%s #%llu] spawned\n", jobs[k].label, (unsigned long long)id);
		spawned++;
	}
	/* Dispatch events until every sandbox has had its final event. */
	while (finished < spawned) {
		rc = rj_executor_run(ex, -1);
		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "embed: rj_executor_run: %s (%s)\n", strerror(-rc),
				rj_executor_error(ex));
			break;
		}
	}
	rj_executor_free(ex);
	return finished == 3 ? 0 : 1;
}
