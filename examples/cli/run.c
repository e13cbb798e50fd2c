/*
 * `ringjail run [OPTIONS] -- PROGRAM [ARG...]`: one sandbox, its output
 * streamed to ringjail's own stdout and stderr as it arrives, its result
 * as the exit status and, with --meta, as one JSON object.
 *
 * The run goes through rj_executor_new + rj_spawn + rj_executor_run rather
 * than rj_run: rj_run returns only at the end, and a judge watching a long
 * program wants its output as it comes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Option ids: the limits use their enum rj_limit value. */
enum {
	OPT_STDIN = 100, OPT_FILE, OPT_DIR, OPT_WORKDIR, OPT_ENV, OPT_NET,
	OPT_ALLOW, OPT_DENY, OPT_BEST_EFFORT, OPT_META, OPT_HELP,
};

static const struct cli_opt run_opts[] = {
	{ "--time", 0, "SEC", RJ_LIMIT_TIME },
	{ "--wall-time", 0, "SEC", RJ_LIMIT_WALL_TIME },
	{ "--mem", 0, "SIZE", RJ_LIMIT_MEM },
	{ "--pids", 0, "N", RJ_LIMIT_PIDS },
	{ "--output", 0, "SIZE", RJ_LIMIT_OUTPUT },
	{ "--fsize", 0, "SIZE", RJ_LIMIT_FSIZE },
	{ "--disk", 0, "SIZE", RJ_LIMIT_DISK },
	{ "--open-files", 0, "N", RJ_LIMIT_OPEN_FILES },
	{ "--stack", 0, "SIZE or 'unlimited'", RJ_LIMIT_STACK },
	{ "--stdin", 0, "FILE", OPT_STDIN },
	{ "--file", 0, "HOST[:BOX]", OPT_FILE },
	{ "--dir", 0, "HOST[:BOX][:rw]", OPT_DIR },
	{ "--workdir", 0, "DIR", OPT_WORKDIR },
	{ "--env", 0, "NAME=VALUE", OPT_ENV },
	{ "--net", 0, NULL, OPT_NET },
	{ "--allow-syscall", 0, "NAME", OPT_ALLOW },
	{ "--deny-syscall", 0, "NAME", OPT_DENY },
	{ "--best-effort", 0, NULL, OPT_BEST_EFFORT },
	{ "--meta", 0, "FILE", OPT_META },
	{ "--help", 'h', NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct run_item {
	const struct cli_opt *opt;
	const char *val;
};

struct run_args {
	struct run_item *items; /* in command-line order, applied in order */
	size_t n;
	const char *meta;
	const char *workdir;
	char **argv;            /* PROGRAM [ARG...], NULL-terminated */
	bool help;
};

static const struct cli_limit_spec *limit_spec(int id)
{
	for (const struct cli_limit_spec *s = cli_limits; s->key; s++)
		if ((int)s->limit == id)
			return s;
	return NULL;
}

/* Scan the options, checking each value's form now so that a typo is a
 * usage error before anything is opened. 0, or -1 after a message. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
	const struct cli_opt *opt;
	const char *val;
	int i = 1, rc;

	a->items = calloc((size_t)argc, sizeof(*a->items));
	if (!a->items)
		return cli_error("out of memory"), -1;
	while ((rc = cli_next_opt(argc, argv, &i, run_opts, "run", &opt, &val)) > 0) {
		const struct cli_limit_spec *spec = limit_spec(opt->id);
		uint64_t v;

		if (spec && cli_parse_value(spec->kind, val, &v) < 0) {
			cli_error("%s: %s, got '%s'", opt->name,
				  cli_expected(spec->kind), val);
			return -1;
		}
		if (opt->id == OPT_HELP)
			a->help = true;
		else if (opt->id == OPT_META)
			a->meta = val;
		else if (opt->id == OPT_WORKDIR)
			a->workdir = val; /* applied first, the last one given */
		else
			a->items[a->n++] = (struct run_item){ opt, val };
	}
	if (rc < 0)
		return -1;
	if (!a->help && i >= argc) {
		cli_error("run: expected PROGRAM (ringjail run [OPTIONS] -- "
			  "PROGRAM [ARG...])");
		return -1;
	}
	a->argv = argv + i;
	return 0;
}

/* Apply one option to the plan: 0, CLI_BAD_FORM or CLI_BAD_HOST with err.
 * The run's workdir is applied already. */
