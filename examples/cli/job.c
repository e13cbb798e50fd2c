/*
 * One line of a batch job file -> an rj_plan, exactly as `ringjail run`
 * would build it from the same options (CLI.md, "ringjail batch").
 *
 * Anything a job says that ringjail would not use as written makes it
 * invalid, with the line and the field: an unknown field, a wrong type, a
 * limit of zero, an unreadable host file. Silently ignoring a misspelt
 * "limts" would run a judge's submission without its limits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const field_names =
	"id, argv, stdin, files, limits, env, net, workdir, dirs, "
	"allow_syscalls, deny_syscalls, best_effort";

int cli_job_fail(struct cli_job *job, const char *field, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	cli_format(job->err, sizeof(job->err), "line %ld: field '%.*s': ",
		   job->line, CLI_CUT(field, 200));
	n = strlen(job->err);
	va_start(ap, fmt);
	cli_vformat(job->err + n, sizeof(job->err) - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* "expected X, got <the value>" */
static int fail_type(struct cli_job *job, const char *field,
		     const char *expected, const json_t *v)
{
	char got[64];

	cli_json_brief(v, got, sizeof(got));
	return cli_job_fail(job, field, "%s, got %s", expected, got);
}

/* The string value of v, or NULL when v is not a string or holds a NUL
 * byte (which no path, name or argument can carry). */
static const char *cstr(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && strlen(s) == json_string_length(v) ? s : NULL;
}

int cli_job_open(struct cli_job *job, const char *text, size_t len, long line)
{
	json_error_t e;
	json_t *id;

	memset(job, 0, sizeof(*job));
	job->line = line;
	/* JSON_ALLOW_NUL lets "content" and "stdin" carry any bytes; jansson
	 * also refuses nesting deeper than 2048, which bounds the parser's
	 * recursion on hostile input. */
	job->root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	if (!job->root || !json_is_object(job->root)) {
		cli_format(job->err, sizeof(job->err), "line %ld: not a JSON object%s%s",
			 line, job->root ? "" : ": ", job->root ? "" : e.text);
		/* jansson's text quotes the line near the error, cut byte-wise,
		 * and the line may not be UTF-8 at all. */
		cli_utf8_clean(job->err);
		return -1;
	}
	id = json_object_get(job->root, "id");
	if (!id)
		return cli_job_fail(job, "id", "missing; every job needs a unique string id");
	if (!cstr(id) || !*cstr(id))
		return fail_type(job, "id", "expected a non-empty string", id);
	job->id = cstr(id);
	return 0;
}

void cli_job_done(struct cli_job *job)
{
	rj_plan_free(job->plan);
	json_decref(job->root);
	job->plan = NULL;
	job->root = NULL;
	job->id = NULL;
}

static int build_argv(struct cli_job *job)
{
	json_t *a = json_object_get(job->root, "argv"), *v;
	const char **argv;
	size_t k;

	if (!a)
		return cli_job_fail(job, "argv", "missing; expected a non-empty array of strings");
	if (!json_is_array(a) || json_array_size(a) == 0)
		return fail_type(job, "argv", "expected a non-empty array of strings", a);
	argv = calloc(json_array_size(a) + 1, sizeof(*argv));
	if (!argv)
		return cli_job_fail(job, "argv", "out of memory");
	json_array_foreach(a, k, v) {
		char field[32];

		argv[k] = cstr(v);
		if (!argv[k] || (k == 0 && !*argv[k])) {
			snprintf(field, sizeof(field), "argv[%zu]", k);
			free(argv);
			return fail_type(job, field, k ? "expected a string" :
					 "expected a non-empty string", v);
		}
	}
	job->plan = rj_plan_new(argv);
	free(argv);
	if (!job->plan)
		return cli_job_fail(job, "argv", "%s", strerror(errno));
	return 0;
}

/* The result of a shared option helper (opts.c) as a field failure. */
static int helper(struct cli_job *job, const char *field, int rc, const char *err)
{
	return rc ? cli_job_fail(job, field, "%s", err) : 0;
}

