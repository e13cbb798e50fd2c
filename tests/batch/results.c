/* Helpers of the batch suite (util.h): result lines as JSON, their fields,
 * and the expectations shared by the test files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- results --------------------------------------------------------------- */

void results_parse(struct results *r, const char *text, size_t len)
{
	size_t cap = 0;
	const char *p = text, *end = text + len;

	memset(r, 0, sizeof(*r));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_error_t e;
		json_t *o;

		cr_assert_not_null(nl, "the last result line has no newline: %.300s", p);
		o = json_loadb(p, (size_t)(nl - p), JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &e);
		cr_assert(o && json_is_object(o), "result line %zu is not a JSON object "
			  "(%s): %.300s", r->n, o ? "not an object" : e.text, p);
		if (r->n == cap) {
			cap = cap ? cap * 2 : 64;
			r->v = realloc(r->v, cap * sizeof(*r->v));
			cr_assert_not_null(r->v);
		}
		r->v[r->n++] = o;
		p = nl + 1;
	}
}

void results_free(struct results *r)
{
	for (size_t k = 0; k < r->n; k++)
		json_decref(r->v[k]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

size_t results_with_id(const struct results *r, const char *id,
		       json_t **out, size_t max)
{
	size_t n = 0;

	for (size_t k = 0; k < r->n; k++) {
		const char *s = jstr(r->v[k], "id");

		if (s && !strcmp(s, id)) {
			if (n < max)
				out[n] = r->v[k];
			n++;
		}
	}
	return n;
}

json_t *result_id(const struct results *r, const char *id)
{
	json_t *o = NULL;
	size_t n = results_with_id(r, id, &o, 1);

	cr_assert_eq(n, 1, "%zu results with id '%s', expected 1", n, id);
	return o;
}

json_t *result_line(const struct results *r, long line)
{
	json_t *found = NULL;
	size_t n = 0;

	for (size_t k = 0; k < r->n; k++) {
		json_t *l = json_object_get(r->v[k], "line");

		if (json_is_integer(l) && json_integer_value(l) == line) {
			found = r->v[k];
			n++;
		}
	}
	cr_assert_eq(n, 1, "%zu results with \"line\": %ld, expected 1", n, line);
	return found;
}

size_t results_count_status(const struct results *r, const char *status)
{
	size_t n = 0;

	for (size_t k = 0; k < r->n; k++) {
		const char *s = jstr(r->v[k], "status");

		n += s && !strcmp(s, status);
	}
	return n;
}

void run_batch(struct run *r, const char *feed, double timeout_s,
	       const char *const *args)
{
	proc_start(&r->p, args, feed, feed ? strlen(feed) : 0, false);
	proc_finish(&r->p, timeout_s);
	results_parse(&r->res, r->p.out.data ? r->p.out.data : "", r->p.out.len);
}

void run_free(struct run *r)
{
	results_free(&r->res);
	proc_free(&r->p);
}

/* ---- fields ---------------------------------------------------------------- */

const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

long long jint(const json_t *o, const char *key, long long fallback)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

bool jhas(const json_t *o, const char *key)
{
	return json_object_get(o, key) != NULL;
}

static int b64_value(char c)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = c ? strchr(tab, c) : NULL;

	return p ? (int)(p - tab) : -1;
}

static char *b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s), k = 0;
	char *out = malloc(n / 4 * 3 + 1);

	cr_assert_not_null(out);
	cr_assert_eq(n % 4, 0, "base64 of length %zu: %s", n, s);
	for (size_t i = 0; i < n; i += 4) {
		int v[4];

		for (int j = 0; j < 4; j++) {
			v[j] = s[i + j] == '=' ? 0 : b64_value(s[i + j]);
			cr_assert_geq(v[j], 0, "not base64: %s", s);
		}
		unsigned w = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		out[k++] = (char)(w >> 16);
		if (s[i + 2] != '=')
			out[k++] = (char)(w >> 8);
		if (s[i + 3] != '=')
			out[k++] = (char)w;
	}
	out[k] = '\0';
	*len = k;
	return out;
}

char *joutput(const json_t *o, const char *name, size_t *len)
{
	char key[32];
	json_t *v = json_object_get(o, name);

	if (json_is_string(v)) {
		*len = json_string_length(v);
		char *s = malloc(*len + 1);
		cr_assert_not_null(s);
		memcpy(s, json_string_value(v), *len);
		s[*len] = '\0';
		return s;
	}
	snprintf(key, sizeof key, "%s_base64", name);
	v = json_object_get(o, key);
	if (!json_is_string(v))
		return NULL;
	return b64_decode(json_string_value(v), len);
}

