/* Malformed and hostile job lines (CLI.md, "ringjail batch"): each gets a
 * result of its own with status "invalid" and a message naming its line
 * and field, keeps its id when the id could be read (null otherwise, with
 * "line"), and the good lines around it still run. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ANY_ID ((const char *)-1)

struct bad_line {
	const char *text;   /* "@..." lines are generated (write_bad_line) */
	const char *id;     /* the id its result keeps; NULL: null; ANY_ID */
	const char *field;  /* what the message must name besides the line */
};

static const struct bad_line bad[] = {
	/* Not JSON, or not an object: id null, "line": N. */
	{ "@deep[", NULL, NULL },         /* 100,000 '[' */
	{ "@deep{", NULL, NULL },         /* 100,000 '{"a":' */
	{ "@huge", NULL, NULL },          /* a 100 MB line */
	{ "@utf8", NULL, NULL },          /* invalid UTF-8 in a string */
	{ "@raw", NULL, NULL },           /* raw bytes that are not UTF-8 */
	{ "{this is not json", NULL, NULL },
	{ "[1, 2]", NULL, NULL },
	{ "\"a string\"", NULL, NULL },
	{ "42", NULL, NULL },
	{ "null", NULL, NULL },
	{ "{\"id\": \"dk\", \"id\": \"dk\", \"argv\": [\"/bin/true\"]}", ANY_ID, NULL },
	/* The id itself. */
	{ "{\"argv\": [\"/bin/true\"]}", NULL, "id" },
	{ "{\"id\": 5, \"argv\": [\"/bin/true\"]}", NULL, "id" },
	{ "{\"id\": \"\", \"argv\": [\"/bin/true\"]}", NULL, "id" },
	{ "{\"id\": \"g0\", \"argv\": [\"/bin/true\"]}", "g0", "id" }, /* duplicate */
	/* Negative and zero limits. */
	{ "{\"id\": \"neg_time\", \"argv\": [\"/bin/true\"], \"limits\": {\"time\": -1}}", "neg_time", "limits.time" },
	{ "{\"id\": \"neg_wall\", \"argv\": [\"/bin/true\"], \"limits\": {\"wall_time\": -0.5}}", "neg_wall", "limits.wall_time" },
	{ "{\"id\": \"neg_mem\", \"argv\": [\"/bin/true\"], \"limits\": {\"mem\": \"-5M\"}}", "neg_mem", "limits.mem" },
	{ "{\"id\": \"neg_pids\", \"argv\": [\"/bin/true\"], \"limits\": {\"pids\": -3}}", "neg_pids", "limits.pids" },
	{ "{\"id\": \"zero_time\", \"argv\": [\"/bin/true\"], \"limits\": {\"time\": 0}}", "zero_time", "limits.time" },
	{ "{\"id\": \"zero_wall\", \"argv\": [\"/bin/true\"], \"limits\": {\"wall_time\": 0.0}}", "zero_wall", "limits.wall_time" },
	{ "{\"id\": \"zero_mem\", \"argv\": [\"/bin/true\"], \"limits\": {\"mem\": 0}}", "zero_mem", "limits.mem" },
	{ "{\"id\": \"zero_out\", \"argv\": [\"/bin/true\"], \"limits\": {\"output\": \"0\"}}", "zero_out", "limits.output" },
	{ "{\"id\": \"zero_pids\", \"argv\": [\"/bin/true\"], \"limits\": {\"pids\": 0}}", "zero_pids", "limits.pids" },
	/* Workspace names that leave the workspace. */
	{ "{\"id\": \"dotdot\", \"argv\": [\"/bin/true\"], \"files\": {\"../x\": {\"content\": \"a\"}}}", "dotdot", "files.../x" },
	{ "{\"id\": \"dotdot2\", \"argv\": [\"/bin/true\"], \"files\": {\"a/../../x\": {\"content\": \"a\"}}}", "dotdot2", "files.a/../../x" },
	{ "{\"id\": \"dotdot3\", \"argv\": [\"/bin/true\"], \"files\": {\"..\": {\"content\": \"a\"}}}", "dotdot3", "files..." },
	{ "{\"id\": \"absolute\", \"argv\": [\"/bin/true\"], \"files\": {\"/etc/x\": {\"content\": \"a\"}}}", "absolute", "files./etc/x" },
	/* Unknown fields. */
	{ "{\"id\": \"unknown\", \"argv\": [\"/bin/true\"], \"bogus\": 1}", "unknown", "bogus" },
	{ "{\"id\": \"limts\", \"argv\": [\"/bin/true\"], \"limts\": {\"time\": 1}}", "limts", "limts" },
	{ "{\"id\": \"unknown_limit\", \"argv\": [\"/bin/true\"], \"limits\": {\"memory\": \"1M\"}}", "unknown_limit", "limits.memory" },
	{ "{\"id\": \"unknown_spec\", \"argv\": [\"/bin/true\"], \"files\": {\"a\": {\"content\": \"a\", \"owner\": \"root\"}}}", "unknown_spec", "files.a" },
	/* Wrong types. */
	{ "{\"id\": \"argv_str\", \"argv\": \"/bin/true\"}", "argv_str", "argv" },
	{ "{\"id\": \"argv_num\", \"argv\": [1]}", "argv_num", "argv[0]" },
	{ "{\"id\": \"argv_num1\", \"argv\": [\"/bin/echo\", 5]}", "argv_num1", "argv[1]" },
	{ "{\"id\": \"stdin_num\", \"argv\": [\"/bin/cat\"], \"stdin\": 5}", "stdin_num", "stdin" },
	{ "{\"id\": \"net_str\", \"argv\": [\"/bin/true\"], \"net\": \"yes\"}", "net_str", "net" },
	{ "{\"id\": \"env_num\", \"argv\": [\"/bin/true\"], \"env\": {\"A\": 1}}", "env_num", "env.A" },
	{ "{\"id\": \"limits_str\", \"argv\": [\"/bin/true\"], \"limits\": \"1s\"}", "limits_str", "limits" },
	{ "{\"id\": \"time_word\", \"argv\": [\"/bin/true\"], \"limits\": {\"time\": \"fast\"}}", "time_word", "limits.time" },
	{ "{\"id\": \"files_arr\", \"argv\": [\"/bin/true\"], \"files\": [\"a\"]}", "files_arr", "files" },
	{ "{\"id\": \"content_num\", \"argv\": [\"/bin/true\"], \"files\": {\"a\": {\"content\": 5}}}", "content_num", "files.a" },
	{ "{\"id\": \"dirs_str\", \"argv\": [\"/bin/true\"], \"dirs\": \"/usr\"}", "dirs_str", "dirs" },
	{ "{\"id\": \"allow_str\", \"argv\": [\"/bin/true\"], \"allow_syscalls\": \"read\"}", "allow_str", "allow_syscalls" },
	{ "{\"id\": \"effort_num\", \"argv\": [\"/bin/true\"], \"best_effort\": 1}", "effort_num", "best_effort" },
	/* argv present but empty, or missing. */
	{ "{\"id\": \"argv_empty\", \"argv\": []}", "argv_empty", "argv" },
	{ "{\"id\": \"argv_blank\", \"argv\": [\"\"]}", "argv_blank", "argv[0]" },
	{ "{\"id\": \"argv_missing\"}", "argv_missing", "argv" },
	/* Host paths that cannot be read. */
	{ "{\"id\": \"stdin_gone\", \"argv\": [\"/bin/cat\"], \"stdin\": {\"path\": \"/nonexistent/in.txt\"}}", "stdin_gone", "stdin" },
	{ "{\"id\": \"stdin_notdir\", \"argv\": [\"/bin/cat\"], \"stdin\": {\"path\": \"/etc/passwd/x\"}}", "stdin_notdir", "stdin" },
	{ "{\"id\": \"file_gone\", \"argv\": [\"/bin/true\"], \"files\": {\"a\": {\"path\": \"/nonexistent/a\"}}}", "file_gone", "files.a" },
	/* Values that used to be accepted here and fail only at spawn, as
	 * setup_error, or to be read as something else. */
	{ "{\"id\": \"mode_nul\", \"argv\": [\"/bin/true\"], \"files\": {\"x\": {\"content\": \"x\", \"mode\": \"07\\u00009\"}}}", "mode_nul", "files.x.mode" },
	{ "{\"id\": \"pids_max\", \"argv\": [\"/bin/true\"], \"limits\": {\"pids\": 4294967295}}", "pids_max", "limits.pids" },
	{ "{\"id\": \"pids_str\", \"argv\": [\"/bin/true\"], \"limits\": {\"pids\": \"4194305\"}}", "pids_str", "limits.pids" },
	{ "{\"id\": \"nofile_max\", \"argv\": [\"/bin/true\"], \"limits\": {\"open_files\": 4294967295}}", "nofile_max", "limits.open_files" },
	{ "{\"id\": \"file_dir\", \"argv\": [\"/bin/true\"], \"files\": {\"a\": {\"content\": \"x\"}, \"a/b\": {\"content\": \"y\"}}}", "file_dir", "files.a/b" },
	{ "{\"id\": \"dir_file\", \"argv\": [\"/bin/true\"], \"files\": {\"a/b/c\": {\"content\": \"x\"}, \"a/b\": {\"content\": \"y\"}}}", "dir_file", "files.a/b" },
	{ "@bigarg", "bigarg", "argv[1]" },
	{ "@bigargv", "bigargv", "argv" },
	{ "@bigenv", "bigenv", "env" },
};
#define NBAD (sizeof bad / sizeof bad[0])