/* A library call's failure as a field failure. */
static int plan_rc(struct cli_job *job, const char *field, int rc)
{
	char err[CLI_ERR_MAX];

	if (rc >= 0)
		return 0;
	cli_plan_failed(job->plan, rc, field, err, sizeof(err));
	return cli_job_fail(job, field, "%s", err);
}

static int f_stdin(struct cli_job *job, json_t *v)
{
	char err[CLI_ERR_MAX];
	const char *path;

	if (json_is_string(v))
		return plan_rc(job, "stdin", rj_plan_set_stdin(job->plan,
			       json_string_value(v), json_string_length(v)));
	if (!json_is_object(v) || json_object_size(v) != 1 ||
	    !(path = cstr(json_object_get(v, "path"))))
		return fail_type(job, "stdin", "expected text or {\"path\": FILE}", v);
	return helper(job, "stdin.path", cli_set_stdin_file(job->plan, path, err,
		      sizeof(err)), err);
}

/* "0755" (or "755"): at most four octal digits. */
static int parse_mode(const char *s, unsigned *mode)
{
	size_t len = s ? strlen(s) : 0;
	char *end;

	if (len == 0 || len > 5 || strspn(s, "01234567") != len)
		return -EINVAL;
	*mode = (unsigned)strtoul(s, &end, 8);
	return *mode <= 07777 ? 0 : -EINVAL;
}

static int add_one_file(struct cli_job *job, const char *name, json_t *spec)
{
	json_t *content = json_object_get(spec, "content");
	json_t *path = json_object_get(spec, "path");
	json_t *mode_v = json_object_get(spec, "mode");
	unsigned mode = 0644;
	char field[300];

	cli_format(field, sizeof(field), "files.%.*s", CLI_CUT(name, 200));
	if (!json_is_object(spec) || !content == !path ||
	    json_object_size(spec) != 1u + !!mode_v)
		return fail_type(job, field, "expected {\"content\": TEXT} or "
				 "{\"path\": HOST}, with an optional \"mode\"", spec);
	/* cstr: a NUL inside ("07\u00009") would otherwise end the mode
	 * early and be read as 07. */
	if (mode_v && parse_mode(cstr(mode_v), &mode) < 0) {
		cli_format(field, sizeof(field), "files.%.*s.mode", CLI_CUT(name, 200));
		return fail_type(job, field, "expected an octal string such as \"0755\"",
				 mode_v);
	}
	if (content) {
		if (!json_is_string(content))
			return fail_type(job, field, "expected \"content\" as text", content);
		return plan_rc(job, field, rj_plan_add_file(job->plan, name,
			       json_string_value(content), json_string_length(content),
			       mode));
	}
	if (!cstr(path))
		return fail_type(job, field, "expected \"path\" as a host path", path);
	/* Read now, by the library, with the caller's permissions. */
	return plan_rc(job, field, rj_plan_add_host_file(job->plan, name, cstr(path),
		       mode_v ? mode : RJ_MODE_KEEP_EXEC));
}

/* Names in an order where '/' comes before every other byte, so that
 * whatever lies under "a/" comes right after "a". */
static int cmp_box_names(const void *x, const void *y)
{
	const unsigned char *a = *(const unsigned char *const *)x;
	const unsigned char *b = *(const unsigned char *const *)y;

	for (; *a && *a == *b; a++, b++)
		;
	if (*a == *b)
		return 0;
	if (!*a || !*b)
		return *a ? 1 : -1;
	return (*a == '/' ? 0 : *a) - (*b == '/' ? 0 : *b);
}

/* "a" and "a/b" cannot both be written: one needs a as a file, the other
 * as a folder. Found here, not as a setup_error at spawn; sorted, so that
 * a job of many files costs n log n, not n squared. */
