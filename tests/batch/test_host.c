/* Host files named by jobs and options (CLI.md: "opened by ringjail with
 * the caller's permissions"): what is not a regular file is refused
 * without blocking, so a FIFO cannot stall the event loop and the limits
 * of every other sandbox; and a symbolic link inside a job's own workdir,
 * which an earlier sandbox could have planted there, is never followed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ringjail.h"
#include "util.h"

/* `ringjail run ARGS...` to its end (at most timeout_s). */
static void run_cli(struct proc *p, double timeout_s, const char *const *args)
{
	proc_start_cmd(p, "run", args, NULL, 0, false);
	proc_finish(p, timeout_s);
}
#define RUN_CLI(p, timeout_s, ...) \
	run_cli((p), (timeout_s), (const char *const[]){ __VA_ARGS__, NULL })

static const char *out_text(const struct proc *p)
{
	return p->out.data ? p->out.data : "";
}

static const char *err_text(const struct proc *p)
{
	return p->err.data ? p->err.data : "";
}

/* ---- FIFOs ------------------------------------------------------------------- */

/* A FIFO nobody writes to, as stdin and as a workspace file (read by the
 * library, and by the CLI when a mode is given), beside a job whose 1 s
 * wall limit must hold while they are refused. */
Test(batch, a_fifo_is_refused_and_never_stalls_the_other_jobs, .timeout = 60)
{
	const char *fifo = tpath("fifo");
	struct run r;

	cr_assert_eq(mkfifo(fifo, 0644), 0, "mkfifo: %s", strerror(errno));
	const char *lines[] = {
		"{\"id\": \"slow\", \"argv\": [\"/bin/sleep\", \"5\"], \"limits\": {\"wall_time\": 1}}",
		"{\"id\": \"pause\", \"argv\": [\"/bin/sleep\", \"0.2\"]}",
		tfmt("{\"id\": \"fifo_stdin\", \"argv\": [\"/bin/cat\"], \"stdin\": {\"path\": \"%s\"}}", fifo),
		tfmt("{\"id\": \"fifo_file\", \"argv\": [\"/bin/true\"], "
		     "\"files\": {\"in\": {\"path\": \"%s\"}}}", fifo),
		tfmt("{\"id\": \"fifo_mode\", \"argv\": [\"/bin/true\"], "
		     "\"files\": {\"in\": {\"path\": \"%s\", \"mode\": \"0644\"}}}", fifo),
		"{\"id\": \"after\", \"argv\": [\"/bin/echo\", \"after\"]}",
		NULL,
	};
	write_jobs(tpath("jobs"), lines);

	RUN(&r, NULL, 20, "-j", "4", tpath("jobs"));

	cr_expect_eq(r.res.n, 6);
	json_t *o = result_id(&r.res, "slow");
	expect_status(o, "wall_time_limit");
	/* CLI.md's bound is the limit + 100 ms; the machine is shared, and a
	 * FIFO that blocks the loop makes it about 5,000 ms. */
	double wall_ms = json_number_value(json_object_get(o, "wall_ms"));
	cr_expect(wall_ms >= 1000 && wall_ms < 1400, "wall_ms %.1f at a 1 s limit", wall_ms);
	expect_stdout(result_id(&r.res, "after"), "after\n");
	static const char *const ids[] = { "fifo_stdin", "fifo_file", "fifo_mode" };
	static const char *const fields[] = { "stdin", "files.in", "files.in" };
	for (int k = 0; k < 3; k++) {
		o = result_id(&r.res, ids[k]);
		expect_status(o, "invalid");
		const char *msg = jstr(o, "message");
		cr_expect(msg && strstr(msg, fields[k]) && strstr(msg, "not a regular file"),
			  "%s: message \"%s\"", ids[k], msg);
	}
	cr_expect_eq(r.p.status, 1);
	run_free(&r);
}