static char *brief(const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s && strlen(s) > 700)
		strcpy(s + 690, "...");
	return s;
}

void expect_status(const json_t *o, const char *status)
{
	const char *s = jstr(o, "status");
	char *b = brief(o);

	cr_expect(s && !strcmp(s, status), "status %s, expected %s: %s",
		  s ? s : "(none)", status, b);
	free(b);
}

void expect_stdout(const json_t *o, const char *text)
{
	const char *s = jstr(o, "stdout");
	char *b = brief(o);

	cr_expect(s && !strcmp(s, text) && json_string_length(json_object_get(o, "stdout")) ==
		  strlen(text), "stdout is not \"%s\": %s", text, b);
	free(b);
}

void expect_result_object(const json_t *o, bool output_dir)
{
	static const struct { const char *key; json_type type; } fields[] = {
		{ "status", JSON_STRING }, { "wall_ms", JSON_REAL },
		{ "cpu_ms", JSON_REAL }, { "cpu_user_ms", JSON_REAL },
		{ "cpu_sys_ms", JSON_REAL }, { "memory_kib", JSON_INTEGER },
		{ "stdout_bytes", JSON_INTEGER }, { "stderr_bytes", JSON_INTEGER },
		{ "hardening", JSON_ARRAY }, { "limits", JSON_OBJECT },
		{ "message", JSON_STRING },
	};
	char *b = brief(o);

	for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
		json_t *v = json_object_get(o, fields[k].key);
		/* A whole number of milliseconds may be dumped as an integer. */
		bool ok = v && (json_typeof(v) == fields[k].type ||
				(fields[k].type == JSON_REAL && json_is_integer(v)));

		cr_expect(ok, "field \"%s\" missing or of the wrong type: %s",
			  fields[k].key, b);
	}
	cr_expect(json_is_integer(json_object_get(o, "exit_code")) ||
		  json_is_null(json_object_get(o, "exit_code")), "exit_code: %s", b);
	cr_expect(json_is_integer(json_object_get(o, "signal")) ||
		  json_is_null(json_object_get(o, "signal")), "signal: %s", b);
	cr_expect(json_is_boolean(json_object_get(o, "oom_killed")), "oom_killed: %s", b);
	cr_expect(json_is_boolean(json_object_get(o, "output_truncated")),
		  "output_truncated: %s", b);
	cr_expect(json_is_string(json_object_get(o, "id")), "id: %s", b);
	for (int s = 0; s < 2; s++) {
		const char *name = s ? "stderr" : "stdout";
		char key[32];

		snprintf(key, sizeof key, "%s_base64", name);
		if (output_dir)
			cr_expect(!jhas(o, name) && !jhas(o, key),
				  "with --output-dir, %s is in the result: %s", name, b);
		else
			cr_expect(jhas(o, name) != jhas(o, key),
				  "not exactly one of %s and %s: %s", name, key, b);
	}
	free(b);
}

void expect_summary(const struct proc *p, size_t results, const char *const *counts)
{
	const char *err = p->err.data ? p->err.data : "", *line = NULL, *q;
	char head[64];
	size_t len;

	for (q = err; (q = strstr(q, "ringjail batch: ")); q++)
		if (q == err || q[-1] == '\n' || q[-1] == '\r')
			line = q;
	cr_assert_not_null(line, "no summary line on stderr: %.2000s", err);
	len = strcspn(line, "\n");
	snprintf(head, sizeof head, "ringjail batch: %zu results", results);
	cr_expect(!strncmp(line, head, strlen(head)), "summary \"%.*s\" does not "
		  "start with \"%s\"", (int)len, line, head);
	cr_expect(memmem(line, len, "runs/s", 6), "summary \"%.*s\" has no rate",
		  (int)len, line);
	for (; *counts; counts++) {
		size_t n = strlen(*counts);
		bool found = false;

		for (q = line; (q = memmem(q, len - (size_t)(q - line), *counts, n)); q++) {
			char before = q > line ? q[-1] : ' ', after = q[n];

			if ((before == ' ') && (after == ',' || after == ';' ||
						after == '\n' || after == '\0')) {
				found = true;
				break;
			}
		}
		cr_expect(found, "summary \"%.*s\" lacks \"%s\"", (int)len, line, *counts);
	}
}