static int check_file_names(struct cli_job *job, json_t *files)
{
	size_t n = json_object_size(files), k = 0;
	const char **names = calloc(n ? n : 1, sizeof(*names));
	const char *name;
	json_t *spec;
	int rc = 0;

	if (!names)
		return cli_job_fail(job, "files", "out of memory");
	json_object_foreach(files, name, spec)
		names[k++] = name;
	qsort(names, n, sizeof(*names), cmp_box_names);
	for (k = 0; k + 1 < n && rc == 0; k++) {
		size_t len = strlen(names[k]);
		char field[300];

		if (strncmp(names[k], names[k + 1], len) || names[k + 1][len] != '/')
			continue;
		cli_format(field, sizeof(field), "files.%.*s", CLI_CUT(names[k + 1], 200));
		rc = cli_job_fail(job, field, "needs '%.*s' to be a folder, but that "
				  "is a file of the job too", CLI_CUT(names[k], 200));
	}
	free(names);
	return rc;
}

static int f_files(struct cli_job *job, json_t *v)
{
	const char *name;
	size_t name_len;
	json_t *spec;

	if (!json_is_object(v))
		return fail_type(job, "files", "expected an object of workspace names", v);
	json_object_keylen_foreach(v, name, name_len, spec) {
		if (strlen(name) != name_len)
			return cli_job_fail(job, "files", "a name holds a NUL byte");
		if (add_one_file(job, name, spec) < 0)
			return -1;
	}
	return check_file_names(job, v);
}

/* One limit in any of its JSON forms: a number (seconds may be fractional,
 * bytes and counts are whole) or the string forms of the run options. */
static int limit_value(const struct cli_limit_spec *s, const json_t *v,
		       uint64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i <= 0 || (s->kind == CLI_COUNT && i > (json_int_t)UINT32_MAX))
			return -EINVAL;
		if (s->kind == CLI_SEC)
			return cli_value_from_double(s->kind, (double)i, out);
		*out = (uint64_t)i;
		return 0;
	}
	if (json_is_real(v))
		return cli_value_from_double(s->kind, json_real_value(v), out);
	if (cstr(v))
		return cli_parse_value(s->kind, cstr(v), out);
	return -EINVAL;
}

static int f_limits(struct cli_job *job, json_t *v)
{
	char field[300], err[CLI_ERR_MAX];
	const char *key;
	json_t *val;

	if (!json_is_object(v))
		return fail_type(job, "limits", "expected an object", v);
	json_object_foreach(v, key, val) {
		const struct cli_limit_spec *s = cli_limit_by_key(key);
		uint64_t value;

		cli_format(field, sizeof(field), "limits.%.*s", CLI_CUT(key, 200));
		if (!s)
			return cli_job_fail(job, field, "unknown limit (expected time, "
					    "wall_time, mem, output, fsize, disk, "
					    "stack, pids or open_files)");
		if (limit_value(s, val, &value) < 0)
			return fail_type(job, field, cli_expected(s->kind), val);
		if (cli_set_limit(job->plan, &job->info, s->limit, value, err,
				  sizeof(err)))
			return cli_job_fail(job, field, "%s", err);
	}
	return 0;
}

static int f_env(struct cli_job *job, json_t *v)
{
	char field[300];
	const char *name;
	json_t *val;

	if (!json_is_object(v))
		return fail_type(job, "env", "expected an object of strings", v);
	json_object_foreach(v, name, val) {
		cli_format(field, sizeof(field), "env.%.*s", CLI_CUT(name, 200));
		if (!*name || strchr(name, '='))
			return cli_job_fail(job, field, "expected a variable name "
					    "without '='");
		if (!cstr(val))
			return fail_type(job, field, "expected a string", val);
		if (plan_rc(job, field, rj_plan_set_env(job->plan, name, cstr(val))))
			return -1;
	}
	return 0;
}

static int f_net(struct cli_job *job, json_t *v)
{
	if (!json_is_boolean(v))
		return fail_type(job, "net", "expected true or false", v);
	return plan_rc(job, "net", rj_plan_set_net(job->plan, json_is_true(v)));
}

static int f_best_effort(struct cli_job *job, json_t *v)
{
	if (!json_is_boolean(v))
		return fail_type(job, "best_effort", "expected true or false", v);
	job->info.best_effort = json_is_true(v);
	return plan_rc(job, "best_effort",
		       rj_plan_set_best_effort(job->plan, json_is_true(v)));
}

