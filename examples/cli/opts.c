/*
 * Option scanning, the SEC/SIZE/N value forms, and the options that
 * `ringjail run` and batch jobs share, applied to an rj_plan.
 *
 * Every function here reports a problem as a message without context
 * ("expected SIZE ..., got 'abc'"); the caller adds the option name (run) or
 * the line and field (batch), so both speak the same language.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

/* ------------------------------------------------------------------------
 * Option scanning
 * ---------------------------------------------------------------------- */

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ringjail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const struct cli_opt *find_long(const struct cli_opt *table,
				       const char *arg, size_t len)
{
	for (const struct cli_opt *o = table; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, arg, len))
			return o;
	return NULL;
}

static const struct cli_opt *find_short(const struct cli_opt *table, char c)
{
	for (const struct cli_opt *o = table; o->name; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

/*
 * Accepts "--name VALUE", "--name=VALUE", "-j N" and "-jN". Options end at
 * "--" or at the first operand, so a program's own options after its name
 * are never taken for ringjail's.
 */
int cli_next_opt(int argc, char **argv, int *i, const struct cli_opt *table,
		 const char *cmd, const struct cli_opt **opt, const char **val)
{
	const char *arg, *eq, *inline_val = NULL;
	const struct cli_opt *o;

	if (*i >= argc)
		return 0;
	arg = argv[*i];
	if (!strcmp(arg, "--")) {
		(*i)++;
		return 0;
	}
	if (arg[0] != '-' || arg[1] == '\0')
		return 0;
	if (arg[1] == '-') {
		eq = strchr(arg, '=');
		o = find_long(table, arg, eq ? (size_t)(eq - arg) : strlen(arg));
		if (eq)
			inline_val = eq + 1;
	} else {
		o = find_short(table, arg[1]);
		if (arg[2])
			inline_val = arg + 2;
	}
	if (!o) {
		cli_error("unknown option '%s' (see 'ringjail %s%s--help')",
			  arg, cmd, *cmd ? " " : "");
		return -1;
	}
	(*i)++;
	*opt = o;
	*val = NULL;
	if (!o->form) {
		if (inline_val) {
			cli_error("%s: takes no value, got '%s'", o->name, arg);
			return -1;
		}
		return 1;
	}
	if (inline_val) {
		*val = inline_val;
	} else if (*i < argc) {
		*val = argv[(*i)++];
	} else {
		cli_error("%s: expected %s, got nothing", o->name, o->form);
		return -1;
	}
	return 1;
}

/* ------------------------------------------------------------------------
 * Values
 * ---------------------------------------------------------------------- */

/* No limit needs more than this; it keeps every conversion far from
 * uint64_t overflow (1e9 s is 1e15 microseconds). */
#define MAX_SECONDS 1000000000ull

const struct cli_limit_spec cli_limits[] = {
	{ RJ_LIMIT_TIME, "time", "--time", CLI_SEC },
	{ RJ_LIMIT_WALL_TIME, "wall_time", "--wall-time", CLI_SEC },
	{ RJ_LIMIT_MEM, "mem", "--mem", CLI_SIZE },
	{ RJ_LIMIT_PIDS, "pids", "--pids", CLI_COUNT },
	{ RJ_LIMIT_OUTPUT, "output", "--output", CLI_SIZE },
	{ RJ_LIMIT_FSIZE, "fsize", "--fsize", CLI_SIZE },
	{ RJ_LIMIT_DISK, "disk", "--disk", CLI_SIZE },
	{ RJ_LIMIT_OPEN_FILES, "open_files", "--open-files", CLI_COUNT },
	{ RJ_LIMIT_STACK, "stack", "--stack", CLI_STACK },
	{ 0, NULL, NULL, 0 },
};

const struct cli_limit_spec *cli_limit_by_key(const char *key)
{
	for (const struct cli_limit_spec *s = cli_limits; s->key; s++)
		if (!strcmp(s->key, key))
			return s;
	return NULL;
}

const char *cli_expected(enum cli_value_kind kind)
{
	switch (kind) {
	case CLI_SEC:
		return "expected SEC (seconds > 0, such as 2 or 0.5)";
	case CLI_SIZE:
		return "expected SIZE (bytes, or a number with K, M or G)";
	case CLI_COUNT:
		return "expected N (a whole number > 0)";
	case CLI_STACK:
		return "expected SIZE (bytes, or a number with K, M or G) "
		       "or 'unlimited'";
	}
	return "expected a value";
}

/* Digits only, into *out; -EINVAL on anything else or on overflow. */
static int parse_digits(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t k = 0; k < len; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[k] - '0');
	}
	*out = v;
	return 0;
}

