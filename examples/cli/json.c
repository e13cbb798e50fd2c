/*
 * Results as JSON: the object CLI.md calls "the result object", captured
 * output as text or base64, and one-line writing.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* jansson dumps a double with 17 significant digits ("1.8999999999999999");
 * rounding to 0.1 ms and dumping 15 digits gives "1.9". */
#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

static json_t *ms(double v)
{
	return json_real(round(v * 10.0) / 10.0);
}

/* json_object_set_new steals the value even when it fails, so a chain of
 * these leaks nothing; one failure is enough to report ENOMEM. */
static int put(json_t *o, const char *key, json_t *v, int *bad)
{
	if (!v || json_object_set_new(o, key, v) < 0)
		*bad = 1;
	return *bad;
}

static json_t *hardening_json(uint32_t bits)
{
	json_t *a = json_array();

	for (unsigned k = 0; a && k < RJ_LAYER_COUNT; k++) {
		const char *name;

		if (!(bits & (1u << k)))
			continue;
		name = rj_layer_name(1u << k);
		if (name && json_array_append_new(a, json_string(name)) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Every limit the library enforced, and, under best effort, those the
 * caller gave that it could not enforce ("none"), so a caller sees each of
 * its limits accounted for. */
static json_t *limits_json(const struct rj_result *r,
			   const struct cli_plan_info *info)
{
	json_t *o = json_object();
	int bad = 0;

	for (unsigned k = 0; o && k < RJ_LIMIT__COUNT; k++) {
		enum rj_enforce how = (enum rj_enforce)r->enforced[k];
		bool asked = info && (info->set_limits & (1u << k));

		if (how == RJ_ENFORCE_NONE && !(asked && info->best_effort))
			continue;
		if (put(o, rj_limit_name((enum rj_limit)k),
			json_string(rj_enforce_name(how)), &bad)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int cli_result_fill(json_t *o, const struct rj_result *r,
		    const struct cli_plan_info *info)
{
	bool exited = r->signal == 0 && r->exit_code >= 0;
	int bad = 0;

	put(o, "status", json_string(rj_status_name(r->status)), &bad);
	put(o, "exit_code", exited ? json_integer(r->exit_code) : json_null(), &bad);
	put(o, "signal", r->signal ? json_integer(r->signal) : json_null(), &bad);
	put(o, "wall_ms", ms(r->wall_ms), &bad);
	put(o, "cpu_ms", ms(r->cpu_ms), &bad);
	put(o, "cpu_user_ms", ms(r->cpu_user_ms), &bad);
	put(o, "cpu_sys_ms", ms(r->cpu_sys_ms), &bad);
	put(o, "memory_kib", json_integer((json_int_t)r->memory_kib), &bad);
	put(o, "oom_killed", json_boolean(r->oom_killed), &bad);
	put(o, "stdout_bytes", json_integer((json_int_t)r->stdout_bytes), &bad);
	put(o, "stderr_bytes", json_integer((json_int_t)r->stderr_bytes), &bad);
	put(o, "output_truncated", json_boolean(r->output_truncated), &bad);
	put(o, "hardening", hardening_json(r->hardening), &bad);
	put(o, "limits", limits_json(r, info), &bad);
	put(o, "message", cli_json_text(r->message), &bad);
	put(o, "voluntary_ctxsw", json_integer(r->voluntary_ctxsw), &bad);
	put(o, "involuntary_ctxsw", json_integer(r->involuntary_ctxsw), &bad);
	if (r->status == RJ_STATUS_SETUP_ERROR) {
		const char *stage = rj_setup_stage_name(r->setup_stage);

		put(o, "setup_stage", stage ? json_string(stage) : json_null(), &bad);
	}
	return bad ? -ENOMEM : 0;
}

static char *base64(const unsigned char *p, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *q = out;

	if (!out)
		return NULL;
	for (size_t k = 0; k < len; k += 3) {
		uint32_t v = (uint32_t)p[k] << 16;

		if (k + 1 < len)
			v |= (uint32_t)p[k + 1] << 8;
		if (k + 2 < len)
			v |= p[k + 2];
		*q++ = tab[v >> 18];
		*q++ = tab[(v >> 12) & 63];
		*q++ = k + 1 < len ? tab[(v >> 6) & 63] : '=';
		*q++ = k + 2 < len ? tab[v & 63] : '=';
	}
	*q = '\0';
	return out;
}

int cli_output_fill(json_t *o, const char *name, const void *data, size_t len)
{
	char key[32], *b64;
	json_t *s;
	int bad = 0;

	/* json_stringn refuses invalid UTF-8, which is exactly the test for
	 * "text"; a NUL byte is valid UTF-8 and dumps as \u0000. */
	s = json_stringn(len ? data : "", len);
	if (s)
		return put(o, name, s, &bad) ? -ENOMEM : 0;
	snprintf(key, sizeof(key), "%s_base64", name);
	b64 = base64(data, len);
	if (!b64)
		return -ENOMEM;
	put(o, key, json_string(b64), &bad);
	free(b64);
	return bad ? -ENOMEM : 0;
}

json_t *cli_invalid_result(const char *id, long line, const char *message,
			   bool with_output)
{
	json_t *o = json_object();

	if (o && (json_object_set_new(o, "id", id ? json_string(id) : json_null()) ||
		  json_object_set_new(o, "line", json_integer(line)) ||
		  json_object_set_new(o, "status", json_string("invalid")) ||
		  json_object_set_new(o, "message", cli_json_text(message)) ||
		  (with_output && (cli_output_fill(o, "stdout", "", 0) ||
				   cli_output_fill(o, "stderr", "", 0))))) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

int cli_json_line(FILE *f, const json_t *o)
{
	errno = 0;
	if (json_dumpf(o, f, DUMP_FLAGS) < 0 || fputc('\n', f) == EOF ||
	    fflush(f) == EOF)
		return errno ? -errno : -EIO;
	return 0;
}

void cli_result_synth(struct rj_result *r, enum rj_status status, int stage,
		      const char *fmt, ...)
{
	va_list ap;

	memset(r, 0, sizeof(*r));
	r->status = status;
	r->exit_code = -1;
	r->setup_stage = stage;
	va_start(ap, fmt);
	cli_vformat(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

void cli_json_brief(const json_t *v, char *buf, size_t n)
{
	char *s = json_dumps(v, DUMP_FLAGS);

	if (!s) {
		snprintf(buf, n, "a value");
		return;
	}
	if (strlen(s) > 40)
		snprintf(buf, n, "%.*s...", (int)cli_utf8_cut(s, 37), s);
	else
		cli_format(buf, n, "%s", s);
	free(s);
}

/* ------------------------------------------------------------------------
 * Text: cut between characters, and always encodable
 * ---------------------------------------------------------------------- */

/* How many bytes the UTF-8 sequence that starts with lead has; 1 for a
 * byte that cannot start one (left for the JSON check to refuse). */
static size_t seq_len(unsigned char lead)
{
	if ((lead & 0xe0) == 0xc0)
		return 2;
	if ((lead & 0xf0) == 0xe0)
		return 3;
	if ((lead & 0xf8) == 0xf0)
		return 4;
	return 1;
}

size_t cli_utf8_cut(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = len, tail = 0;

	/* Walk back over the continuation bytes (10xxxxxx) of the last
	 * character to its first byte, then keep it only if it is whole. */
	while (i > 0 && tail < 3 && (u[i - 1] & 0xc0) == 0x80) {
		i--;
		tail++;
	}
	if (i == 0)
		return len;
	if (seq_len(u[i - 1]) > tail + 1)
		return i - 1;
	return len;
}

void cli_vformat(char *buf, size_t n, const char *fmt, va_list ap)
{
	int len;

	if (n == 0)
		return;
	len = vsnprintf(buf, n, fmt, ap);
	if (len < 0)
		buf[0] = '\0';
	else if ((size_t)len >= n)
		buf[cli_utf8_cut(buf, n - 1)] = '\0';
}

void cli_format(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vformat(buf, n, fmt, ap);
	va_end(ap);
}

json_t *cli_json_text(const char *s)
{
	json_t *v = json_string(s);
	char *copy;

	if (v || !s)
		return v;
	/* Not valid UTF-8 (a host path of other bytes in a message, or one
	 * the library cut inside a character): the text with '?' for each
	 * byte that is not part of a character, rather than no result. */
	copy = strdup(s);
	if (!copy)
		return NULL;
	cli_utf8_clean(copy);
	v = json_string(copy);
	free(copy);
	return v;
}

/* The length of the well-formed UTF-8 character at u (n bytes left), as
 * jansson checks it: no overlong form, surrogate or code point past
 * U+10FFFF; 0 when there is none. */
static size_t utf8_char(const unsigned char *u, size_t n)
{
	size_t len = seq_len(u[0]);
	uint32_t cp;

	if (u[0] < 0x80)
		return 1;
	if (len == 1 || len > n)
		return 0;
	cp = u[0] & (0x7fu >> len);
	for (size_t k = 1; k < len; k++) {
		if ((u[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[k] & 0x3fu);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void cli_utf8_clean(char *s)
{
	unsigned char *u = (unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t k = utf8_char(u + i, n - i);

		if (k == 0) {
			u[i++] = '?';
			continue;
		}
		i += k;
	}
}