static int f_workdir(struct cli_job *job, json_t *v)
{
	char err[CLI_ERR_MAX];

	if (!cstr(v))
		return fail_type(job, "workdir", "expected a host directory", v);
	return helper(job, "workdir", cli_set_workdir(job->plan, cstr(v), err,
		      sizeof(err)), err);
}

/* An array of strings, each given to apply(); field names the array. */
static int each_string(struct cli_job *job, const char *field, json_t *v,
		       int (*apply)(struct cli_job *, const char *, const char *))
{
	char item[64];
	json_t *s;
	size_t k;

	if (!json_is_array(v))
		return fail_type(job, field, "expected an array of strings", v);
	json_array_foreach(v, k, s) {
		snprintf(item, sizeof(item), "%s[%zu]", field, k);
		if (!cstr(s))
			return fail_type(job, item, "expected a string", s);
		if (apply(job, item, cstr(s)) < 0)
			return -1;
	}
	return 0;
}

static int apply_dir(struct cli_job *job, const char *field, const char *s)
{
	char err[CLI_ERR_MAX];

	return helper(job, field, cli_add_dir_spec(job->plan, s, err, sizeof(err)), err);
}

static int apply_allow(struct cli_job *job, const char *field, const char *s)
{
	return plan_rc(job, field, rj_plan_allow_syscall(job->plan, s));
}

static int apply_deny(struct cli_job *job, const char *field, const char *s)
{
	return plan_rc(job, field, rj_plan_deny_syscall(job->plan, s));
}

static int f_dirs(struct cli_job *job, json_t *v)
{
	return each_string(job, "dirs", v, apply_dir);
}

static int f_allow(struct cli_job *job, json_t *v)
{
	return each_string(job, "allow_syscalls", v, apply_allow);
}

static int f_deny(struct cli_job *job, json_t *v)
{
	return each_string(job, "deny_syscalls", v, apply_deny);
}

static const struct {
	const char *name;
	int (*apply)(struct cli_job *job, json_t *v);
} fields[] = {
	{ "id", NULL },
	{ "argv", NULL },
	{ "best_effort", f_best_effort },
	/* Before stdin and files: a host path inside the workdir is opened
	 * beneath it, never through a link planted there. */
	{ "workdir", f_workdir },
	{ "stdin", f_stdin },
	{ "files", f_files },
	{ "limits", f_limits },
	{ "env", f_env },
	{ "net", f_net },
	{ "dirs", f_dirs },
	{ "allow_syscalls", f_allow },
	{ "deny_syscalls", f_deny },
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static bool known_field(const char *key, size_t len)
{
	for (size_t k = 0; k < NFIELDS; k++)
		if (strlen(fields[k].name) == len && !memcmp(fields[k].name, key, len))
			return true;
	return false;
}

/* What execve copies onto the new stack, as fs/exec.c counts it: each
 * string with its NUL and a pointer to it. */
#define EXEC_STRLEN_MAX (32u * 4096u) /* MAX_ARG_STRLEN, with the NUL */
#define EXEC_ARGS_MIN   (32u * 4096u) /* ARG_MAX: always allowed */
#define EXEC_ARGS_MAX   (6ull << 20)  /* 3/4 of _STK_LIM */
/* The program's path as execve gets it after the PATH lookup, and what
 * else the library may pass: an allowance, not a count. */
#define EXEC_SLACK      4096u

static const char *const default_env_names[] = { "PATH", "HOME", "TMPDIR", "LANG" };
#define DEFAULT_ENV_BYTES (sizeof("PATH=/usr/local/bin:/usr/bin:/bin") + \
			   sizeof("HOME=/box") + sizeof("TMPDIR=/tmp") + \
			   sizeof("LANG=C.UTF-8"))

/* The bytes and pointers of argv, or -1 (with job->err) when one argument
 * is longer than execve takes. */