Test(batch, run_refuses_a_fifo_as_stdin_or_file_at_once, .timeout = 60)
{
	const char *fifo = tpath("fifo");
	struct proc p;

	cr_assert_eq(mkfifo(fifo, 0644), 0, "mkfifo: %s", strerror(errno));
	RUN_CLI(&p, 10, "--stdin", fifo, "--", "/bin/cat");
	cr_expect_eq(p.status, 2, "--stdin FIFO: exit status %d", p.status);
	cr_expect(strstr(err_text(&p), "not a regular file") && strstr(err_text(&p), "--stdin"),
		  "--stdin FIFO: stderr %s", err_text(&p));
	cr_expect(p.wall_s < 3, "--stdin FIFO took %.1f s", p.wall_s);
	proc_free(&p);

	RUN_CLI(&p, 10, "--file", tfmt("%s:in", fifo), "--", "/bin/true");
	cr_expect_eq(p.status, 2, "--file FIFO: exit status %d", p.status);
	cr_expect(strstr(err_text(&p), "not a regular file") && strstr(err_text(&p), "--file"),
		  "--file FIFO: stderr %s", err_text(&p));
	cr_expect(p.wall_s < 3, "--file FIFO took %.1f s", p.wall_s);
	proc_free(&p);
}

/* ---- links inside a workdir -------------------------------------------------- */

/* A kept workdir where an earlier run planted data -> SECRET (a file of
 * the caller's, mode 0600) and dir -> the secret's folder; returns the
 * workdir. */
static const char *plant_links(const char **secret)
{
	const char *w = tpath("w"), *hidden = tpath("hidden");
	struct proc p;

	cr_assert_eq(mkdir(w, 0755), 0);
	cr_assert_eq(mkdir(hidden, 0700), 0);
	*secret = tfmt("%s/secret", hidden);
	write_file(*secret, "SECRET\n", 7, 0600);
	write_file(tfmt("%s/plain", w), "plain\n", 6, 0644);
	RUN_CLI(&p, 30, "--workdir", w, "--", "/bin/sh", "-c",
		tfmt("ln -s %s data && ln -s %s dir", *secret, hidden));
	cr_assert_eq(p.status, 0, "planting the links: exit %d, %s", p.status, err_text(&p));
	proc_free(&p);
	char target[512];
	ssize_t n = readlink(tfmt("%s/data", w), target, sizeof target - 1);
	cr_assert_gt(n, 0, "the run left no link data in its workdir");
	return w;
}

Test(batch, run_never_follows_a_link_planted_in_its_workdir, .timeout = 90)
{
	const char *secret, *w = plant_links(&secret);
	struct proc p;

	/* Through the link itself, through a linked folder, and with --file
	 * given before --workdir: all refused, the secret never read. */
	const char *specs[] = { tfmt("%s/data:in", w), tfmt("%s/dir/secret:in", w),
				tfmt("%s/./data:in", w) };
	for (int k = 0; k < 3; k++) {
		RUN_CLI(&p, 30, "--workdir", w, "--file", specs[k], "--", "/bin/cat", "in");
		cr_expect_eq(p.status, 2, "--file %s: exit status %d", specs[k], p.status);
		cr_expect(!strstr(out_text(&p), "SECRET"), "--file %s: the secret was read", specs[k]);
		cr_expect(strstr(err_text(&p), "link"), "--file %s: stderr %s", specs[k],
			  err_text(&p));
		proc_free(&p);
	}
	RUN_CLI(&p, 30, "--file", tfmt("%s/data:in", w), "--workdir", w, "--", "/bin/cat", "in");
	cr_expect_eq(p.status, 2, "--file before --workdir: exit status %d", p.status);
	cr_expect(!strstr(out_text(&p), "SECRET"), "--file before --workdir: the secret was read");
	proc_free(&p);
	RUN_CLI(&p, 30, "--workdir", w, "--stdin", tfmt("%s/data", w), "--", "/bin/cat");
	cr_expect_eq(p.status, 2, "--stdin through the link: exit status %d", p.status);
	cr_expect(!strstr(out_text(&p), "SECRET"), "--stdin: the secret was read");
	proc_free(&p);

	/* A regular file in the workdir is fine, and so is a link of the
	 * caller's outside it: that is the caller's own authority. */
	RUN_CLI(&p, 30, "--workdir", w, "--file", tfmt("%s/plain:p_in", w), "--", "/bin/cat", "p_in");
	cr_expect_eq(p.status, 0, "a plain file in the workdir: exit %d, %s", p.status,
		     err_text(&p));
	cr_expect_str_eq(out_text(&p), "plain\n");
	proc_free(&p);
	cr_assert_eq(symlink(secret, tpath("mine")), 0);
	RUN_CLI(&p, 30, "--workdir", w, "--file", tfmt("%s:m_in", tpath("mine")), "--",
		"/bin/cat", "m_in");
	cr_expect_eq(p.status, 0, "the caller's own link: exit %d, %s", p.status, err_text(&p));
	cr_expect_str_eq(out_text(&p), "SECRET\n");
	proc_free(&p);
}

