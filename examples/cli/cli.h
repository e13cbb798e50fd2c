/*
 * The `ringjail` command-line tool: private interfaces between its files.
 *
 *   main.c    dispatch, --version
 *   help.c    the man-page style --help texts
 *   opts.c    option scanning, SEC/SIZE/N values, the run options that batch
 *             jobs share (--file, --dir, --env), applied to an rj_plan
 *   run.c     `ringjail run`: one sandbox, output streamed
 *   job.c     one batch job line (JSON) -> rj_plan
 *   batch.c   `ringjail batch`: the job stream, scheduling, progress
 *   lines.c   a bounded line reader that never blocks the event loop
 *   idset.c   the set of ids seen, for duplicate detection
 *   json.c    result -> JSON (jansson), captured output as text or base64
 *   sys.c     signals and full writes
 *
 * CLI.md in the project's shared folder is the contract all of this follows.
 */
#ifndef RINGJAIL_CLI_H
#define RINGJAIL_CLI_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ringjail.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1 /* the program's status was not ok; a batch line failed */
#define CLI_EXIT_USAGE 2 /* usage error, or the sandbox could not be set up */

/* CLI.md's default for --output; it also sizes the capture of batch jobs
 * that give no output limit. */
#define CLI_DEFAULT_OUTPUT (64ull << 20)

/* A message buffer big enough for a path, a field name and a reason. */
#define CLI_ERR_MAX 1024

/* help.c */
void cli_help_main(FILE *f);
void cli_help_run(FILE *f);
void cli_help_batch(FILE *f);

/* ------------------------------------------------------------------------
 * opts.c: option scanning
 * ---------------------------------------------------------------------- */

struct cli_opt {
	const char *name;  /* "--mem" */
	char short_name;   /* 'j', or 0 */
	const char *form;  /* "SIZE": the value's form, NULL for a flag */
	int id;
};

/* Scan the next option of argv from *i. Returns 1 with *opt and *val (NULL
 * for flags) set, 0 at the first operand (*i names it; a "--" is skipped)
 * or the end, -1 after printing a usage error naming the command cmd. */
int cli_next_opt(int argc, char **argv, int *i, const struct cli_opt *table,
		 const char *cmd, const struct cli_opt **opt, const char **val);

/* Print "ringjail: MESSAGE" on stderr, one line. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------------
 * opts.c: values and the options shared by run and batch jobs
 * ---------------------------------------------------------------------- */

enum cli_value_kind {
	CLI_SEC,   /* seconds, decimal or whole, > 0; microseconds */
	CLI_SIZE,  /* bytes with an optional K, M or G; > 0 */
	CLI_COUNT, /* a whole number > 0 */
	CLI_STACK, /* SIZE or "unlimited" (RJ_UNLIMITED) */
};

struct cli_limit_spec {
	enum rj_limit limit;
	const char *key;    /* the batch key: "wall_time" */
	const char *option; /* the run option: "--wall-time" */
	enum cli_value_kind kind;
};

/* Every limit the CLI offers, ended by an entry with key NULL. */
extern const struct cli_limit_spec cli_limits[];
const struct cli_limit_spec *cli_limit_by_key(const char *key);

/* "expected SIZE (bytes, or a number with K, M or G)" for a kind. */
const char *cli_expected(enum cli_value_kind kind);
/* Parse text in kind's form into the library's unit. 0 or -EINVAL. */
int cli_parse_value(enum cli_value_kind kind, const char *text, uint64_t *out);
/* The same for a whole number of seconds/bytes/processes given as a JSON
 * number (seconds may be fractional). 0 or -EINVAL. */
int cli_value_from_double(enum cli_value_kind kind, double v, uint64_t *out);

/* What the result writer must know about how a plan was made. */
struct cli_plan_info {
	uint32_t set_limits;   /* 1u << rj_limit for each limit the caller gave */
	bool best_effort;
	uint64_t output_limit; /* the output limit in force, for capture */
};

/* Outcomes of applying a user's value to a plan. */
#define CLI_BAD_FORM (-1) /* the value is malformed: a usage error */
#define CLI_BAD_HOST (-2) /* a host file or directory cannot be used */

/* Set one limit on plan and record it in info. 0 or CLI_BAD_FORM. */
int cli_set_limit(rj_plan *plan, struct cli_plan_info *info,
		  enum rj_limit limit, uint64_t value, char *err, size_t n);
/* --file HOST[:BOX]: copy a host file into the workspace, read by the
 * library (beneath the plan's workdir, when it lies there: set the
 * workdir first). */
int cli_add_file_spec(rj_plan *plan, const char *spec, char *err, size_t n);
/* --dir HOST[:BOX][:rw]: a host directory visible at BOX. */
int cli_add_dir_spec(rj_plan *plan, const char *spec, char *err, size_t n);
/* --env NAME=VALUE. */
int cli_set_env_spec(rj_plan *plan, const char *spec, char *err, size_t n);
/* --stdin FILE: checked for reading now (by the library, as for --file),
 * opened again at each spawn. 0 or CLI_BAD_HOST. */
int cli_set_stdin_file(rj_plan *plan, const char *path, char *err, size_t n);
/* --workdir DIR. */
int cli_set_workdir(rj_plan *plan, const char *dir, char *err, size_t n);
/* Turn a failed rj_plan_* call (rc < 0) into a message in err (the plan's
 * error, else "what: strerror") and CLI_BAD_FORM (EINVAL: the value is
 * wrong) or CLI_BAD_HOST (the host). */