static int argv_size(struct cli_job *job, uint64_t *bytes, uint64_t *ptrs)
{
	json_t *a = json_object_get(job->root, "argv"), *v;
	size_t k;

	json_array_foreach(a, k, v) {
		char field[32];

		if (json_string_length(v) + 1 > EXEC_STRLEN_MAX) {
			snprintf(field, sizeof(field), "argv[%zu]", k);
			return cli_job_fail(job, field, "%zu bytes; execve takes at "
					    "most %u per argument", json_string_length(v),
					    EXEC_STRLEN_MAX - 1);
		}
		*bytes += json_string_length(v) + 1;
		(*ptrs)++;
	}
	return 0;
}

/* The same for the environment the program gets: the job's variables
 * and the defaults they do not replace. */
static int env_size(struct cli_job *job, uint64_t *bytes, uint64_t *ptrs)
{
	json_t *env = json_object_get(job->root, "env"), *v;
	const char *name;

	*bytes += DEFAULT_ENV_BYTES;
	*ptrs += 4;
	for (size_t k = 0; k < 4; k++) {
		json_t *over = json_object_get(env, default_env_names[k]);

		if (over) {
			*bytes -= strlen(default_env_names[k]) + 1 +
				  strlen(json_string_value(over)) + 1;
			(*ptrs)--;
		}
	}
	json_object_foreach(env, name, v) {
		size_t len = strlen(name) + 1 + json_string_length(v) + 1;
		char field[300];

		if (len > EXEC_STRLEN_MAX) {
			cli_format(field, sizeof(field), "env.%.*s", CLI_CUT(name, 200));
			return cli_job_fail(job, field, "%zu bytes as NAME=VALUE; execve "
					    "takes at most %u per variable", len - 1,
					    EXEC_STRLEN_MAX - 1);
		}
		*bytes += len;
		(*ptrs)++;
	}
	return 0;
}

/* A program whose arguments and environment execve cannot take would
 * fail at spawn as setup_error; the job says so, so it is invalid. */
static int check_exec_size(struct cli_job *job)
{
	uint64_t stack = rj_plan_get_limit(job->plan, RJ_LIMIT_STACK);
	uint64_t limit = stack / 4 < EXEC_ARGS_MAX ? stack / 4 : EXEC_ARGS_MAX;
	uint64_t abytes = 0, aptrs = 0, ebytes = 0, eptrs = 0, need;

	if (limit < EXEC_ARGS_MIN)
		limit = EXEC_ARGS_MIN;
	if (argv_size(job, &abytes, &aptrs) < 0 || env_size(job, &ebytes, &eptrs) < 0)
		return -1;
	need = abytes + aptrs * sizeof(void *) + EXEC_SLACK;
	if (need > limit)
		return cli_job_fail(job, "argv", "about %llu bytes; execve takes at most "
				    "%llu (a quarter of the stack limit, at most 6 MiB)",
				    (unsigned long long)need, (unsigned long long)limit);
	need += ebytes + eptrs * sizeof(void *);
	if (need > limit)
		return cli_job_fail(job, "env", "argv and env take about %llu bytes; "
				    "execve takes at most %llu (a quarter of the stack "
				    "limit, at most 6 MiB)", (unsigned long long)need,
				    (unsigned long long)limit);
	return 0;
}

int cli_job_build(struct cli_job *job, bool capture)
{
	const char *key;
	size_t key_len;
	json_t *v;

	json_object_keylen_foreach(job->root, key, key_len, v) {
		if (!known_field(key, key_len))
			return cli_job_fail(job, key, "unknown field (a job has %s)",
					    field_names);
	}
	if (build_argv(job) < 0)
		return -1;
	job->info.output_limit = CLI_DEFAULT_OUTPUT;
	for (size_t k = 0; k < NFIELDS; k++) {
		v = json_object_get(job->root, fields[k].name);
		if (v && fields[k].apply && fields[k].apply(job, v) < 0)
			return -1;
	}
	if (check_exec_size(job) < 0)
		return -1;
	if (capture) {
		uint64_t max = job->info.output_limit;

		return plan_rc(job, "limits.output", rj_plan_set_capture(job->plan,
			       max > SIZE_MAX ? SIZE_MAX : (size_t)max));
	}
	return 0;
}