Test(batch, a_job_never_follows_a_link_planted_in_its_workdir, .timeout = 90)
{
	const char *secret, *w = plant_links(&secret);
	struct run r;
	const char *lines[] = {
		tfmt("{\"id\": \"file\", \"argv\": [\"/bin/cat\", \"in\"], \"workdir\": \"%s\", "
		     "\"files\": {\"in\": {\"path\": \"%s/data\"}}}", w, w),
		tfmt("{\"id\": \"mode\", \"argv\": [\"/bin/cat\", \"in\"], \"workdir\": \"%s\", "
		     "\"files\": {\"in\": {\"path\": \"%s/dir/secret\", \"mode\": \"0644\"}}}", w, w),
		tfmt("{\"id\": \"stdin\", \"argv\": [\"/bin/cat\"], \"workdir\": \"%s\", "
		     "\"stdin\": {\"path\": \"%s/data\"}}", w, w),
		tfmt("{\"id\": \"plain\", \"argv\": [\"/bin/cat\", \"in\"], \"workdir\": \"%s\", "
		     "\"files\": {\"in\": {\"path\": \"%s/plain\"}}}", w, w),
		NULL,
	};
	write_jobs(tpath("jobs"), lines);

	/* One at a time: the jobs share the workdir. */
	RUN(&r, NULL, 60, "-j", "1", tpath("jobs"));

	cr_expect_eq(r.res.n, 4);
	static const char *const ids[] = { "file", "mode", "stdin" };
	static const char *const fields[] = { "files.in", "files.in", "stdin" };
	for (int k = 0; k < 3; k++) {
		json_t *o = result_id(&r.res, ids[k]);
		const char *msg = jstr(o, "message");

		expect_status(o, "invalid");
		cr_expect(msg && strstr(msg, fields[k]) && strstr(msg, "link"),
			  "%s: message \"%s\"", ids[k], msg);
	}
	expect_stdout(result_id(&r.res, "plain"), "plain\n");
	cr_expect(!strstr(r.p.out.data ? r.p.out.data : "", "SECRET"), "the secret was read");
	run_free(&r);
}

/* ---- the library's own checks ----------------------------------------------- */

/* The CLI checks these before the library does; a program that embeds the
 * library gets the same refusals from the plan setters themselves. */
