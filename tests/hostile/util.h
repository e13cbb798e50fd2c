/* Helpers of the hostile suite: run plans and keep what they produced,
 * and look at the host from outside the sandbox. */
#ifndef HOSTILE_UTIL_H
#define HOSTILE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ringjail.h>

#ifndef PROGS_DIR
#error "PROGS_DIR must name the build folder of tests/hostile/progs"
#endif

/* What one sandbox ended with: the result, with its captured output
 * copied (NUL-terminated) so it outlives the callback. */
struct outcome {
	struct rj_result res;
	char *out;
	size_t out_len;
	char *err;
	size_t err_len;
	bool done;
	pid_t marker_pid; /* session: a marker's host pid at the final event */
	char *live;       /* session: stdout as it streams, NUL-terminated */
	uint64_t id;      /* session: the sandbox's id */
	size_t live_len;
};

/* A plan running the hostile program NAME (copied in as /box/NAME) with
 * the arguments given (NULL-terminated), capturing 1 MiB of each stream. */
rj_plan *prog_plan(const char *name, ...) __attribute__((sentinel));
/* A plan running argv as it is, capturing 1 MiB of each stream. */
rj_plan *cmd_plan(const char *const *argv);
/* Run plan alone (rj_run) and fill o. Fails the test if rj_run does. */
void run_plan(const rj_plan *plan, struct outcome *o);
void outcome_free(struct outcome *o);
/* Print an outcome for the test's log. */
void outcome_log(const char *what, const struct outcome *o);

/* Several sandboxes on one executor, for the tests of neighbours. */
#define SESSION_MAX 4
struct session {
	rj_executor *ex;
	struct outcome o[SESSION_MAX];
	int n;
	const char *scan_marker; /* looked up in the host's /proc at each final event */
};
void session_start(struct session *s);
/* Spawn plan; returns its index in s->o. */
int session_spawn(struct session *s, const rj_plan *plan);
/* Dispatch events for up to ms milliseconds. */
void session_pump(struct session *s, int ms);
/* Dispatch events until sandbox i ended (true) or ms passed (false). */
bool session_wait(struct session *s, int i, int ms);
/* Dispatch events until sandbox i has written needle on stdout (true), or
 * ended or ms passed without it (false). */
bool session_wait_output(struct session *s, int i, const char *needle, int ms);
/* Free the executor (killing what still runs) and log every outcome; the
 * outcomes stay readable. */
void session_end(struct session *s);

/* ---- the host side ---------------------------------------------------- */

bool running_as_root(void);
/* Processes (not threads) in the host's /proc. */
int host_proc_count(void);
/* A host process (other than ours) whose argv holds marker, or 0. */
pid_t host_find_marker(const char *marker);
bool host_path_exists(const char *path);
/* True when the text holds the line exactly. */
bool has_line(const char *text, const char *line);
/* Read a whole small file; NULL if it cannot. The caller frees. */
char *read_text(const char *path);
/* Remove a directory tree as its owner may (opening folders of mode 0
 * first; not following symlinks). 0 or -1. */
int remove_tree(const char *dir);

#endif