/* "2" or "0.25" into microseconds, exactly: no floating point, so "0.1"
 * is 100000 us and not 99999. Digits past the sixth decimal are dropped. */
static int parse_seconds(const char *s, uint64_t *out)
{
	const char *dot = strchr(s, '.');
	size_t int_len = dot ? (size_t)(dot - s) : strlen(s);
	uint64_t whole, frac = 0;

	if (parse_digits(s, int_len, &whole) < 0 || whole > MAX_SECONDS)
		return -EINVAL;
	if (dot) {
		const char *f = dot + 1;
		size_t flen = strlen(f);

		if (flen == 0 || strspn(f, "0123456789") != flen)
			return -EINVAL;
		/* Keep six digits: scale up short fractions, cut long ones. */
		for (size_t k = 0; k < 6; k++)
			frac = frac * 10 + (k < flen ? (uint64_t)(f[k] - '0') : 0);
	}
	*out = whole * 1000000 + frac;
	return *out > 0 ? 0 : -EINVAL;
}

static int parse_size(const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	unsigned shift = 0;
	uint64_t v;

	if (len > 0) {
		switch (s[len - 1]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		}
		if (shift)
			len--;
	}
	if (parse_digits(s, len, &v) < 0 || v == 0)
		return -EINVAL;
	if (v > (UINT64_MAX >> 1) >> shift)
		return -EINVAL;
	*out = v << shift;
	return 0;
}