Test(batch, the_plan_refuses_a_fifo_and_a_link_in_its_workdir, .timeout = 60)
{
	const char *fifo = tpath("fifo"), *w = tpath("lw"), *secret = tpath("secret");
	rj_plan *p = rj_plan_new((const char *const[]){ "/bin/true", NULL });
	double t = now_s();

	cr_assert_not_null(p);
	cr_assert_eq(mkfifo(fifo, 0644), 0, "mkfifo: %s", strerror(errno));
	cr_expect_eq(rj_plan_set_stdin_file(p, fifo), -EINVAL);
	cr_expect(strstr(rj_plan_error(p), "not a regular file"), "%s", rj_plan_error(p));
	cr_expect_eq(rj_plan_add_host_file(p, "in", fifo, RJ_MODE_KEEP_EXEC), -EINVAL);
	cr_expect(strstr(rj_plan_error(p), "not a regular file"), "%s", rj_plan_error(p));
	cr_expect(now_s() - t < 1, "refusing the FIFO took %.1f s", now_s() - t);

	write_file(secret, "SECRET\n", 7, 0600);
	cr_assert_eq(mkdir(w, 0755), 0);
	write_file(tfmt("%s/plain", w), "plain\n", 6, 0644);
	cr_assert_eq(symlink(secret, tfmt("%s/data", w)), 0);
	cr_assert_eq(rj_plan_set_workdir(p, w), 0);
	cr_expect_eq(rj_plan_add_host_file(p, "a", tfmt("%s/data", w), RJ_MODE_KEEP_EXEC), -ELOOP);
	cr_expect(strstr(rj_plan_error(p), "symbolic link"), "%s", rj_plan_error(p));
	cr_expect_eq(rj_plan_add_host_file(p, "b", tfmt("%s//./data", w), RJ_MODE_KEEP_EXEC),
		-ELOOP);
	cr_expect_eq(rj_plan_add_host_file(p, "c", tfmt("%s/../%s/data", w,
		     strrchr(w, '/') + 1), RJ_MODE_KEEP_EXEC), -EXDEV);
	cr_expect_eq(rj_plan_set_stdin_file(p, tfmt("%s/data", w)), -ELOOP);
	cr_expect_eq(rj_plan_add_host_file(p, "d", tfmt("%s/plain", w), RJ_MODE_KEEP_EXEC), 0, "%s",
		     rj_plan_error(p));
	cr_expect_eq(rj_plan_set_stdin_file(p, tfmt("%s/plain", w)), 0, "%s",
		     rj_plan_error(p));
	/* Outside the workdir a link is the caller's own, followed. */
	cr_assert_eq(symlink(secret, tpath("mine")), 0);
	cr_expect_eq(rj_plan_add_host_file(p, "e", tpath("mine"), RJ_MODE_KEEP_EXEC),
		0, "%s", rj_plan_error(p));
	rj_plan_free(p);
}

/* ---- who refuses what: one reader and one name rule, the library's ---------- */

/* `run --meta` after the --file or --stdin given: the exit status, stderr,
 * and the --meta text (empty after a usage error, which has no result). */
static const char *run_meta(struct proc *p, const char *opt, const char *val)
{
	const char *meta = tpath("meta.json");
	size_t len;

	unlink(meta);
	RUN_CLI(p, 30, "--meta", meta, opt, val, "--", "/bin/true");
	char *text = read_file(meta, &len);
	const char *kept = text ? tfmt("%s", text) : "";
	free(text);
	return kept;
}

/* CLI.md: a host file that cannot be used makes `run` a setup_error (a
 * result, with stage host), while a workspace name the library refuses
 * ("a//b", "./x", ...) is a usage error. The library says -EINVAL for
 * both a FIFO and a bad name; the CLI must still tell them apart. */