static void write_bad_line(FILE *f, const char *text)
{
	if (!strcmp(text, "@deep[")) {
		for (int k = 0; k < 100000; k++)
			fputc('[', f);
	} else if (!strcmp(text, "@deep{")) {
		for (int k = 0; k < 100000; k++)
			fputs("{\"a\":", f);
	} else if (!strcmp(text, "@huge")) {
		static char x[1 << 20];
		memset(x, 'x', sizeof x);
		fputs("{\"id\": \"huge\", \"argv\": [\"/bin/echo\", \"", f);
		for (int k = 0; k < 100; k++)
			cr_assert_eq(fwrite(x, 1, sizeof x, f), sizeof x);
		fputs("\"]}", f);
	} else if (!strcmp(text, "@utf8")) {
		fputs("{\"id\": \"utf8\", \"argv\": [\"/bin/echo\", \"\xff\xfe\xc3\"]}", f);
	} else if (!strcmp(text, "@bigarg") || !strcmp(text, "@bigargv") ||
		   !strcmp(text, "@bigenv")) {
		/* One argument longer than execve takes (128 KiB), or many
		 * that together pass a quarter of the stack limit. */
		static char x[200000];
		bool one = !strcmp(text, "@bigarg"), env = !strcmp(text, "@bigenv");
		memset(x, 'x', sizeof x - 1);
		fprintf(f, "{\"id\": \"%s\", \"argv\": [\"/bin/echo\"", text + 1);
		if (one)
			fprintf(f, ", \"%s\"", x);
		else if (!env)
			for (int k = 0; k < 30; k++)
				fprintf(f, ", \"%.100000s\"", x);
		fputs("]", f);
		if (env) {
			fputs(", \"env\": {", f);
			for (int k = 0; k < 30; k++)
				fprintf(f, "%s\"V%d\": \"%.100000s\"", k ? ", " : "", k, x);
			fputs("}", f);
		}
		fputs("}", f);
	} else if (!strcmp(text, "@raw")) {
		static const char raw[] = "\xff\xfe\x80\x00\x01 raw";
		cr_assert_eq(fwrite(raw, 1, sizeof raw - 1, f), sizeof raw - 1);
	} else {
		fputs(text, f);
	}
	fputc('\n', f);
}