int cli_parse_value(enum cli_value_kind kind, const char *text, uint64_t *out)
{
	switch (kind) {
	case CLI_SEC:
		return parse_seconds(text, out);
	case CLI_SIZE:
		return parse_size(text, out);
	case CLI_STACK:
		if (!strcmp(text, "unlimited")) {
			*out = RJ_UNLIMITED;
			return 0;
		}
		return parse_size(text, out);
	case CLI_COUNT:
		if (parse_digits(text, strlen(text), out) < 0 || *out == 0 ||
		    *out > UINT32_MAX)
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

int cli_value_from_double(enum cli_value_kind kind, double v, uint64_t *out)
{
	if (!isfinite(v) || v <= 0)
		return -EINVAL;
	if (kind == CLI_SEC) {
		if (v > (double)MAX_SECONDS)
			return -EINVAL;
		*out = (uint64_t)llround(v * 1e6);
		return *out > 0 ? 0 : -EINVAL;
	}
	/* Bytes and counts are whole: 1e6 is fine, 1.5 is not. */
	if (v != floor(v) || v >= 9.2e18)
		return -EINVAL;
	if (kind == CLI_COUNT && v > UINT32_MAX)
		return -EINVAL;
	*out = (uint64_t)v;
	return 0;
}

/* ------------------------------------------------------------------------
 * Options shared by run and batch jobs
 * ---------------------------------------------------------------------- */

int cli_plan_failed(const rj_plan *plan, int rc, const char *what,
		    char *err, size_t n)
{
	const char *detail = plan ? rj_plan_error(plan) : "";

	/* The library's detail names the value already; without one, say
	 * which value the errno is about. */
	if (detail && *detail)
		cli_format(err, n, "%.*s", CLI_CUT(detail, strlen(detail)));
	else
		cli_format(err, n, "%s: %s", what, strerror(-rc));
	return rc == -EINVAL ? CLI_BAD_FORM : CLI_BAD_HOST;
}

/* The most processes Linux allows (PID_MAX_LIMIT on 64-bit): pids.max
 * refuses more. */
#define MAX_PIDS 4194304ull

/* The most open files a sandbox may have: the system's bound (nr_open)
 * and ringjail's own hard RLIMIT_NOFILE, which the sandbox, in a user
 * namespace of its own, cannot raise. setrlimit refuses more. */
static uint64_t max_open_files(void)
{
	unsigned long long v = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	struct rlimit rl;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	if (!v)
		v = 1048576; /* the kernel's default */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < v)
		v = rl.rlim_max;
	return v;
}

int cli_set_limit(rj_plan *plan, struct cli_plan_info *info,
		  enum rj_limit limit, uint64_t value, char *err, size_t n)
{
	uint64_t max = limit == RJ_LIMIT_PIDS ? MAX_PIDS :
		       limit == RJ_LIMIT_OPEN_FILES ? max_open_files() : 0;
	int rc;

	/* Values no host can enforce would only fail at spawn. */
	if (max && value > max) {
		cli_format(err, n, "%llu is more than %s: at most %llu",
			   (unsigned long long)value, limit == RJ_LIMIT_OPEN_FILES ?
			   "this host allows (fs.nr_open, and ringjail's own hard "
			   "limit, ulimit -Hn)" : "Linux allows",
			   (unsigned long long)max);
		return CLI_BAD_FORM;
	}
	rc = rj_plan_set_limit(plan, limit, value);

	if (rc < 0)
		return cli_plan_failed(plan, rc, "cannot set the limit", err, n);
	info->set_limits |= 1u << limit;
	if (limit == RJ_LIMIT_OUTPUT)
		info->output_limit = value;
	return 0;
}

/* A directory is opened the way the library will open it, with the
 * caller's permissions, so an unreadable one is named here and not at
 * spawn. O_NONBLOCK: opening a FIFO must not wait for a writer. */
static int check_dir(const char *path, char *err, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_DIRECTORY);

	if (fd < 0) {
		cli_format(err, n, "cannot open directory '%s': %s", path,
			   strerror(errno));
		return CLI_BAD_HOST;
	}
	close(fd);
	return 0;
}

/* Does the library take box as a name in the workspace? Asked of the
 * library itself, on a plan of its own, so that its rule is the only one. */
static bool box_name_ok(const char *box)
{
	static const char *const argv[] = { "true", NULL };
	rj_plan *scratch = rj_plan_new(argv);
	bool ok = scratch && rj_plan_add_file(scratch, box, "", 0, 0644) == 0;

	rj_plan_free(scratch);
	return ok;
}

int cli_add_file_spec(rj_plan *plan, const char *spec, char *err, size_t n)
{
	const char *colon = strchr(spec, ':');
	char *host = strndup(spec, colon ? (size_t)(colon - spec) : strlen(spec));
	const char *box;
	int rc;

	if (!host)
		return cli_plan_failed(NULL, -ENOMEM, "--file", err, n);
	box = colon ? colon + 1 : strrchr(host, '/') ? strrchr(host, '/') + 1 : host;
	if (!*host || !*box) {
		cli_format(err, n, "expected HOST[:BOX] (a host file, and its path "
			 "in the workspace), got '%s'", spec);
		free(host);
		return CLI_BAD_FORM;
	}
	/* The library opens and reads the host file (beneath the plan's
	 * workdir when it lies there) and checks BOX. Its -EINVAL is a
	 * refused BOX (a usage error) or a host path that is not a regular
	 * file, which CLI.md makes a setup_error like every host problem. */
	rc = rj_plan_add_host_file(plan, box, host, RJ_MODE_KEEP_EXEC);
	if (rc < 0) {
		rc = cli_plan_failed(plan, rc, host, err, n);
		if (rc == CLI_BAD_FORM && box_name_ok(box))
			rc = CLI_BAD_HOST;
	}
	free(host);
	return rc;
}

