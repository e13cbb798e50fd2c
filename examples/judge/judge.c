/*
 * judge-demo: a small programming-contest judge on libringjail.
 *
 * It judges ten solutions of one problem ("range sums", problem.h) on 20
 * tests it generates itself, and checks that each gets the verdict it was
 * written to get:
 *
 *   1. compiles each C solution with gcc inside a sandbox whose workspace
 *      is a kept host directory, so the a.out it leaves feeds step 2;
 *   2. runs every solution on every test, each run in its own sandbox, up
 *      to -j at a time, all from one executor (one io_uring event loop);
 *   3. compares each output with the reference answer, exactly or
 *      tolerating whitespace, and maps the sandbox's status to a verdict;
 *   4. prints a verdict table per solution and a summary, and checks that
 *      the hostile solution left no trace on the host.
 *
 *   judge-demo [--mode exact|tolerant] [-j N] [-q] [--keep] [--solutions DIR]
 *
 * Exit status: 0 when every solution got its expected verdict, 1 when one
 * did not, 2 when the judge itself could not run (the message says why).
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "problem.h"
#include "ringjail.h"

#ifndef JUDGE_SOLUTIONS_DIR /* meson passes examples/judge/solutions */
#define JUDGE_SOLUTIONS_DIR "examples/judge/solutions"
#endif

/* The hostile solution writes here; it must never appear on the host. */
#define HOSTILE_TRACE "/tmp/ringjail-judge-demo-hostile"

enum verdict { AC, WA, TLE, MLE, RE, OLE, CE, SV, SE, NOT_RUN };
static const char *const verdict_names[] = {
	"AC", "WA", "TLE", "MLE", "RE", "OLE", "CE", "SV", "SE", "--",
};

/* Comparison modes, as bits: a solution is judged in one or both. */
enum { EXACT = 1, TOLERANT = 2 };

struct outcome {
	enum verdict verdict[2]; /* [0]: exact, [1]: tolerant */
	char detail[2][80];      /* why, when not AC */
	double cpu_ms;
	unsigned long long memory_kib;
};

struct solution {
	const char *file;        /* in the solutions directory */
	const char *what;
	enum verdict expect[2];  /* exact, tolerant */
	unsigned modes;          /* the modes it is judged in by default */
	/* Filled in while judging. */
	bool python;
	char dir[PATH_MAX];      /* its build directory, the compile's /box */
	enum verdict compiled;   /* AC, CE or SE */
	double compile_ms;       /* wall-clock time of the compile */
	char compile_log[1024];
	char report[1024];       /* stderr of test 1 (shown for the hostile one) */
	struct outcome tests[PROBLEM_TESTS];
};

static struct solution solutions[] = {
	{ "accepted.c", "prefix sums, O(N + Q)", { AC, AC }, EXACT },
	{ "accepted.py", "prefix sums in Python", { AC, AC }, EXACT },
	{ "wrong_answer.c", "sums in 32-bit ints", { WA, WA }, EXACT },
	{ "time_limit.c", "sums each range afresh, O(N * Q)", { TLE, TLE }, EXACT },
	{ "memory_limit.c", "allocates 1 GiB", { MLE, MLE }, EXACT },
	{ "runtime_error.py", "prefix array one too short", { RE, RE }, EXACT },
	{ "output_limit.c", "debug trace left on stderr", { OLE, OLE }, EXACT },
	{ "hostile.c", "fork bomb, /etc/shadow, host /tmp, ptrace", { SV, SV }, EXACT },
	{ "whitespace.c", "trailing spaces, extra blank line", { WA, AC },
	  EXACT | TOLERANT },
	{ "compile_error.c", "undeclared variable", { CE, CE }, EXACT },
};
#define NSOLUTIONS (sizeof(solutions) / sizeof(solutions[0]))

/* One sandbox to run: a compile (test < 0) or a solution on a test. */
struct job {
	struct solution *sol;
	int test;
};