Test(batch, run_tells_a_refused_host_file_from_a_refused_name, .timeout = 90)
{
	const char *fifo = tpath("fifo"), *dir = tpath("dir"), *plain = tpath("plain");
	static const char *const names[] = { "a//b", "./x", "a/./b", "x/", "../x", "/x" };
	struct proc p;

	cr_assert_eq(mkfifo(fifo, 0644), 0, "mkfifo: %s", strerror(errno));
	cr_assert_eq(mkdir(dir, 0755), 0);
	write_file(plain, "plain\n", 6, 0644);
	const char *const hosts[][3] = {
		{ "--file", tfmt("%s:in", fifo), "not a regular file" },
		{ "--file", tfmt("%s:in", dir), "directory" },
		{ "--file", tfmt("%s:in", tpath("gone")), "No such file" },
		{ "--stdin", fifo, "not a regular file" },
		{ "--stdin", dir, "directory" },
		{ "--stdin", "", "empty" },
	};
	for (size_t k = 0; k < sizeof hosts / sizeof *hosts; k++) {
		const char *meta = run_meta(&p, hosts[k][0], hosts[k][1]);
		const char *what = tfmt("%s '%s'", hosts[k][0], hosts[k][1]);

		cr_expect_eq(p.status, 2, "%s: exit status %d", what, p.status);
		cr_expect(strstr(err_text(&p), hosts[k][2]) && strstr(err_text(&p), hosts[k][0]),
			  "%s: stderr %s", what, err_text(&p));
		cr_expect(strstr(meta, "\"setup_error\"") && strstr(meta, hosts[k][2]),
			  "%s: not a setup_error result: --meta \"%s\"", what, meta);
		proc_free(&p);
	}
	for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
		const char *meta = run_meta(&p, "--file", tfmt("%s:%s", plain, names[k]));

		cr_expect_eq(p.status, 2, "--file BOX %s: exit status %d", names[k], p.status);
		cr_expect(strstr(err_text(&p), tfmt("'%s'", names[k])) &&
			  strstr(err_text(&p), "--file"), "--file BOX %s: stderr %s", names[k],
			  err_text(&p));
		cr_expect_str_eq(meta, "", "--file BOX %s: a usage error wrote a result", names[k]);
		proc_free(&p);
	}
}

/* The same names in a job: refused whether the file comes from the host
 * (with or without a mode) or inline; and a host file's explicit mode is
 * the caller's, set-id bits included (CLI.md: "mode" as an octal string),
 * as an inline file's is. */
Test(batch, a_job_file_takes_the_librarys_names_and_any_mode, .timeout = 90)
{
	static const char *const names[] = { "a//b", "./x", "a/./b", "x/", "../x", "/x" };
	const char *plain = tpath("plain");
	const char *const specs[] = { tfmt("{\"path\": \"%s\"}", plain),
		tfmt("{\"path\": \"%s\", \"mode\": \"0644\"}", plain), "{\"content\": \"x\"}" };
	const char *lines[sizeof names / sizeof *names * 3 + 2];
	size_t n = 0;
	struct run r;

	write_file(plain, "plain\n", 6, 0644);
	for (size_t k = 0; k < sizeof names / sizeof *names; k++)
		for (size_t s = 0; s < 3; s++)
			lines[n++] = tfmt("{\"id\": \"n%zu_%zu\", \"argv\": [\"/bin/true\"], "
					  "\"files\": {\"%s\": %s}}", k, s, names[k], specs[s]);
	lines[n++] = tfmt("{\"id\": \"modes\", \"argv\": [\"/usr/bin/stat\", \"-c\", \"%%a %%n\", "
			  "\"s\", \"t\", \"k\"], \"files\": {\"s\": {\"path\": \"%s\", \"mode\": "
			  "\"4755\"}, \"t\": {\"path\": \"%s\", \"mode\": \"1700\"}, \"k\": "
			  "{\"path\": \"%s\"}}}", plain, plain, plain);
	lines[n] = NULL;
	write_jobs(tpath("jobs"), lines);

	RUN(&r, NULL, 60, "-j", "2", tpath("jobs"));

	cr_expect_eq(r.res.n, n);
	for (size_t k = 0; k < sizeof names / sizeof *names; k++)
		for (size_t s = 0; s < 3; s++) {
			json_t *o = result_id(&r.res, tfmt("n%zu_%zu", k, s));
			const char *msg = jstr(o, "message");

			expect_status(o, "invalid");
			cr_expect(msg && strstr(msg, tfmt("files.%s", names[k])),
				  "%s (spec %zu): message \"%s\"", names[k], s, msg);
		}
	json_t *o = result_id(&r.res, "modes");
	expect_status(o, "ok");
	expect_stdout(o, "4755 s\n1700 t\n644 k\n");
	run_free(&r);
}