static int apply_item(rj_plan *plan, struct cli_plan_info *info,
		      const struct run_item *it, char *err, size_t n)
{
	const struct cli_limit_spec *spec = limit_spec(it->opt->id);
	uint64_t v;
	int rc = 0;

	if (spec) {
		cli_parse_value(spec->kind, it->val, &v); /* checked already */
		return cli_set_limit(plan, info, spec->limit, v, err, n);
	}
	switch (it->opt->id) {
	case OPT_STDIN:
		return cli_set_stdin_file(plan, it->val, err, n);
	case OPT_FILE:
		return cli_add_file_spec(plan, it->val, err, n);
	case OPT_DIR:
		return cli_add_dir_spec(plan, it->val, err, n);
	case OPT_ENV:
		return cli_set_env_spec(plan, it->val, err, n);
	case OPT_NET:
		rc = rj_plan_set_net(plan, true);
		break;
	case OPT_ALLOW:
		rc = rj_plan_allow_syscall(plan, it->val);
		break;
	case OPT_DENY:
		rc = rj_plan_deny_syscall(plan, it->val);
		break;
	case OPT_BEST_EFFORT:
		rc = rj_plan_set_best_effort(plan, true);
		info->best_effort = true;
		break;
	}
	return rc < 0 ? cli_plan_failed(plan, rc, it->val, err, n) : 0;
}

struct run_state {
	uint64_t id;
	bool done;
	bool stdout_broken;       /* our stdout's reader went away */
	bool interrupted;         /* a stop signal made us kill the sandbox */
	struct rj_result result;
};

/* Forward one slice of the program's output to our own fd. */
static void forward(struct run_state *st, int fd, const struct rj_event *ev)
{
	int rc;

	if (fd == STDOUT_FILENO && st->stdout_broken)
		return;
	rc = cli_write_all(fd, ev->data, ev->len);
	if (rc < 0 && fd == STDOUT_FILENO) {
		/* Like a program in a shell pipeline whose reader quit: stop
		 * the program rather than let it run on writing to nothing. */
		st->stdout_broken = true;
		cli_error("cannot write the program's output: %s; stopping it",
			  strerror(-rc));
	}
}

static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	struct run_state *st = ctx;

	(void)ex;
	switch (ev->type) {
	case RJ_EVENT_STDOUT:
		forward(st, STDOUT_FILENO, ev);
		break;
	case RJ_EVENT_STDERR:
		forward(st, STDERR_FILENO, ev);
		break;
	case RJ_EVENT_COMPLETED:
	case RJ_EVENT_TIMEOUT:
		/* The result is borrowed for the callback: keep a copy, minus
		 * the captured-output pointers (run captures nothing). */
		st->result = *ev->result;
		st->result.stdout_data = st->result.stderr_data = NULL;
		st->result.stdout_len = st->result.stderr_len = 0;
		st->done = true;
		break;
	}
}

/* Spawn the plan and run the loop until its final event. Failures before
 * the sandbox exists become a synthesized setup_error result. */
static void execute(const rj_plan *plan, struct run_state *st)
{
	struct rj_executor_opts o = { .on_event = on_event, .ctx = st };
	rj_executor *ex = NULL;
	bool killed = false;
	int rc;

	rc = rj_executor_new(&ex, &o);
	if (rc < 0) {
		cli_result_synth(&st->result, RJ_STATUS_SETUP_ERROR, RJ_STAGE_HOST,
				 "cannot create the executor: %s", rj_executor_error(NULL));
		return;
	}
	rc = rj_spawn(ex, plan, NULL, &st->id);
	if (rc < 0) {
		cli_result_synth(&st->result, RJ_STATUS_SETUP_ERROR, RJ_STAGE_HOST,
				 "cannot start the sandbox: %s", rj_executor_error(ex));
		rj_executor_free(ex);
		return;
	}
	while (!st->done) {
		/* A short timeout so a signal caught just before the wait is
		 * seen within 100 ms even if the wait does not return EINTR. */
		rc = rj_executor_run(ex, 100);
		if (rc < 0 && rc != -EINTR && rc != -ETIME && rc != -EAGAIN) {
			cli_result_synth(&st->result, RJ_STATUS_SETUP_ERROR,
					 RJ_STAGE_HOST, "the event loop failed: %s: %s",
					 strerror(-rc), rj_executor_error(ex));
			break;
		}
		if (!killed && (cli_signal_count || st->stdout_broken)) {
			killed = true;
			rc = rj_kill(ex, st->id);
			/* Only a kill that reached a running sandbox makes the
			 * result ours: a program that ended first keeps its own. */
			st->interrupted = cli_signal_count && rc == 0;
		}
	}
	rj_executor_free(ex);
	if (st->interrupted && st->done) {
		/* The caller stopped the run: CLI.md never blames the program
		 * (signaled, or a limit reached while it was dying) for it. */
		st->result.status = RJ_STATUS_INTERRUPTED;
		snprintf(st->result.message, sizeof(st->result.message),
			 "interrupted by %s: the sandbox was killed before the "
			 "program ended", cli_signal_name(cli_signal_last));
	}
}

