/*
 * libFuzzer target: one batch job line through the CLI's parser and the
 * library's plan builder (examples/cli/job.c, lib/plan.c), exactly as
 * `ringjail batch` reads a line, without running anything.
 *
 * Besides crashes, leaks and sanitizer reports, it stops on what the batch
 * must never do: a refused line whose message is not valid UTF-8 (the
 * result would be dropped), a refused line that gets no result object, a
 * job accepted without an id or a plan. Built by meson only with a
 * compiler that has -fsanitize=fuzzer (clang); scripts/fuzz builds and
 * runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check(bool ok, const char *what, const struct cli_job *job)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_job: %s (message: %s)\n", what, job->err);
	abort();
}

/* The result line of a refused job: built, and written, as the batch
 * writes it. */
static void check_invalid(const struct cli_job *job)
{
	json_t *msg = json_string(job->err);
	json_t *o = cli_invalid_result(job->id, job->line, job->err, true);
	char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

	check(msg != NULL, "the message is not valid UTF-8", job);
	check(line != NULL, "no result line for a refused job", job);
	check(strstr(job->err, "line 7") == job->err, "the message does not start "
	      "with the line", job);
	json_decref(msg);
	json_decref(o);
	free(line);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct cli_job job;
	/* The batch hands over a line without its '\n'. */
	const char *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - (const char *)data) : size;

	if (cli_job_open(&job, (const char *)data, len, 7) < 0 ||
	    cli_job_build(&job, true) < 0) {
		check_invalid(&job);
	} else {
		check(job.id && *job.id && job.plan, "a job accepted without an id "
		      "or a plan", &job);
		check(job.info.output_limit > 0, "no output limit", &job);
	}
	cli_job_done(&job);
	return 0;
}
