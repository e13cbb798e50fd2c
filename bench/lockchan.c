/*
 * bench/lockchan: how many bits per second two concurrent sandboxes can
 * pass each other through locks on the read-only files they all see.
 *
 *   lockchan [-n BITS] [-r ROUNDS] [--files DATA,CLOCK,ACK] [--json]
 *
 * Runs progs/lockchan as a sender and a receiver in two sandboxes of one
 * executor at the same time (the default policy; root mode when run as
 * root), once with flock() and once with POSIX byte-range locks, ROUNDS
 * times each (default 3), BITS bits a round (default 20000), through three
 * files of /usr/bin (default true, false and yes). Prints the median rate
 * and the bits the receiver got wrong (the handshake should make that 0).
 * The baseline: the same two programs unsandboxed, posix_spawned side by
 * side, which is the ceiling the sandbox would lower if it closed anything.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

struct pair {
	int done;
	char out[256];
	enum rj_status status[2];
	char message[2][400];
};

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	(void)ex;
	struct pair *p = ctx;
	int i = (int)(intptr_t)ev->user_data;
	if (ev->type == RJ_EVENT_STDOUT && i == 1) {
		size_t have = strlen(p->out), n = ev->len;
		if (n > sizeof p->out - 1 - have)
			n = sizeof p->out - 1 - have;
		memcpy(p->out + have, ev->data, n);
		p->out[have + n] = '\0';
	} else if (ev->type == RJ_EVENT_COMPLETED || ev->type == RJ_EVENT_TIMEOUT) {
		p->status[i] = ev->result->status;
		snprintf(p->message[i], sizeof p->message[i], "%s", ev->result->message);
		p->done++;
	}
}

/* One round: "recv bits N errors E us T" parsed into bits/s; -1 on failure. */
static double parse(const char *out, long *errors)
{
	long bits = 0;
	double us = 0;
	if (sscanf(out, "recv bits %ld errors %ld us %lf", &bits, errors, &us) != 3 || us <= 0)
		return -1;
	return (double)(bits - 1) / (us / 1e6);
}

static double sandboxed(char *const args[2][9], long *errors)
{
	struct pair p = { 0 };
	struct rj_executor_opts o = { .on_event = on_event, .ctx = &p };
	rj_executor *ex;
	check_or_die(rj_executor_new(&ex, &o), NULL, "rj_executor_new");
	for (int i = 0; i < 2; i++) {
		const char *argv[9] = { "./lockchan" };
		for (int k = 1; k < 8; k++)
			argv[k] = args[i][k];
		rj_plan *plan = plan_or_die(argv);
		check_or_die(rj_plan_add_host_file(plan, "lockchan", prog_path("lockchan"),
						   RJ_MODE_KEEP_EXEC), plan,
			     "rj_plan_add_host_file");
		check_or_die(rj_plan_set_limit(plan, RJ_LIMIT_WALL_TIME, 60000000), plan, "wall");
		uint64_t id;
		check_or_die(rj_spawn(ex, plan, (void *)(intptr_t)i, &id), plan, "rj_spawn");
		rj_plan_free(plan);
	}
	while (p.done < 2)
		if (rj_executor_run(ex, -1) < 0)
			break;
	rj_executor_free(ex);
	if (p.status[0] != RJ_STATUS_OK || p.status[1] != RJ_STATUS_OK) {
		fprintf(stderr, "lockchan: the sandboxes ended %s (%s) / %s (%s)\n",
			rj_status_name(p.status[0]), p.message[0], rj_status_name(p.status[1]),
			p.message[1]);
		return -1;
	}
	return parse(p.out, errors);
}

static double unsandboxed(char *const args[2][9], long *errors)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	posix_spawn_file_actions_t fa[2];
	pid_t pid[2];
	for (int i = 0; i < 2; i++) {
		char *argv[9];
		memcpy(argv, args[i], sizeof argv);
		argv[0] = (char *)prog_path("lockchan");
		posix_spawn_file_actions_init(&fa[i]);
		if (i == 1)
			posix_spawn_file_actions_adddup2(&fa[i], fds[1], 1);
		posix_spawn_file_actions_addclose(&fa[i], fds[0]);
		if (posix_spawn(&pid[i], argv[0], &fa[i], NULL, argv, environ) != 0)
			return -1;
		posix_spawn_file_actions_destroy(&fa[i]);
	}
	close(fds[1]);
	char out[256] = "";
	ssize_t n = read(fds[0], out, sizeof out - 1);
	out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
	for (int i = 0; i < 2; i++)
		waitpid(pid[i], NULL, 0);
	return parse(out, errors);
}

int main(int argc, char **argv)
{
	unsigned rounds = 3;
	const char *bits = "20000";
	char files[512] = "/usr/bin/true,/usr/bin/false,/usr/bin/yes";
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			bits = argv[++i];
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			rounds = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--files") && i + 1 < argc)
			snprintf(files, sizeof files, "%s", argv[++i]);
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else {
			fprintf(stderr, "usage: lockchan [-n BITS] [-r ROUNDS] "
					"[--files DATA,CLOCK,ACK] [--json]\n");
			return 2;
		}
	}
	char *f[3] = { strtok(files, ","), strtok(NULL, ","), strtok(NULL, ",") };
	if (!rounds || rounds > 64 || atol(bits) < 2 || !f[0] || !f[1] || !f[2]) {
		fprintf(stderr, "lockchan: bad -r (1-64), -n (2 and up) or --files\n");
		return 2;
	}
	static const char *const modes[] = { "flock", "posix" };
	for (int m = 0; m < 2; m++) {
		char *args[2][9] = {
			{ "", "send", (char *)modes[m], (char *)bits, "7", f[0], f[1], f[2], NULL },
			{ "", "recv", (char *)modes[m], (char *)bits, "7", f[0], f[1], f[2], NULL },
		};
		double rj[64], base[64];
		long rj_err = 0, base_err = 0;
		for (unsigned r = 0; r < rounds; r++) {
			long e = 0;
			base[r] = unsandboxed(args, &e);
			base_err += e;
			e = 0;
			rj[r] = sandboxed(args, &e);
			rj_err += e;
		}
		double mr = median_of(rj, rounds), mb = median_of(base, rounds);
		if (json)
			printf("{\"bench\":\"lockchan\",\"locks\":\"%s\",\"bits\":%s,\"rounds\":%u,"
			       "\"ringjail_bits_per_s\":%.0f,\"ringjail_errors\":%ld,"
			       "\"baseline_bits_per_s\":%.0f,\"baseline_errors\":%ld}\n",
			       modes[m], bits, rounds, mr, rj_err, mb, base_err);
		else
			printf("%-6s  sandbox to sandbox %9.0f bits/s (%ld wrong)   "
			       "unsandboxed %9.0f bits/s (%ld wrong)\n",
			       modes[m], mr, rj_err, mb, base_err);
	}
	return 0;
}