static FILE *open_meta(const char *path)
{
	int fd;
	FILE *f;

	if (!strcmp(path, "-"))
		return stderr;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		cli_error("--meta: cannot open '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

/* Write the result to --meta (if given) and say on stderr why a run did
 * not end ok when nobody reads a --meta file. Returns the exit status. */
static int finish(const struct run_state *st, const struct cli_plan_info *info,
		  FILE *meta)
{
	const struct rj_result *r = &st->result;
	int status = r->status == RJ_STATUS_OK ? CLI_EXIT_OK :
		     r->status == RJ_STATUS_SETUP_ERROR ? CLI_EXIT_USAGE :
		     CLI_EXIT_FAIL;

	if (st->interrupted)
		cli_error("interrupted by %s; the sandbox was killed",
			  cli_signal_name(cli_signal_last));
	else if (r->status == RJ_STATUS_SETUP_ERROR)
		cli_error("setup_error (%s): %s",
			  rj_setup_stage_name(r->setup_stage), r->message);
	else if (r->status != RJ_STATUS_OK && !meta)
		cli_error("%s%s%s", rj_status_name(r->status),
			  *r->message ? ": " : "", r->message);
	if (meta) {
		json_t *o = json_object();
		int rc = o ? cli_result_fill(o, r, info) : -ENOMEM;

		if (rc == 0)
			rc = cli_json_line(meta, o);
		json_decref(o);
		if ((meta != stderr && fclose(meta) == EOF && rc == 0) || rc < 0) {
			cli_error("--meta: cannot write the result: %s",
				  strerror(rc < 0 ? -rc : errno));
			status = CLI_EXIT_USAGE;
		}
	}
	return status;
}

/* Build the plan from the options. 0, or the exit status after a usage
 * error (no result) or a host error (a setup_error result). */
static int build_plan(const struct run_args *a, rj_plan **out,
		      struct cli_plan_info *info, struct run_state *st)
{
	char err[CLI_ERR_MAX];
	rj_plan *plan = rj_plan_new((const char *const *)a->argv);

	if (!plan) {
		cli_error("run: cannot use PROGRAM '%s': %s", a->argv[0],
			  strerror(errno));
		return CLI_EXIT_USAGE;
	}
	info->output_limit = CLI_DEFAULT_OUTPUT;
	/* The workdir first, wherever it was given: a host file inside it is
	 * then opened beneath it, never through a link planted there. */
	for (size_t k = 0; k <= a->n; k++) {
		const char *name = k ? a->items[k - 1].opt->name : "--workdir";
		int rc;

		if (k == 0 && !a->workdir)
			continue;
		rc = k ? apply_item(plan, info, &a->items[k - 1], err, sizeof(err)) :
			 cli_set_workdir(plan, a->workdir, err, sizeof(err));
		if (rc == CLI_BAD_FORM) {
			cli_error("%s: %s", name, err);
			rj_plan_free(plan);
			return CLI_EXIT_USAGE;
		}
		if (rc == CLI_BAD_HOST) {
			cli_result_synth(&st->result, RJ_STATUS_SETUP_ERROR,
					 RJ_STAGE_HOST, "%s: %s", name, err);
			rj_plan_free(plan);
			return -1;
		}
	}
	*out = plan;
	return 0;
}

int cli_run_main(int argc, char **argv)
{
	struct run_args a = { 0 };
	struct cli_plan_info info = { 0 };
	struct run_state st = { 0 };
	rj_plan *plan = NULL;
	FILE *meta = NULL;
	int rc;

	if (parse_args(argc, argv, &a) < 0) {
		free(a.items);
		return CLI_EXIT_USAGE;
	}
	if (a.help) {
		free(a.items);
		cli_help_run(stdout);
		return CLI_EXIT_OK;
	}
	if (a.meta && !(meta = open_meta(a.meta))) {
		free(a.items);
		return CLI_EXIT_USAGE;
	}
	rc = build_plan(&a, &plan, &info, &st);
	free(a.items);
	if (rc > 0) {
		if (meta && meta != stderr)
			fclose(meta);
		return rc;
	}
	if (rc == 0) {
		if (cli_catch_signals() < 0)
			cli_error("cannot catch the stop signals: %s", strerror(errno));
		execute(plan, &st);
		rj_plan_free(plan);
	}
	return finish(&st, &info, meta);
}