int cli_plan_failed(const rj_plan *plan, int rc, const char *what,
		    char *err, size_t n);

/* ------------------------------------------------------------------------
 * json.c
 * ---------------------------------------------------------------------- */

/* Add CLI.md's result object to o, after whatever o holds ("id"). */
int cli_result_fill(json_t *o, const struct rj_result *r,
		    const struct cli_plan_info *info);
/* Add captured output as o[name] (valid UTF-8) or o[name_base64]. */
int cli_output_fill(json_t *o, const char *name, const void *data,
		    size_t len);
/* The result of an invalid line (CLI.md: "id" or null, "line", status,
 * message, and with_output the empty output pair). NULL only when out of
 * memory. */
json_t *cli_invalid_result(const char *id, long line, const char *message,
			   bool with_output);
/* Write o compactly as one line and flush. 0 or -errno. */
int cli_json_line(FILE *f, const json_t *o);
/* A result for a run that never started: status, stage, message. */
void cli_result_synth(struct rj_result *r, enum rj_status status, int stage,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A short rendering of a JSON value for messages ("true", "\"abc\""). */
void cli_json_brief(const json_t *v, char *buf, size_t n);
/* A JSON string of s; where s is not valid UTF-8, of s with each
 * non-ASCII byte as '?', so that a message can always be written. NULL
 * only when out of memory (or s is NULL). */
json_t *cli_json_text(const char *s);

/* The length of the longest prefix of s[0..len) that does not end inside
 * a UTF-8 character: where to cut text that may be quoted in JSON
 * ("%.*s" with it, instead of "%.37s", which can split a character and
 * make the whole message invalid). */
size_t cli_utf8_cut(const char *s, size_t len);
/* Make s valid UTF-8 in place: '?' for each byte that is not part of a
 * well-formed character. */
void cli_utf8_clean(char *s);
/* snprintf into buf, but a message too long for it is cut between
 * characters. */
void cli_format(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cli_vformat(char *buf, size_t n, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* The arguments of "%.*s" for at most max bytes of s, cut between
 * characters. */
#define CLI_CUT(s, max) (int)cli_utf8_cut((s), strnlen((s), (max))), (s)

/* ------------------------------------------------------------------------
 * sys.c
 * ---------------------------------------------------------------------- */

/* The number of stop signals received, and the last one. */
extern volatile sig_atomic_t cli_signal_count;
extern volatile sig_atomic_t cli_signal_last;
/* Catch the stop signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) into the
 * counters above and SIGPIPE into a no-op, all without SA_RESTART so
 * blocking calls return EINTR. */
int cli_catch_signals(void);
/* "SIGINT" and the like, for messages. */
const char *cli_signal_name(int sig);
/* Write all of buf, across partial writes and EINTR. 0 or -errno. */
int cli_write_all(int fd, const void *buf, size_t len);
/* CLOCK_MONOTONIC in seconds. */
double cli_now(void);

/* run.c, batch.c */
int cli_run_main(int argc, char **argv);
int cli_batch_main(int argc, char **argv);

/* ------------------------------------------------------------------------
 * job.c: one batch line
 * ---------------------------------------------------------------------- */

struct cli_job {
	long line;                 /* numbered from 0 */
	json_t *root;              /* the parsed line */
	const char *id;            /* borrowed from root; NULL when unreadable */
	rj_plan *plan;
	struct cli_plan_info info;
	char err[CLI_ERR_MAX];     /* "line N: field 'F': why" */
};

/* Parse the line and read its id. 0, or -1 with job->err set (id may still
 * be set). Always call cli_job_done afterwards. */
int cli_job_open(struct cli_job *job, const char *text, size_t len,
		 long line);
/* Build the plan from the other fields; with capture, the result keeps
 * the output, up to the job's output limit. 0, or -1 with job->err set. */
int cli_job_build(struct cli_job *job, bool capture);
/* Set job->err to "line N: field 'F': " + the formatted reason; -1. */
int cli_job_fail(struct cli_job *job, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cli_job_done(struct cli_job *job);

/* ------------------------------------------------------------------------
 * lines.c
 * ---------------------------------------------------------------------- */

struct cli_lines {
	int fd;
	size_t max;            /* longest line kept */
	char *buf;             /* read buffer */
	size_t start, end;
	char *line;            /* a line that spans reads */
	size_t line_len, line_cap;
	bool in_line;          /* bytes of an unfinished line were consumed */
	bool too_long;
	bool eof;
};

#define CLI_LINES_EOF   0
#define CLI_LINES_LINE  1
#define CLI_LINES_AGAIN 2

int cli_lines_init(struct cli_lines *r, int fd, size_t max);
/* The next line (without its '\n'): CLI_LINES_LINE with *text, *len and
 * *too_long set (the text is valid until the next call; a too-long line
 * comes back empty), CLI_LINES_AGAIN when no whole line arrived within
 * timeout_ms, CLI_LINES_EOF, or -errno. */
int cli_lines_next(struct cli_lines *r, int timeout_ms, const char **text,
		   size_t *len, bool *too_long);
void cli_lines_free(struct cli_lines *r);

/* ------------------------------------------------------------------------
 * idset.c
 * ---------------------------------------------------------------------- */

struct cli_idset {
	uint64_t *slots;
	size_t cap, count;
};

/* 1 when id is new (and now recorded), 0 when seen before, -ENOMEM. */
int cli_idset_add(struct cli_idset *s, const char *id);
void cli_idset_free(struct cli_idset *s);

#endif