Test(batch, hostile_lines_are_invalid_and_their_neighbours_run, .timeout = 180)
{
	FILE *f = fopen(tpath("jobs"), "w");
	long line = 0, bad_line[NBAD];
	struct run r;

	cr_assert_not_null(f);
	/* g0, bad 0, g1, bad 1, ..., g<NBAD>: every bad line between good
	 * ones. */
	for (size_t k = 0; k <= NBAD; k++) {
		line++;
		fprintf(f, "{\"id\": \"g%zu\", \"argv\": [\"/bin/echo\", \"good %zu\"]}\n", k, k);
		if (k == NBAD)
			break;
		bad_line[k] = line++;
		write_bad_line(f, bad[k].text);
	}
	cr_assert_eq(fclose(f), 0);

	RUN(&r, NULL, 150, "-j", "8", tpath("jobs"));

	cr_expect_eq(r.res.n, (size_t)line, "%zu results for %ld lines", r.res.n, line);
	cr_expect_eq(results_count_status(&r.res, "invalid"), NBAD);
	cr_expect_eq(results_count_status(&r.res, "ok"), NBAD + 1);
	for (size_t k = 0; k <= NBAD; k++) {
		json_t *g[2] = { NULL, NULL };
		size_t n = results_with_id(&r.res, tfmt("g%zu", k), g, 2);
		/* g0 also names the duplicate's result, which is invalid. */
		json_t *o = n && g[0] && jhas(g[0], "line") ? g[1] : g[0];

		cr_expect_eq(n, k == 0 ? 2u : 1u, "%zu results with id g%zu", n, k);
		if (!o)
			continue;
		expect_status(o, "ok");
		expect_stdout(o, tfmt("good %zu\n", k));
		cr_expect(!jhas(o, "line"), "a job that ran has \"line\"");
	}
	for (size_t k = 0; k < NBAD; k++) {
		json_t *o = result_line(&r.res, bad_line[k]);
		const char *msg = jstr(o, "message"), *id = jstr(o, "id");
		const char *want_line = tfmt("line %ld", bad_line[k]);

		expect_status(o, "invalid");
		cr_expect(msg && strstr(msg, want_line) &&
			  !strchr("0123456789", strstr(msg, want_line)[strlen(want_line)]),
			  "line %ld (%.60s): message \"%s\" does not name the line",
			  bad_line[k], bad[k].text, msg);
		if (bad[k].field)
			cr_expect(msg && strstr(msg, bad[k].field),
				  "line %ld (%.60s): message \"%s\" does not name field %s",
				  bad_line[k], bad[k].text, msg, bad[k].field);
		if (bad[k].id == NULL)
			cr_expect(json_is_null(json_object_get(o, "id")),
				  "line %ld (%.60s): id %s, expected null", bad_line[k],
				  bad[k].text, id ? id : "(missing or not a string)");
		else if (bad[k].id != ANY_ID)
			cr_expect(id && !strcmp(id, bad[k].id), "line %ld: id %s, expected %s",
				  bad_line[k], id ? id : "(not a string)", bad[k].id);
		/* One of each output pair is always there, "" when empty. */
		cr_expect_str_eq(jstr(o, "stdout") ? jstr(o, "stdout") : "(none)", "");
		cr_expect_str_eq(jstr(o, "stderr") ? jstr(o, "stderr") : "(none)", "");
	}
	cr_expect_eq(r.p.status, 1, "exit status %d with invalid lines", r.p.status);
	EXPECT_SUMMARY(&r.p, (size_t)line, tfmt("ok %zu", NBAD + 1), tfmt("invalid %zu", NBAD));
	run_free(&r);
}

