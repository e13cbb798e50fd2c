/*
 * `ringjail batch`: JSON jobs in, one JSON result per job out, in order of
 * completion (CLI.md, "ringjail batch").
 *
 * One executor runs everything. The loop keeps at most -j sandboxes in
 * flight and reads more lines only when fewer are; a job's plan is freed
 * as soon as it is spawned and its result is written as soon as it ends,
 * so memory does not grow with the length of the job file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The default -j is this many sandboxes per online CPU. */
#define BATCH_JOBS_PER_CPU 2
/* Longest job line kept; a longer one is invalid and skipped unread. */
#define BATCH_MAX_LINE (16u << 20)
/* Lines read per turn of the loop, so that a run of skipped or invalid
 * lines cannot keep the loop from dispatching events for long. */
#define BATCH_READ_BURST 256
#define PROGRESS_INTERVAL 0.1 /* seconds */

enum {
	OPT_JOBS = 1, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_SHARD, OPT_OUTPUT_DIR,
	OPT_HELP,
};

static const struct cli_opt batch_opts[] = {
	{ "--jobs", 'j', "N", OPT_JOBS },
	{ "--progress", 0, NULL, OPT_PROGRESS },
	{ "--no-progress", 0, NULL, OPT_NO_PROGRESS },
	{ "--shard", 0, "I/N", OPT_SHARD },
	{ "--output-dir", 0, "DIR", OPT_OUTPUT_DIR },
	{ "--help", 'h', NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* A job in flight. */
struct bjob {
	struct bjob *prev, *next;
	uint64_t rid;
	char *id;
	struct cli_plan_info info;
	int out_fd, err_fd;     /* --output-dir files, else -1 */
	int io_err;             /* first failed write to them */
	bool killed;            /* by an interrupt */
};

struct batch {
	/* options */
	unsigned max_jobs;
	int progress;           /* 1 on, 0 off, -1 when stderr is a tty */
	uint64_t shard_i, shard_n;
	const char *output_dir;
	const char *input;
	bool help;

	int dir_fd;
	rj_executor *ex;
	struct cli_lines in;
	struct cli_idset ids;
	struct bjob live;       /* list head of the jobs in flight */
	unsigned inflight;
	struct bjob *pending;   /* spawned later: the host was out of fds */
	rj_plan *pending_plan;

	long next_line;
	unsigned long read, done;
	unsigned long counts[RJ_STATUS_INVALID + 1];
	bool eof, stopping, failed;
	double t0, last_progress;
	bool progress_shown;
};

/* ------------------------------------------------------------------------
 * Options
 * ---------------------------------------------------------------------- */

static int parse_shard(struct batch *b, const char *val)
{
	const char *slash = strchr(val, '/');
	char i[32];

	if (!slash || (size_t)(slash - val) >= sizeof(i))
		goto bad;
	memcpy(i, val, (size_t)(slash - val));
	i[slash - val] = '\0';
	if ((strcmp(i, "0") && cli_parse_value(CLI_COUNT, i, &b->shard_i) < 0) ||
	    cli_parse_value(CLI_COUNT, slash + 1, &b->shard_n) < 0 ||
	    b->shard_i >= b->shard_n)
		goto bad;
	return 0;
bad:
	cli_error("--shard: expected I/N with 0 <= I < N, got '%s'", val);
	return -1;
}

static int parse_args(int argc, char **argv, struct batch *b)
{
	const struct cli_opt *opt;
	const char *val;
	uint64_t n;
	int i = 1, rc;

	while (i < argc) {
		rc = cli_next_opt(argc, argv, &i, batch_opts, "batch", &opt, &val);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (i >= argc)
				break;
			if (b->input) {
				cli_error("batch: expected one JOBS.jsonl, got '%s' "
					  "as well as '%s'", argv[i], b->input);
				return -1;
			}
			b->input = argv[i++];
			continue;
		}
		switch (opt->id) {
		case OPT_JOBS:
			if (cli_parse_value(CLI_COUNT, val, &n) < 0 || n > 1000000) {
				cli_error("-j: expected N (a whole number > 0), got '%s'", val);
				return -1;
			}
			b->max_jobs = (unsigned)n;
			break;
		case OPT_PROGRESS:    b->progress = 1; break;
		case OPT_NO_PROGRESS: b->progress = 0; break;
		case OPT_SHARD:
			if (parse_shard(b, val) < 0)
				return -1;
			break;
		case OPT_OUTPUT_DIR:  b->output_dir = val; break;
		case OPT_HELP:        b->help = true; break;
		}
	}
	return 0;
}

static int open_files(struct batch *b)
{
	int fd = STDIN_FILENO;

	if (b->input && strcmp(b->input, "-")) {
		fd = open(b->input, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_error("batch: cannot open '%s': %s", b->input, strerror(errno));
			return -1;
		}
	}
	if (cli_lines_init(&b->in, fd, BATCH_MAX_LINE) < 0) {
		cli_error("batch: out of memory");
		return -1;
	}
	if (b->output_dir) {
		b->dir_fd = open(b->output_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (b->dir_fd < 0) {
			cli_error("--output-dir: cannot open directory '%s': %s",
				  b->output_dir, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Results
 * ---------------------------------------------------------------------- */

/* Write one result line; a stdout that cannot take it ends the batch,
 * since no later result could be delivered either. A result that could
 * not be built (its texts are made encodable, so only memory can fail it)
 * still gets a line that names its job and status, rather than ending the
 * batch. */
static void emit(struct batch *b, json_t *o, const char *id,
		 enum rj_status status)
{
	int rc;

	if (!o)
		o = json_pack("{s:s?, s:s, s:s, s:s, s:s}", "id", id, "status",
			      rj_status_name(status), "message", "ringjail could "
			      "not build this result (out of memory?)",
			      "stdout", "", "stderr", "");
	rc = o ? cli_json_line(stdout, o) : -ENOMEM;

	json_decref(o);
	b->counts[status]++;
	b->done++;
	if (rc < 0 && !b->failed) {
		cli_error("batch: cannot write a result: %s; stopping", strerror(-rc));
		b->failed = true;
		b->stopping = true;
	}
}

static void emit_invalid(struct batch *b, const char *id, long line,
			 const char *message)
{
	emit(b, cli_invalid_result(id, line, message, !b->output_dir), id,
	     RJ_STATUS_INVALID);
}

static void emit_result(struct batch *b, const char *id,
			const struct rj_result *r, const struct cli_plan_info *info)
{
	json_t *o = json_object();

	if (o && (json_object_set_new(o, "id", json_string(id)) ||
		  cli_result_fill(o, r, info) ||
		  (!b->output_dir &&
		   (cli_output_fill(o, "stdout", r->stdout_data, r->stdout_len) ||
		    cli_output_fill(o, "stderr", r->stderr_data, r->stderr_len))))) {
		json_decref(o);
		o = NULL;
	}
	emit(b, o, id, r->status);
}

static const char *stop_signal_name(void)
{
	return cli_signal_name(cli_signal_last);
}

/* ------------------------------------------------------------------------
 * Jobs in flight
 * ---------------------------------------------------------------------- */

static void bjob_free(struct bjob *j)
{
	if (j->out_fd >= 0)
		close(j->out_fd);
	if (j->err_fd >= 0)
		close(j->err_fd);
	free(j->id);
	free(j);
}

static void unlink_job(struct batch *b, struct bjob *j)
{
	j->prev->next = j->next;
	j->next->prev = j->prev;
	b->inflight--;
}

static void finish_job(struct batch *b, struct bjob *j, const struct rj_result *res)
{
	struct rj_result r = *res;

	if (j->killed) {
		r.status = RJ_STATUS_INTERRUPTED;
		snprintf(r.message, sizeof(r.message), "interrupted by %s: the "
			 "job was killed before it ended", stop_signal_name());
	}
	if (j->io_err) {
		cli_error("batch: job '%s': cannot write its output to '%s': %s",
			  j->id, b->output_dir, strerror(-j->io_err));
		b->failed = true;
	}
	emit_result(b, j->id, &r, &j->info);
	unlink_job(b, j);
	bjob_free(j);
}

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	struct batch *b = ctx;
	struct bjob *j = ev->user_data;
	int fd;

	(void)ex;
	switch (ev->type) {
	case RJ_EVENT_STDOUT:
	case RJ_EVENT_STDERR:
		/* Without --output-dir the output comes captured in the
		 * result; with it, it goes to the files as it arrives. */
		fd = ev->type == RJ_EVENT_STDOUT ? j->out_fd : j->err_fd;
		if (fd >= 0 && !j->io_err)
			j->io_err = cli_write_all(fd, ev->data, ev->len);
		break;
	case RJ_EVENT_COMPLETED:
	case RJ_EVENT_TIMEOUT:
		finish_job(b, j, ev->result);
		break;
	}
}

static int open_output(struct batch *b, struct bjob *j, const char *ext)
{
	char name[300];

	snprintf(name, sizeof(name), "%s.%s", j->id, ext);
	/* O_NOFOLLOW: a symlink planted in DIR must not redirect output. */
	return openat(b->dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		      O_NOFOLLOW, 0644);
}

/* A job that never ran gets a setup_error result of its own. */
static void fail_job(struct batch *b, struct bjob *j, const char *why,
		     const char *detail)
{
	struct rj_result r;

	cli_result_synth(&r, RJ_STATUS_SETUP_ERROR, RJ_STAGE_HOST, "%s: %s",
			 why, detail);
	emit_result(b, j->id, &r, &j->info);
	bjob_free(j);
}

static bool transient(int rc)
{
	return rc == -EMFILE || rc == -ENFILE || rc == -EAGAIN || rc == -ENOMEM;
}

/* Spawn j from plan (taking the plan). Returns false when the host is out
 * of fds or processes for now: j and plan wait in b->pending until a
 * sandbox ends. */
static bool spawn_job(struct batch *b, struct bjob *j, rj_plan *plan)
{
	int rc = rj_spawn(b->ex, plan, j, &j->rid);

	if (rc < 0 && transient(rc) && b->inflight > 0) {
		b->pending = j;
		b->pending_plan = plan;
		return false;
	}
	rj_plan_free(plan);
	b->pending = NULL;
	b->pending_plan = NULL;
	if (rc < 0) {
		fail_job(b, j, "cannot start the sandbox", rj_executor_error(b->ex));
		return true;
	}
	j->next = &b->live;
	j->prev = b->live.prev;
	b->live.prev->next = j;
	b->live.prev = j;
	b->inflight++;
	return true;
}

static void start_job(struct batch *b, struct cli_job *job)
{
	struct bjob *j = calloc(1, sizeof(*j));

	if (!j || !(j->id = strdup(job->id))) {
		free(j);
		emit_invalid(b, job->id, job->line, "out of memory");
		return;
	}
	j->info = job->info;
	j->out_fd = j->err_fd = -1;
	if (b->output_dir) {
		j->out_fd = open_output(b, j, "stdout");
		j->err_fd = j->out_fd < 0 ? -1 : open_output(b, j, "stderr");
		if (j->err_fd < 0) {
			fail_job(b, j, "cannot create its output files in "
				 "--output-dir", strerror(errno));
			return;
		}
	}
	spawn_job(b, j, job->plan);
	job->plan = NULL; /* spawn_job took it */
}

/* ------------------------------------------------------------------------
 * Lines
 * ---------------------------------------------------------------------- */

/* The id checks that depend on the whole batch. 0, or -1 with job->err. */
static int check_id(struct batch *b, struct cli_job *job)
{
	int rc = cli_idset_add(&b->ids, job->id);

	if (rc < 0)
		return cli_job_fail(job, "id", "out of memory");
	if (rc == 0)
		return cli_job_fail(job, "id", "duplicate id '%.*s'%s", CLI_CUT(job->id, 200),
				    b->shard_n > 1 ? " in this shard" : "");
	/* The id names the output files: keep it inside DIR. */
	if (b->output_dir && (strchr(job->id, '/') || job->id[0] == '.' ||
			      strlen(job->id) > 200))
		return cli_job_fail(job, "id", "with --output-dir, an id must not "
				    "contain '/', start with '.' or pass 200 bytes");
	return 0;
}

static void handle_line(struct batch *b, long line, const char *text,
			size_t len, bool too_long)
{
	struct cli_job job;
	char msg[128];

	if (too_long) {
		snprintf(msg, sizeof(msg), "line %ld: longer than %u MiB; skipped",
			 line, BATCH_MAX_LINE >> 20);
		emit_invalid(b, NULL, line, msg);
		return;
	}
	if (cli_job_open(&job, text, len, line) < 0 || check_id(b, &job) < 0 ||
	    cli_job_build(&job, !b->output_dir) < 0)
		emit_invalid(b, job.id, line, job.err);
	else
		start_job(b, &job);
	cli_job_done(&job);
}

/* Read lines while there is room in flight, waiting at most timeout_ms
 * for the first. Returns true when input may be ready right away. */
static bool read_some(struct batch *b, int timeout_ms)
{
	for (int k = 0; k < BATCH_READ_BURST; k++) {
		const char *text;
		size_t len;
		bool too_long;
		long line;
		int rc;

		if (b->stopping || b->pending || b->inflight >= b->max_jobs ||
		    cli_signal_count)
			return false;
		rc = cli_lines_next(&b->in, k ? 0 : timeout_ms, &text, &len, &too_long);
		if (rc == CLI_LINES_AGAIN)
			return false;
		if (rc != CLI_LINES_LINE) {
			if (rc < 0) {
				cli_error("batch: cannot read the jobs: %s", strerror(-rc));
				b->failed = true;
			}
			b->eof = true;
			return false;
		}
		line = b->next_line++;
		if ((uint64_t)line % b->shard_n != b->shard_i)
			continue;
		b->read++;
		handle_line(b, line, text, len, too_long);
	}
	return true;
}

/* ------------------------------------------------------------------------
 * Progress, interruption, the loop
 * ---------------------------------------------------------------------- */

static void print_counts(const struct batch *b)
{
	const char *sep = "";

	for (int s = 0; s <= RJ_STATUS_INVALID; s++) {
		if (!b->counts[s])
			continue;
		fprintf(stderr, "%s%s %lu", sep, rj_status_name((enum rj_status)s),
			b->counts[s]);
		sep = ", ";
	}
}

static double runs_per_second(const struct batch *b, double now)
{
	unsigned long runs = b->done - b->counts[RJ_STATUS_INVALID];

	return now > b->t0 ? (double)runs / (now - b->t0) : 0.0;
}

static void progress(struct batch *b)
{
	double now = cli_now();

	if (!b->progress || now - b->last_progress < PROGRESS_INTERVAL)
		return;
	b->last_progress = now;
	b->progress_shown = true;
	if (b->eof)
		fprintf(stderr, "\r[%lu/%lu] ", b->done, b->read);
	else
		fprintf(stderr, "\r[%lu done, %lu read] ", b->done, b->read);
	fprintf(stderr, "%.1f runs/s  ", runs_per_second(b, now));
	print_counts(b);
	/* Erase what a longer previous line left on a terminal. */
	fputs(isatty(STDERR_FILENO) ? "\033[K" : "", stderr);
	fflush(stderr);
}

static void summary(struct batch *b, bool interrupted)
{
	double now = cli_now();

	if (b->progress_shown)
		fputc('\n', stderr);
	fprintf(stderr, "ringjail batch: %lu results in %.2f s, %.1f runs/s",
		b->done, now - b->t0, runs_per_second(b, now));
	if (b->done)
		fputs(": ", stderr);
	print_counts(b);
	if (interrupted)
		fprintf(stderr, "; stopped by %s", stop_signal_name());
	fputc('\n', stderr);
}

/* Start no more jobs and kill the running ones; their final events come
 * through the loop and are reported as interrupted. */
static void stop(struct batch *b)
{
	b->stopping = true;
	for (struct bjob *j = b->live.next; j != &b->live; j = j->next) {
		if (!j->killed && rj_kill(b->ex, j->rid) == 0)
			j->killed = true;
	}
	if (b->pending) {
		struct rj_result r;

		cli_result_synth(&r, RJ_STATUS_INTERRUPTED, RJ_STAGE_NONE,
				 "interrupted by %s before it started",
				 stop_signal_name());
		emit_result(b, b->pending->id, &r, &b->pending->info);
		bjob_free(b->pending);
		rj_plan_free(b->pending_plan);
		b->pending = NULL;
		b->pending_plan = NULL;
	}
}

/* Give every job still in flight a result without waiting for its end:
 * after a second signal, or when the loop itself failed. The executor,
 * freed later, kills and reaps them. */
static void abandon(struct batch *b, enum rj_status status, const char *why)
{
	while (b->live.next != &b->live) {
		struct bjob *j = b->live.next;
		struct rj_result r;

		cli_result_synth(&r, status, RJ_STAGE_NONE, "%s", why);
		emit_result(b, j->id, &r, &j->info);
		unlink_job(b, j);
		bjob_free(j);
	}
}

static int loop_once(struct batch *b)
{
	bool want, ready = false;
	int rc, timeout;

	if (b->pending)
		spawn_job(b, b->pending, b->pending_plan);
	want = !b->eof && !b->stopping;
	if (want)
		ready = read_some(b, b->inflight ? 0 : 100);
	if (!b->inflight)
		return 0;
	/* With room for more jobs and input ready, only dispatch what has
	 * arrived; with input that comes slowly through a pipe, look again
	 * every 10 ms; otherwise wait for events, at most 100 ms so that a
	 * signal is seen even if the wait is not interrupted by it. */
	want = !b->eof && !b->stopping && !b->pending && b->inflight < b->max_jobs;
	timeout = want ? (ready ? 0 : 10) : 100;
	rc = rj_executor_run(b->ex, timeout);
	if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EAGAIN)
		return rc;
	return 0;
}

static void run_loop(struct batch *b)
{
	char why[CLI_ERR_MAX];
	int rc;

	while (b->inflight || b->pending || (!b->eof && !b->stopping)) {
		if (cli_signal_count && !b->stopping)
			stop(b);
		if (cli_signal_count > 1) {
			cli_format(why, sizeof(why), "interrupted by %s: killed; a second "
				 "signal ended the wait for its end", stop_signal_name());
			abandon(b, RJ_STATUS_INTERRUPTED, why);
			return;
		}
		rc = loop_once(b);
		if (rc < 0) {
			cli_format(why, sizeof(why), "the event loop failed: %s: %s",
				 strerror(-rc), rj_executor_error(b->ex));
			cli_error("batch: %s", why);
			b->failed = true;
			abandon(b, RJ_STATUS_SETUP_ERROR, why);
			return;
		}
		progress(b);
	}
}

static unsigned default_jobs(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return (unsigned)(cpus > 0 ? cpus : 1) * BATCH_JOBS_PER_CPU;
}

static int batch_run(struct batch *b)
{
	struct rj_executor_opts o = { .on_event = on_event, .ctx = b };
	bool interrupted;
	int rc;

	if (b->progress < 0)
		b->progress = isatty(STDERR_FILENO);
	if (cli_catch_signals() < 0)
		cli_error("cannot catch the stop signals: %s", strerror(errno));
	rc = rj_executor_new(&b->ex, &o);
	if (rc < 0) {
		cli_error("batch: cannot create the executor: %s", rj_executor_error(NULL));
		return CLI_EXIT_USAGE;
	}
	b->t0 = b->last_progress = cli_now();
	run_loop(b);
	rj_executor_free(b->ex);
	interrupted = b->stopping && cli_signal_count;
	summary(b, interrupted);
	if (interrupted || b->failed || b->counts[RJ_STATUS_INVALID] ||
	    b->counts[RJ_STATUS_SETUP_ERROR] || b->counts[RJ_STATUS_INTERRUPTED])
		return CLI_EXIT_FAIL;
	return CLI_EXIT_OK;
}

int cli_batch_main(int argc, char **argv)
{
	struct batch b = { .progress = -1, .shard_n = 1, .dir_fd = -1 };
	int status;

	b.live.next = b.live.prev = &b.live;
	if (parse_args(argc, argv, &b) < 0)
		return CLI_EXIT_USAGE;
	if (b.help) {
		cli_help_batch(stdout);
		return CLI_EXIT_OK;
	}
	if (!b.max_jobs)
		b.max_jobs = default_jobs();
	if (open_files(&b) < 0)
		status = CLI_EXIT_USAGE;
	else
		status = batch_run(&b);
	cli_lines_free(&b.in);
	cli_idset_free(&b.ids);
	if (b.in.fd > STDIN_FILENO)
		close(b.in.fd);
	if (b.dir_fd >= 0)
		close(b.dir_fd);
	return status;
}