struct judge {
	const char *solutions_dir;
	char root[PATH_MAX];     /* temporary directory of this run */
	struct test tests[PROBLEM_TESTS];
	unsigned mode;           /* EXACT, TOLERANT, or 0: each its own */
	unsigned jobs;           /* sandboxes at a time */
	bool quiet;
	unsigned sandboxes;      /* final events received */
	unsigned started;        /* of which got past setup */
	uint32_t hardening;      /* layers every one of those had */
};

/* dst = dir/name; -ENAMETOOLONG if it does not fit. */
static int path_join(char *dst, size_t len, const char *dir, const char *name)
{
	int n = snprintf(dst, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------------
 * Plans: what a compile and a test run look like
 * ---------------------------------------------------------------------- */

struct limit { enum rj_limit limit; uint64_t value; };

#define MIB (1024ULL * 1024)
#define SEC 1000000ULL /* limits of time are in microseconds */

/* gcc runs cc1, as, collect2 and ld: it needs a few processes. */
static const struct limit compile_limits[] = {
	{ RJ_LIMIT_TIME, 20 * SEC }, { RJ_LIMIT_WALL_TIME, 20 * SEC },
	{ RJ_LIMIT_MEM, 512 * MIB }, { RJ_LIMIT_PIDS, 32 },
	{ RJ_LIMIT_FSIZE, 256 * MIB }, { RJ_LIMIT_OUTPUT, 1 * MIB },
};
/* Per test. Python's interpreter needs more memory than a C program. */
static const struct limit test_limits[] = {
	{ RJ_LIMIT_TIME, 1 * SEC }, { RJ_LIMIT_WALL_TIME, 3 * SEC },
	{ RJ_LIMIT_MEM, 64 * MIB }, { RJ_LIMIT_PIDS, 16 },
	{ RJ_LIMIT_OUTPUT, 1 * MIB },
};
#define PYTHON_MEM (128 * MIB)

static const char *const gcc_argv[] = {
	"/usr/bin/gcc", "-std=gnu17", "-O2", "-o", "a.out", "solution.c", "-lm", NULL,
};
static const char *const c_argv[] = { "./a.out", NULL };
static const char *const python_argv[] = { "/usr/bin/python3", "solution.py", NULL };

static int set_limits(rj_plan *plan, const struct limit *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = rj_plan_set_limit(plan, l[i].limit, l[i].value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The plan of one job; NULL after printing why. */
static rj_plan *make_plan(const struct judge *j, const struct job *job)
{
	const struct solution *sol = job->sol;
	char src[PATH_MAX];
	rj_plan *plan;
	int rc;

	plan = rj_plan_new(job->test < 0 ? gcc_argv : sol->python ? python_argv : c_argv);
	if (!plan) {
		fprintf(stderr, "judge-demo: rj_plan_new: %s\n", strerror(errno));
		return NULL;
	}
	if (job->test < 0) {
		/* The build directory is /box, kept: gcc's a.out stays there. */
		rc = rj_plan_set_workdir(plan, sol->dir);
		if (rc == 0)
			rc = set_limits(plan, compile_limits,
					sizeof(compile_limits) / sizeof(compile_limits[0]));
		if (rc == 0)
			rc = rj_plan_set_capture(plan, sizeof(sol->compile_log));
	} else {
		/* A fresh /box per run, with a copy of the program in it. */
		if (sol->python)
			rc = path_join(src, sizeof(src), j->solutions_dir, sol->file);
		else
			rc = path_join(src, sizeof(src), sol->dir, "a.out");
		if (rc == 0)
			rc = rj_plan_add_host_file(plan, sol->python ? "solution.py" : "a.out", src,
						   RJ_MODE_KEEP_EXEC);
		if (rc == 0)
			rc = rj_plan_set_stdin_file(plan, j->tests[job->test].input_path);
		if (rc == 0)
			rc = set_limits(plan, test_limits,
					sizeof(test_limits) / sizeof(test_limits[0]));
		if (rc == 0 && sol->python)
			rc = rj_plan_set_limit(plan, RJ_LIMIT_MEM, PYTHON_MEM);
		/* Keep all the output the limit lets through, to compare it. */
		if (rc == 0)
			rc = rj_plan_set_capture(plan, 1 * MIB);
	}
	if (rc < 0) {
		fprintf(stderr, "judge-demo: cannot prepare %s: %s (%s)\n", sol->file,
			strerror(-rc), rj_plan_error(plan));
		rj_plan_free(plan);
		return NULL;
	}
	return plan;
}

/* ------------------------------------------------------------------------
 * Verdicts: from a sandbox's result to what a judge shows
 * ---------------------------------------------------------------------- */

static enum verdict verdict_of_status(enum rj_status status)
{
	switch (status) {
	case RJ_STATUS_OK:                return AC; /* if the output matches */
	case RJ_STATUS_TIME_LIMIT:
	case RJ_STATUS_WALL_TIME_LIMIT:   return TLE;
	case RJ_STATUS_MEMORY_LIMIT:      return MLE;
	case RJ_STATUS_RUNTIME_ERROR:
	case RJ_STATUS_SIGNALED:          return RE;
	case RJ_STATUS_OUTPUT_LIMIT:      return OLE;
	case RJ_STATUS_SYSCALL_VIOLATION: return SV;
	default:                          return SE;
	}
}

/* The last non-empty line of a program's stderr (a Python traceback ends
 * with the exception), copied into dst; false when there is none. */
static bool last_line(char *dst, size_t dst_len, const char *s, size_t len)
{
	if (!s)
		return false;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	if (len == 0)
		return false;
	size_t start = len;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	snprintf(dst, dst_len, "%.*s", (int)(len - start), s + start);
	return true;
}

static void record_test(struct judge *j, const struct job *job,
			const struct rj_result *r)
{
	struct solution *sol = job->sol;
	struct outcome *o = &sol->tests[job->test];
	const struct test *t = &j->tests[job->test];

	o->cpu_ms = r->cpu_ms;
	o->memory_kib = (unsigned long long)r->memory_kib;
	if (job->test == 0)
		snprintf(sol->report, sizeof(sol->report), "%.*s",
			 (int)r->stderr_len, r->stderr_data ? r->stderr_data : "");
	for (int m = 0; m < 2; m++) {
		o->verdict[m] = verdict_of_status(r->status);
		o->detail[m][0] = '\0';
		if (r->status == RJ_STATUS_OK) {
			if (!problem_output_matches(r->stdout_data, r->stdout_len,
						    t->expected, t->expected_len, m == 1,
						    o->detail[m], sizeof(o->detail[m])))
				o->verdict[m] = WA;
		} else if (r->status != RJ_STATUS_RUNTIME_ERROR ||
			   !last_line(o->detail[m], sizeof(o->detail[m]),
				      r->stderr_data, r->stderr_len)) {
			snprintf(o->detail[m], sizeof(o->detail[m]), "%.*s",
				 (int)sizeof(o->detail[m]) - 1, r->message);
		}
	}
}

static void record_compile(struct solution *sol, const struct rj_result *r)
{
	sol->compile_ms = r->wall_ms;
	snprintf(sol->compile_log, sizeof(sol->compile_log), "%.*s",
		 (int)r->stderr_len, r->stderr_data ? r->stderr_data : "");
	if (r->status == RJ_STATUS_OK)
		sol->compiled = AC;
	else if (r->status == RJ_STATUS_SETUP_ERROR)
		sol->compiled = SE;
	else
		sol->compiled = CE; /* gcc failed, or ran out of time or memory */
	if (r->status != RJ_STATUS_OK && r->status != RJ_STATUS_RUNTIME_ERROR)
		snprintf(sol->compile_log, sizeof(sol->compile_log),
			 "compiler: %s: %s", rj_status_name(r->status), r->message);
}

/* Called from rj_executor_run() for every event. The result and its
 * captured output are borrowed: record what we keep, then return. */
static void on_event(rj_executor *ex, const struct rj_event *ev, void *ctx)
{
	struct judge *j = ctx;
	struct job *job = ev->user_data;

	(void)ex;
	if (ev->type != RJ_EVENT_COMPLETED && ev->type != RJ_EVENT_TIMEOUT)
		return; /* output slices: the captured copy in the result will do */
	j->sandboxes++;
	if (ev->result->status != RJ_STATUS_SETUP_ERROR) {
		j->started++;
		j->hardening &= ev->result->hardening;
	}
	if (job->test < 0)
		record_compile(job->sol, ev->result);
	else
		record_test(j, job, ev->result);
}

/* ------------------------------------------------------------------------
 * Running jobs, up to j->jobs at a time
 * ---------------------------------------------------------------------- */

/* A job that could not start: its sandbox never ran. */
static void fail_job(struct job *job, const char *why)
{
	if (job->test < 0) {
		job->sol->compiled = SE;
		snprintf(job->sol->compile_log, sizeof(job->sol->compile_log),
			 "not started: %s", why);
		return;
	}
	struct outcome *o = &job->sol->tests[job->test];
	for (int m = 0; m < 2; m++) {
		o->verdict[m] = SE;
		snprintf(o->detail[m], sizeof(o->detail[m]), "not started: %s", why);
	}
}

/* Spawn jobs[0..n) and dispatch events until all have ended. rj_spawn
 * returns at once, so the loop tops up to j->jobs sandboxes in flight,
 * then waits on the ring. When the host runs short of fds or processes,
 * it waits for some sandboxes to end and tries again. -1 if the event
 * loop itself failed. */
static int run_jobs(struct judge *j, rj_executor *ex, struct job *jobs, size_t n)
{
	size_t next = 0;

	while (next < n || rj_executor_active(ex) > 0) {
		while (next < n && rj_executor_active(ex) < j->jobs) {
			rj_plan *plan = make_plan(j, &jobs[next]);
			uint64_t id;
			int rc;

			if (!plan) {
				fail_job(&jobs[next++], "invalid plan");
				continue;
			}
			rc = rj_spawn(ex, plan, &jobs[next], &id);
			rj_plan_free(plan); /* the sandbox does not need it */
			if ((rc == -EMFILE || rc == -ENFILE || rc == -EAGAIN) &&
			    rj_executor_active(ex) > 0)
				break; /* retry once some sandboxes have ended */
			if (rc < 0)
				fail_job(&jobs[next], rj_executor_error(ex));
			next++;
		}
		int rc = rj_executor_run(ex, -1);
		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "judge-demo: rj_executor_run: %s (%s)\n",
				strerror(-rc), rj_executor_error(ex));
			return -1;
		}
	}
	return 0;
}

/* Copy a file (the C source into its build directory). */
static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "r"), *out = in ? fopen(to, "w") : NULL;
	size_t n;
	int rc = 0;

	while (out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (!in || !out || ferror(in) || rc < 0 || fclose(out) != 0)
		rc = -1;
	if (in)
		fclose(in);
	return rc;
}

/* Give each C solution its build directory, with its source in it. Prints
 * why and returns -1 when a solution cannot be read. */
static int prepare_solutions(struct judge *j)
{
	for (size_t s = 0; s < NSOLUTIONS; s++) {
		struct solution *sol = &solutions[s];
		char src[PATH_MAX], dst[PATH_MAX], name[64];

		snprintf(name, sizeof(name), "build-%s", sol->file);
		if (path_join(src, sizeof(src), j->solutions_dir, sol->file) < 0 ||
		    path_join(sol->dir, sizeof(sol->dir), j->root, name) < 0 ||
		    path_join(dst, sizeof(dst), sol->dir, "solution.c") < 0) {
			fprintf(stderr, "judge-demo: path too long under %s or %s\n",
				j->solutions_dir, j->root);
			return -1;
		}
		if (access(src, R_OK) < 0) {
			fprintf(stderr, "judge-demo: cannot read %s: %s\n"
				"  (pass --solutions DIR, DIR being examples/judge/solutions "
				"of the source tree)\n", src, strerror(errno));
			return -1;
		}
		sol->python = strstr(sol->file, ".py") != NULL;
		sol->compiled = sol->python ? AC : NOT_RUN; /* Python: nothing to do */
		for (int t = 0; t < PROBLEM_TESTS; t++)
			sol->tests[t].verdict[0] = sol->tests[t].verdict[1] = NOT_RUN;
		if (!sol->python && (mkdir(sol->dir, 0700) < 0 || copy_file(src, dst) < 0)) {
			fprintf(stderr, "judge-demo: cannot prepare %s: %s\n", sol->dir,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Compile every C solution, then run every compiled one on every test.
 * Tests go in test order, so each solution's early tests end first. */
static int judge_all(struct judge *j, rj_executor *ex)
{
	static struct job jobs[NSOLUTIONS * PROBLEM_TESTS];
	size_t n = 0;

	for (size_t s = 0; s < NSOLUTIONS; s++)
		if (!solutions[s].python)
			jobs[n++] = (struct job){ &solutions[s], -1 };
	if (run_jobs(j, ex, jobs, n) < 0)
		return -1;
	n = 0;
	for (int t = 0; t < PROBLEM_TESTS; t++)
		for (size_t s = 0; s < NSOLUTIONS; s++)
			if (solutions[s].compiled == AC)
				jobs[n++] = (struct job){ &solutions[s], t };
	return run_jobs(j, ex, jobs, n);
}

/* ------------------------------------------------------------------------
 * Reporting
 * ---------------------------------------------------------------------- */

/* The solution's overall verdict in mode m (0 exact, 1 tolerant): the
 * first test that is not AC decides, as on a contest's scoreboard. */
static enum verdict overall(const struct solution *sol, int m)
{
	if (sol->compiled != AC)
		return sol->compiled == NOT_RUN ? SE : sol->compiled;
	for (int t = 0; t < PROBLEM_TESTS; t++)
		if (sol->tests[t].verdict[m] != AC)
			return sol->tests[t].verdict[m] == NOT_RUN ? SE
								    : sol->tests[t].verdict[m];
	return AC;
}

static unsigned modes_of(const struct judge *j, const struct solution *sol)
{
	return j->mode ? j->mode : sol->modes;
}

/* Print an indented block of text, at most max_lines lines of it. */
static void print_indented(const char *text, int max_lines)
{
	while (*text && max_lines-- > 0) {
		int len = (int)strcspn(text, "\n");

		printf("    | %.*s\n", len, text);
		text += len + (text[len] == '\n');
	}
}

static void print_solution(const struct judge *j, const struct solution *sol)
{
	unsigned modes = modes_of(j, sol);
	const char *previous = "";

	printf("\n== %s: %s (%s)\n", sol->file, sol->what, sol->python ? "Python" : "C");
	if (sol->compiled != AC) {
		printf("  compilation failed (%s); the compiler said:\n",
		       verdict_names[overall(sol, 0)]);
		print_indented(sol->compile_log, 6);
	} else {
		if (!sol->python)
			printf("  compiled by gcc in a sandbox in %.0f ms\n", sol->compile_ms);
		printf("  test  %s%s   time ms  memory KiB  detail\n",
		       modes & EXACT ? "exact   " : "", modes & TOLERANT ? "tolerant" : "");
		for (int t = 0; t < PROBLEM_TESTS; t++) {
			const struct outcome *o = &sol->tests[t];
			const char *detail = "";

			printf("  %4d  ", t + 1);
			for (int m = 0; m < 2; m++) {
				if (!(modes & (1u << m)))
					continue;
				printf("%-8s", verdict_names[o->verdict[m]]);
				if (!*detail && o->verdict[m] != AC)
					detail = o->detail[m];
			}
			/* A detail repeated from the row above only adds noise. */
			if (*detail && !strcmp(detail, previous))
				detail = "(as above)";
			else
				previous = detail;
			printf("%10.1f %11llu  %s\n", o->cpu_ms, o->memory_kib, detail);
		}
	}
	if (*sol->report && sol->expect[0] == SV) {
		printf("  what it reported on stderr (test 1):\n");
		print_indented(sol->report, 12);
	}
	for (int m = 0; m < 2; m++)
		if (modes & (1u << m))
			printf("  overall (%s): %s, expected %s\n", m ? "tolerant" : "exact",
			       verdict_names[overall(sol, m)],
			       verdict_names[sol->expect[m]]);
}

/* Why a solution's judging failed to set up: the first SE's detail. */
static const char *setup_error_of(const struct solution *sol, int m)
{
	if (sol->compiled != AC)
		return sol->compile_log;
	for (int t = 0; t < PROBLEM_TESTS; t++)
		if (sol->tests[t].verdict[m] == SE || sol->tests[t].verdict[m] == NOT_RUN)
			return sol->tests[t].detail[m];
	return "";
}

/* The summary table; returns how many solutions got every expected
 * verdict. host_clean: the hostile solution's trace is absent. */
static unsigned print_summary(const struct judge *j, bool host_clean)
{
	unsigned matched = 0;

	printf("\n%-18s %-9s %-9s %-4s\n", "solution", "mode", "expected", "got");
	for (size_t s = 0; s < NSOLUTIONS; s++) {
		const struct solution *sol = &solutions[s];
		unsigned modes = modes_of(j, sol);
		bool all = true, first = true;

		for (int m = 0; m < 2; m++) {
			if (!(modes & (1u << m)))
				continue;
			enum verdict got = overall(sol, m);
			bool ok = got == sol->expect[m];

			if (sol->expect[m] == SV && !host_clean)
				ok = false;
			printf("%-18s %-9s %-9s %-4s %s\n", first ? sol->file : "",
			       m ? "tolerant" : "exact", verdict_names[sol->expect[m]],
			       verdict_names[got], ok ? "ok" : "UNEXPECTED");
			if (got == SE) /* the judge's fault, not the solution's: say why */
				printf("%-18s   SE: %s\n", "", setup_error_of(sol, m));
			all = all && ok;
			first = false;
		}
		matched += all;
	}
	return matched;
}

static void print_hardening(const struct judge *j)
{
	uint32_t layers = j->started ? j->hardening : 0;

	printf("every run was sandboxed with:%s", layers ? "" : " (none ran)");
	for (unsigned bit = 0; bit < RJ_LAYER_COUNT; bit++)
		if (layers & (1u << bit))
			printf(" %s", rj_layer_name(1u << bit));
	printf("\n");
}

/* ------------------------------------------------------------------------
 * main
 * ---------------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: judge-demo [--mode exact|tolerant] [-j N] [-q] [--keep] "
		   "[--solutions DIR]\n"
		   "  --mode M   judge every solution in mode M (default: each in its "
		   "own; whitespace.c in both)\n"
		   "  -j N       sandboxes at a time (default: the number of CPUs)\n"
		   "  -q         print the summary only\n"
		   "  --keep     keep the temporary directory (tests, builds)\n"
		   "  --solutions DIR  where the solutions are (default: %s)\n",
		   JUDGE_SOLUTIONS_DIR);
}

static int parse_args(struct judge *j, bool *keep, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "keep", no_argument, NULL, 'k' },
		{ "solutions", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "j:qh", longs, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (strcmp(optarg, "exact") && strcmp(optarg, "tolerant")) {
				fprintf(stderr, "judge-demo: --mode is exact or tolerant\n");
				return -1;
			}
			j->mode = strcmp(optarg, "exact") ? TOLERANT : EXACT;
			break;
		case 'j':
			j->jobs = (unsigned)strtoul(optarg, NULL, 10);
			if (j->jobs == 0 || j->jobs > 1024) {
				fprintf(stderr, "judge-demo: -j takes 1 to 1024\n");
				return -1;
			}
			break;
		case 'q': j->quiet = true; break;
		case 'k': *keep = true; break;
		case 's': j->solutions_dir = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Set up the temporary directory, the tests and the solutions' build
 * directories. Prints why and returns -1 on failure. */
static int prepare(struct judge *j)
{
	const char *tmp = getenv("TMPDIR");
	char tests_dir[PATH_MAX + 8];

	snprintf(j->root, sizeof(j->root), "%s/judge-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(j->root)) {
		fprintf(stderr, "judge-demo: cannot create a directory in %s: %s\n",
			tmp && *tmp ? tmp : "/tmp", strerror(errno));
		j->root[0] = '\0';
		return -1;
	}
	snprintf(tests_dir, sizeof(tests_dir), "%s/tests", j->root);
	if (mkdir(tests_dir, 0700) < 0) {
		fprintf(stderr, "judge-demo: mkdir %s: %s\n", tests_dir, strerror(errno));
		return -1;
	}
	if (problem_make_tests(j->tests, tests_dir) < 0 || prepare_solutions(j) < 0)
		return -1;
	/* A trace from an earlier run would be mistaken for an escape. */
	if (unlink(HOSTILE_TRACE) == 0)
		fprintf(stderr, "judge-demo: removed a stale %s\n", HOSTILE_TRACE);
	return 0;
}

int main(int argc, char **argv)
{
	struct judge j = { .solutions_dir = JUDGE_SOLUTIONS_DIR, .hardening = ~0u };
	struct rj_executor_opts opts = { .on_event = on_event, .ctx = &j };
	rj_executor *ex = NULL;
	bool keep = false, host_clean;
	unsigned matched = 0;
	double t0 = now();
	int rc, status = 2;

	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	j.jobs = cpus > 0 ? (unsigned)cpus : 1;
	if (parse_args(&j, &keep, argc, argv) < 0)
		return 2;
	if (prepare(&j) < 0)
		goto out;
	rc = rj_executor_new(&ex, &opts);
	if (rc < 0) {
		fprintf(stderr, "judge-demo: cannot create a ringjail executor: %s\n",
			rj_executor_error(NULL));
		goto out;
	}
	if (!j.quiet)
		printf("judge demo: \"range sums\", %d tests, %zu solutions, -j %u\n"
		       "limits per test: CPU 1 s, wall 3 s, memory 64 MiB "
		       "(Python 128 MiB), output 1 MiB, 16 processes\n"
		       "tests: 1-2 the samples, 3-16 small, 17-18 N = 50,000, "
		       "19-20 N = 500,000 and Q = 50,000\n",
		       PROBLEM_TESTS, NSOLUTIONS, j.jobs);
	if (judge_all(&j, ex) < 0)
		goto out;
	host_clean = access(HOSTILE_TRACE, F_OK) < 0;
	for (size_t s = 0; s < NSOLUTIONS && !j.quiet; s++)
		print_solution(&j, &solutions[s]);
	matched = print_summary(&j, host_clean);
	printf("host: %s\n", host_clean ? "no trace of the hostile solution in "
	       HOSTILE_TRACE : "HOSTILE SOLUTION ESCAPED: " HOSTILE_TRACE " exists");
	print_hardening(&j);
	printf("judge demo: %u/%zu solutions got their expected verdict "
	       "(%u sandboxes in %.1f s)\n", matched, NSOLUTIONS, j.sandboxes,
	       now() - t0);
	status = matched == NSOLUTIONS ? 0 : 1;
out:
	if (ex)
		rj_executor_free(ex);
	problem_free_tests(j.tests);
	if (keep && j.root[0])
		printf("kept %s\n", j.root);
	else if (j.root[0] && nftw(j.root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "judge-demo: cannot remove %s: %s\n", j.root,
			strerror(errno));
	return status;
}