Test(batch, a_line_that_is_not_an_object_gets_a_null_id_and_its_line, .timeout = 60)
{
	const char *lines[] = {
		"{\"id\": \"first\", \"argv\": [\"/bin/echo\", \"1\"]}",
		"[\"id\", \"x\"]",
		"{\"id\": \"third\", \"argv\": [\"/bin/echo\", \"3\"]}",
		"}{",
		NULL,
	};
	struct run r;

	write_jobs(tpath("jobs"), lines);
	RUN(&r, NULL, 60, tpath("jobs"));

	cr_expect_eq(r.res.n, 4);
	expect_stdout(result_id(&r.res, "first"), "1\n");
	expect_stdout(result_id(&r.res, "third"), "3\n");
	for (long l = 1; l <= 3; l += 2) {
		json_t *o = result_line(&r.res, l);
		json_t *id = json_object_get(o, "id");
		expect_status(o, "invalid");
		cr_expect(id && json_is_null(id), "line %ld: \"id\" is not null", l);
		cr_expect(strstr(jstr(o, "message"), tfmt("line %ld", l)), "%s", jstr(o, "message"));
	}
	cr_expect_eq(r.p.status, 1);
	run_free(&r);
}

/* A directory cannot be read as a stdin: like a missing file, it is named
 * as the job's problem, not found out by the program at run time. */
Test(batch, a_stdin_path_that_is_a_directory_is_invalid, .timeout = 60)
{
	const char *lines[] = {
		"{\"id\": \"before\", \"argv\": [\"/bin/echo\", \"b\"]}",
		tfmt("{\"id\": \"dir\", \"argv\": [\"/bin/cat\"], \"stdin\": {\"path\": \"%s\"}}",
		     ttmpdir()),
		"{\"id\": \"after\", \"argv\": [\"/bin/echo\", \"a\"]}",
		NULL,
	};
	struct run r;

	write_jobs(tpath("jobs"), lines);
	RUN(&r, NULL, 60, tpath("jobs"));

	cr_expect_eq(r.res.n, 3);
	expect_stdout(result_id(&r.res, "before"), "b\n");
	expect_stdout(result_id(&r.res, "after"), "a\n");
	json_t *o = result_id(&r.res, "dir");
	expect_status(o, "invalid");
	cr_expect(jstr(o, "message") && strstr(jstr(o, "message"), "line 1") &&
		  strstr(jstr(o, "message"), "stdin"), "message: %s", jstr(o, "message"));
	cr_expect_eq(r.p.status, 1);
	run_free(&r);
}
