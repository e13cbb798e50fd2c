/* Helpers of the batch suite: run `ringjail batch` as a subprocess, as a
 * judge's script would (util.c), parse its result lines with jansson
 * (results.c), and look at the host for what a batch may have left behind
 * (host.c). */
#ifndef BATCH_UTIL_H
#define BATCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <criterion/criterion.h>
#include <jansson.h>

/* What every suite shares: the host's processes (host_count_arg), clocks. */
#include "host.h"

#ifndef RJ_CLI
#error "RJ_CLI must name the built ringjail CLI (examples/meson.build)"
#endif

struct buf {
	char *data; /* always NUL-terminated (output may hold NULs too) */
	size_t len, cap;
};

/* One `ringjail batch` process with its stdio on pipes. */
struct proc {
	pid_t pid;
	int in_fd, out_fd, err_fd;   /* -1 once closed */
	const char *feed;            /* stdin bytes still to write (borrowed) */
	size_t feed_len, fed;
	bool keep_stdin;             /* leave stdin open once fed */
	struct buf out, err;
	double t0;                   /* monotonic seconds at the start */
	long hwm_kib;                /* the largest VmHWM seen while pumping */
	bool exited;
	int status;                  /* exit code, or 128 + signal */
	long maxrss_kib;             /* wait4's ru_maxrss */
	double wall_s;
};

/* Start `RJ_CLI batch ARGS...` (args is NULL-terminated and excludes
 * "batch"). Its stdin is a pipe fed with feed (which may be NULL: closed
 * at once, unless keep_stdin); TMPDIR is the test's own empty folder. */
void proc_start(struct proc *p, const char *const *args, const char *feed,
		size_t feed_len, bool keep_stdin);
/* The same for another subcommand: `RJ_CLI CMD ARGS...` ("run"). */
void proc_start_cmd(struct proc *p, const char *cmd, const char *const *args,
		    const char *feed, size_t feed_len, bool keep_stdin);
/* Write what stdin takes and read what stdout and stderr hold, for up to
 * ms milliseconds (less once both are at EOF). */
void proc_pump(struct proc *p, int ms);
/* Close stdin, read to EOF, reap. Past timeout_s the process is killed and
 * the test fails. Also fails the test if the batch left anything in its
 * TMPDIR (a sandbox root, a workspace). */
void proc_finish(struct proc *p, double timeout_s);
void proc_free(struct proc *p);
/* Complete lines on stdout so far. */
size_t proc_lines(const struct proc *p);

/* The result lines of a finished batch, each parsed as an object (the
 * test fails on a line that is not). */
struct results {
	json_t **v;
	size_t n;
};
void results_parse(struct results *r, const char *text, size_t len);
void results_free(struct results *r);
/* The one result with this id (the test fails unless there is exactly
 * one). */
json_t *result_id(const struct results *r, const char *id);
/* How many results have this id; the first max are stored in out. */
size_t results_with_id(const struct results *r, const char *id,
		       json_t **out, size_t max);
/* The one result with "line": line (only results of invalid lines have
 * one). */
json_t *result_line(const struct results *r, long line);
size_t results_count_status(const struct results *r, const char *status);

/* A run of a whole batch: the process and its parsed results. */
struct run {
	struct proc p;
	struct results res;
};
void run_batch(struct run *r, const char *feed, double timeout_s,
	       const char *const *args);
void run_free(struct run *r);
#define RUN(r, feed, timeout_s, ...) \
	run_batch((r), (feed), (timeout_s), (const char *const[]){ __VA_ARGS__, NULL })

/* Field access that tolerates absence: NULL / fallback. */
const char *jstr(const json_t *o, const char *key);
long long jint(const json_t *o, const char *key, long long fallback);
bool jhas(const json_t *o, const char *key);
/* A result's stdout or stderr, decoded: the text or the base64 form,
 * whichever is there. *len is set; NULL when neither is. The caller
 * frees. */
char *joutput(const json_t *o, const char *name, size_t *len);

/* Expectations on one result, with its line in the message on failure. */
void expect_status(const json_t *o, const char *status);
void expect_stdout(const json_t *o, const char *text);

/* The result object of CLI.md, every field with its type, plus "id" and
 * one of each output pair (unless output_dir). */
void expect_result_object(const json_t *o, bool output_dir);
/* The summary line on stderr: "N results", runs per second, and each of
 * counts ("ok 5") as a whole entry; NULL-terminated. */
void expect_summary(const struct proc *p, size_t results, const char *const *counts);
#define EXPECT_SUMMARY(p, n, ...) \
	expect_summary((p), (n), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- files ------------------------------------------------------------- */

/* A path in the test's own folder (made fresh for each test, removed after
 * it). The returned string lives until the test ends. */
const char *tpath(const char *name);
/* A formatted string that lives until the test ends. */
const char *tfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The batch's TMPDIR, inside the test's folder. */
const char *ttmpdir(void);
void write_file(const char *path, const void *data, size_t len, unsigned mode);
/* A whole file; NULL if it cannot be read. The caller frees. */
char *read_file(const char *path, size_t *len);
/* Write lines (NULL-terminated array of C strings) as a job file. */
void write_jobs(const char *path, const char *const *lines);

/* ---- the host ----------------------------------------------------------- */

/* The names "ringjail-*" in the cgroup folders where ringjail may make its
 * pools (our own groups and their parents, in every hierarchy), as
 * "\nDIR/NAME\n" entries. The caller frees. */
char *cgroup_pools(void);
/* Entries "ringjail-<pid>-*" in after that were not in before; NULL when
 * none. The caller frees. */
char *cgroup_new_pools(const char *before, const char *after, pid_t pid);

double now_s(void);

#endif
