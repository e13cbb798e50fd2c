/*
 * thousand: run 1,000 sandboxes of /bin/true from one executor, all at
 * once, and print how fast they went and how many ended ok.
 *
 *   thousand [COUNT [IN_FLIGHT]]     defaults: 1000 and COUNT
 *
 * One plan serves every sandbox: a plan is a description, spawned as often
 * as you like. rj_spawn returns at once, so the loop below spawns while
 * earlier sandboxes are still starting. When the host runs short of file
 * descriptors or processes (each sandbox in flight holds a few fds),
 * rj_spawn fails with EMFILE or EAGAIN: the example then waits for some
 * sandboxes to end and tries again, which is how a real caller keeps
 * going under load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ringjail.h"

struct tally {
	unsigned done, ok;
	unsigned by_status[RJ_STATUS_INVALID + 1];
};

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	struct tally *t = ctx;

	(void)ex;
	if (ev->type != RJ_EVENT_COMPLETED && ev->type != RJ_EVENT_TIMEOUT)
		return; /* /bin/true writes nothing; ignore output events */
	t->done++;
	t->by_status[ev->result->status]++;
	if (ev->result->status == RJ_STATUS_OK)
		t->ok++;
	else if (t->done - t->ok == 1) /* show the first failure's reason */
		fprintf(stderr, "thousand: first failure: %s: %s\n",
			rj_status_name(ev->result->status), ev->result->message);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spawn one sandbox, waiting for others to end while the host is short of
 * fds or processes. 0 or -errno. */
static int spawn_one(rj_executor *ex, const rj_plan *plan)
{
	for (;;) {
		uint64_t id;
		int rc = rj_spawn(ex, plan, NULL, &id);

		if (rc == 0)
			return 0;
		if ((rc != -EMFILE && rc != -ENFILE && rc != -EAGAIN) ||
		    rj_executor_active(ex) == 0)
			return rc;
		rc = rj_executor_run(ex, -1);
		if (rc < 0 && rc != -EINTR)
			return rc;
	}
}

int main(int argc, char **argv)
{
	static const char *const true_argv[] = { "/bin/true", NULL };
	unsigned count = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
	unsigned in_flight = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : count;
	struct tally t = { 0 };
	struct rj_executor_opts opts = { .on_event = on_event, .ctx = &t };
	rj_executor *ex;
	rj_plan *plan;
	unsigned spawned = 0;
	double t0, secs;
	int rc;

	if (count == 0 || in_flight == 0) {
		fprintf(stderr, "usage: thousand [COUNT [IN_FLIGHT]] (both > 0)\n");
		return 2;
	}
	plan = rj_plan_new(true_argv);
	if (!plan) {
		fprintf(stderr, "thousand: rj_plan_new: %s\n", strerror(errno));
		return 1;
	}
	rc = rj_executor_new(&ex, &opts);
	if (rc < 0) {
		fprintf(stderr, "thousand: cannot create an executor: %s\n", strerror(-rc));
		rj_plan_free(plan);
		return 1;
	}
	t0 = now();
	while (t.done < count) {
		/* Top up to in_flight sandboxes, then dispatch what arrived. */
		while (spawned < count && spawned - t.done < in_flight) {
			rc = spawn_one(ex, plan);
			if (rc < 0) {
				fprintf(stderr, "thousand: spawn %u failed: %s (%s)\n",
					spawned, strerror(-rc), rj_executor_error(ex));
				goto out;
			}
			spawned++;
		}
		rc = rj_executor_run(ex, -1);
		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "thousand: rj_executor_run: %s (%s)\n",
				strerror(-rc), rj_executor_error(ex));
			goto out;
		}
	}
out:
	secs = now() - t0;
	rj_executor_free(ex);
	rj_plan_free(plan);
	printf("%u of %u sandboxes ended, %u ok, in %.2f s: %.0f sandboxes/s\n",
	       t.done, count, t.ok, secs, secs > 0 ? t.done / secs : 0.0);
	for (int s = 0; s <= RJ_STATUS_INVALID; s++)
		if (t.by_status[s] && s != RJ_STATUS_OK)
			printf("  %s: %u\n", rj_status_name((enum rj_status)s),
			       t.by_status[s]);
	return t.ok == count ? 0 : 1;
}