/* Split "HOST[:BOX][:rw]" into its parts; the host path is in host[]. */
static int split_dir_spec(const char *spec, char *host, size_t hn,
			  const char **box, size_t *box_len, unsigned *flags)
{
	size_t len = strlen(spec);
	const char *colon;

	*flags = 0;
	if (len > 3 && !strcmp(spec + len - 3, ":rw")) {
		*flags = RJ_MOUNT_RW;
		len -= 3;
	} else if (len > 3 && !strcmp(spec + len - 3, ":ro")) {
		len -= 3;
	}
	colon = memchr(spec, ':', len);
	if (colon) {
		*box = colon + 1;
		*box_len = len - (size_t)(colon + 1 - spec);
		len = (size_t)(colon - spec);
	} else {
		*box = NULL;
		*box_len = 0;
	}
	if (len == 0 || len >= hn || (colon && (*box_len == 0 || **box != '/')) ||
	    (*box && memchr(*box, ':', *box_len)))
		return CLI_BAD_FORM;
	memcpy(host, spec, len);
	host[len] = '\0';
	return 0;
}

int cli_add_dir_spec(rj_plan *plan, const char *spec, char *err, size_t n)
{
	char host[PATH_MAX], box[PATH_MAX], *real = NULL;
	const char *boxp;
	size_t box_len;
	unsigned flags;
	int rc;

	if (split_dir_spec(spec, host, sizeof(host), &boxp, &box_len, &flags) ||
	    box_len >= sizeof(box)) {
		cli_format(err, n, "expected HOST[:BOX][:rw] (a host directory, "
			 "and an absolute path in the sandbox), got '%s'", spec);
		return CLI_BAD_FORM;
	}
	rc = check_dir(host, err, n);
	if (rc)
		return rc;
	if (boxp) {
		memcpy(box, boxp, box_len);
		box[box_len] = '\0';
	} else if (host[0] == '/') {
		strcpy(box, host);
	} else {
		/* BOX defaults to HOST's own path, which must be absolute
		 * inside the sandbox: resolve a relative HOST. */
		real = realpath(host, NULL);
		if (!real) {
			cli_format(err, n, "cannot resolve '%s': %s", host,
				 strerror(errno));
			return CLI_BAD_HOST;
		}
		snprintf(box, sizeof(box), "%s", real);
		free(real);
	}
	rc = rj_plan_add_mount(plan, host, box, flags);
	return rc < 0 ? cli_plan_failed(plan, rc, spec, err, n) : 0;
}

int cli_set_env_spec(rj_plan *plan, const char *spec, char *err, size_t n)
{
	const char *eq = strchr(spec, '=');
	char *name;
	int rc;

	if (!eq || eq == spec) {
		cli_format(err, n, "expected NAME=VALUE, got '%s'", spec);
		return CLI_BAD_FORM;
	}
	name = strndup(spec, (size_t)(eq - spec));
	if (!name)
		return cli_plan_failed(NULL, -ENOMEM, spec, err, n);
	rc = rj_plan_set_env(plan, name, eq + 1);
	free(name);
	return rc < 0 ? cli_plan_failed(plan, rc, spec, err, n) : 0;
}

int cli_set_workdir(rj_plan *plan, const char *dir, char *err, size_t n)
{
	int rc = check_dir(dir, err, n);

	if (rc)
		return rc;
	rc = rj_plan_set_workdir(plan, dir);
	return rc < 0 ? cli_plan_failed(plan, rc, dir, err, n) : 0;
}

int cli_set_stdin_file(rj_plan *plan, const char *path, char *err, size_t n)
{
	/* Every refusal is about the host file, so a setup_error (CLI.md), the
	 * library's -EINVAL for one that is not a regular file included. */
	int rc = rj_plan_set_stdin_file(plan, path);

	if (rc < 0) {
		cli_plan_failed(plan, rc, path, err, n);
		return CLI_BAD_HOST;
	}
	return 0;
}
