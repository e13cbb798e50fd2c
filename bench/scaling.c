/*
 * bench/scaling: N sandboxes in flight at once on one executor, beside a
 * posix_spawn baseline doing the same in the same run.
 *
 *   scaling [-n N] [-s SMALL] [-r REPEATS] [-k SMALL_REPEATS]
 *           [--only ringjail|baseline] [--json]
 *
 * Each sandbox runs `/bin/head -c 1` with its stdin kept open, so all N
 * block on stdin until the last one is spawned: a barrier. Then each gets
 * its own byte and its stdin closed, and must end OK having printed
 * exactly that byte. Measured while all N are in flight: this process's
 * RSS, open fds and the files in the executor's io_uring fixed file table
 * (which hold descriptors outside the fd table: raw deltas from just
 * before the first spawn); over the
 * whole round: the parent's CPU time (getrusage RUSAGE_SELF, user + sys)
 * per sandbox, compared with the same figure at N = SMALL (default 16,
 * median of SMALL_REPEATS rounds each time). The rate is spawns per second
 * of the spawn loop, the latency percentiles those of one rj_spawn call
 * (baseline: one posix_spawn plus its two pipes).
 *
 * When the host refuses a spawn (EMFILE, EAGAIN, ENOMEM, ...) before N,
 * the round goes on with those in flight and reports the largest N that
 * worked and the error that stopped it.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

#define WALL_US 120000000ull

static bool json;

/* What one round measured. */
struct round {
	unsigned want, n;        /* asked for, in flight at the barrier */
	double spawn_s, total_s; /* spawn loop; first spawn to last final event */
	double spawn_p50_us, spawn_p99_us;
	double cpu_us;           /* this process's CPU per sandbox, whole round */
	double rss_kib;          /* RSS delta per sandbox at the barrier */
	double rss_fed_kib;      /* ... after every stdin byte is queued */
	int fds;                 /* fd delta at the barrier */
	int ring;                /* io_uring fixed files in use at the barrier */
	int held;                /* fds and ring files still held once all ended */
	int fd_leak;             /* fds open after the executor is freed */
	unsigned bad;            /* wrong status, wrong output, early end */
	char error[512];         /* why a spawn stopped short of want */
	char first_bad[512];
};

static unsigned char byte_of(unsigned i)
{
	return (unsigned char)('a' + i % 26);
}

/* ---- ringjail ------------------------------------------------------------- */

struct ctx {
	unsigned *out_len;
	unsigned char *out;
	unsigned done;
	bool barrier;            /* stdin bytes were sent */
	struct round *rd;
};

static void note_bad(struct round *rd, const char *fmt, unsigned i, const char *what)
{
	if (rd->bad++ == 0)
		snprintf(rd->first_bad, sizeof rd->first_bad, fmt, i, what);
}

static void on_event(rj_executor *ex, const struct rj_event *ev, void *arg)
{
	struct ctx *c = arg;
	unsigned i = (unsigned)(uintptr_t)ev->user_data;
	(void)ex;
	if (ev->type == RJ_EVENT_STDOUT || ev->type == RJ_EVENT_STDERR) {
		if (ev->type == RJ_EVENT_STDOUT && ev->len && !c->out_len[i])
			c->out[i] = *(const unsigned char *)ev->data;
		if (ev->type == RJ_EVENT_STDOUT)
			c->out_len[i] += (unsigned)ev->len;
		return;
	}
	c->done++;
	if (!c->barrier)
		note_bad(c->rd, "sandbox %u ended before the barrier: %s", i, ev->result->message);
	else if (ev->result->status != RJ_STATUS_OK)
		note_bad(c->rd, "sandbox %u: %s", i, ev->result->message[0] ? ev->result->message
									       : rj_status_name(ev->result->status));
	else if (c->out_len[i] != 1 || c->out[i] != byte_of(i))
		note_bad(c->rd, "sandbox %u printed the wrong bytes%s", i, "");
}

static void stop_short(struct round *rd, unsigned i, int err, const char *why)
{
	snprintf(rd->error, sizeof rd->error, "spawn %u failed: %s: %s", i + 1, strerror(err), why);
}

static void spawn_all(rj_executor *ex, const rj_plan *plan, struct round *rd, uint64_t *ids,
		      double *lat, struct ctx *c)
{
	double t0 = now_s();
	rd->n = 0;
	for (unsigned i = 0; i < rd->want; i++) {
		double t = now_s();
		int r = rj_spawn(ex, plan, (void *)(uintptr_t)i, &ids[i]);
		lat[i] = (now_s() - t) * 1e6;
		if (r < 0) {
			stop_short(rd, i, -r, rj_executor_error(ex));
			break;
		}
		rd->n++;
		/* Hand the ring what it has now and then, and take any early
		 * ends (setup errors) off it while spawning goes on. */
		if (i % 64 == 63 && rj_executor_run(ex, 0) < 0)
			break;
	}
	rd->spawn_s = now_s() - t0;
	if (c->done)
		note_bad(rd, "%u sandboxes ended before the barrier%s", c->done, "");
}

static void release_all(rj_executor *ex, struct round *rd, const uint64_t *ids, long rss0)
{
	for (unsigned i = 0; i < rd->n; i++) {
		unsigned char b = byte_of(i);
		int r = rj_write_stdin(ex, ids[i], &b, 1);
		if (r == 0)
			r = rj_close_stdin(ex, ids[i]);
		if (r < 0)
			note_bad(rd, "sandbox %u: rj_write_stdin/rj_close_stdin: %s", i, strerror(-r));
	}
	rd->rss_fed_kib = (double)(rss_kib() - rss0) / rd->n;
}

static void wait_all(rj_executor *ex, struct ctx *c, struct round *rd)
{
	double deadline = now_s() + WALL_US / 1e6 + 60;
	while (c->done < rd->n && now_s() < deadline) {
		int r = rj_executor_run(ex, 1000);
		if (r < 0 && r != -EINTR) {
			note_bad(rd, "rj_executor_run: %u %s", (unsigned)-r, strerror(-r));
			break;
		}
	}
	if (c->done < rd->n)
		note_bad(rd, "%u sandboxes never ended%s", rd->n - c->done, "");
}

/* One sandbox run to its end before the round: what an executor and a
 * plan do once (compiling the policy, the first cgroup) is then not
 * charged to the first sandboxes of the round, which at N = SMALL would
 * flatter the ratio. Its slot is the last one, index want. */
static void warm_up(rj_executor *ex, const rj_plan *plan, struct ctx *c, unsigned want)
{
	uint64_t id;
	unsigned char b = byte_of(want);
	c->barrier = true;
	int r = rj_spawn(ex, plan, (void *)(uintptr_t)want, &id);
	if (r == 0 && (r = rj_write_stdin(ex, id, &b, 1)) == 0)
		r = rj_close_stdin(ex, id);
	while (r == 0 && c->done == 0)
		if ((r = rj_executor_run(ex, -1)) == -EINTR)
			r = 0;
	if (r < 0)
		note_bad(c->rd, "warm-up sandbox %u: %s", want, strerror(-r));
	c->done = 0;
	c->barrier = false;
}

static struct round run_ringjail(unsigned want)
{
	struct round rd = { .want = want };
	struct ctx c = { calloc(want + 1, sizeof(unsigned)), calloc(want + 1, 1), 0, false, &rd };
	uint64_t *ids = calloc(want, sizeof *ids);
	double *lat = calloc(want, sizeof *lat);
	const char *argv[] = { "/bin/head", "-c", "1", NULL };
	rj_plan *plan = plan_or_die(argv);
	check_or_die(rj_plan_set_stdin_open(plan, true), plan, "stdin open");
	check_or_die(rj_plan_set_limit(plan, RJ_LIMIT_WALL_TIME, WALL_US), plan, "wall limit");
	rj_executor *ex;
	struct rj_executor_opts o = { .on_event = on_event, .ctx = &c, .ring_entries = 1024 };
	int fd_before = fd_count();
	if (rj_executor_new(&ex, &o) < 0) {
		fprintf(stderr, "scaling: cannot create an executor: %s\n", rj_executor_error(NULL));
		exit(1);
	}
	warm_up(ex, plan, &c, want);
	int fd0 = fd_count(), ring0 = ring_files(rj_executor_fd(ex));
	long rss0 = rss_kib();
	double cpu0 = self_cpu_s(), t0 = now_s();
	spawn_all(ex, plan, &rd, ids, lat, &c);
	rd.rss_kib = (double)(rss_kib() - rss0) / rd.n;
	rd.fds = fd_count() - fd0;
	rd.ring = ring_files(rj_executor_fd(ex)) - ring0;
	c.barrier = true;
	release_all(ex, &rd, ids, rss0);
	wait_all(ex, &c, &rd);
	rd.total_s = now_s() - t0;
	rd.cpu_us = (self_cpu_s() - cpu0) * 1e6 / rd.n;
	/* The library may keep a finished slot's fixed files until the slot is
	 * reused: held, not leaked, unless they outlive the executor. */
	rd.held = fd_count() - fd0 + ring_files(rj_executor_fd(ex)) - ring0;
	rd.spawn_p50_us = percentile(lat, rd.n, 0.5);
	rd.spawn_p99_us = percentile(lat, rd.n, 0.99);
	rj_executor_free(ex);
	rd.fd_leak = fd_count() - fd_before;
	rj_plan_free(plan);
	free(c.out_len);
	free(c.out);
	free(ids);
	free(lat);
	return rd;
}

/* ---- the baseline: posix_spawn with the same two pipes ------------------------ */

struct child {
	pid_t pid;
	int in, out; /* our ends */
};

static int spawn_head(struct child *ch)
{
	int in[2], out[2], r;
	if (pipe2(in, O_CLOEXEC) < 0)
		return errno;
	if (pipe2(out, O_CLOEXEC) < 0) {
		r = errno;
		close(in[0]);
		close(in[1]);
		return r;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	char *argv[] = { "/bin/head", "-c", "1", NULL };
	r = posix_spawn(&ch->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	ch->in = in[1];
	ch->out = out[0];
	if (r) {
		close(ch->in);
		close(ch->out);
	}
	return r;
}

static void reap_head(struct child *ch, unsigned i, struct round *rd)
{
	unsigned char buf[16];
	size_t got = 0;
	ssize_t k;
	while ((k = read(ch->out, buf + got, sizeof buf - got)) > 0 && got < sizeof buf)
		got += (size_t)k;
	close(ch->out);
	int st;
	waitpid(ch->pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		note_bad(rd, "baseline child %u did not exit 0%s", i, "");
	else if (got != 1 || buf[0] != byte_of(i))
		note_bad(rd, "baseline child %u printed the wrong bytes%s", i, "");
}

static struct round run_baseline(unsigned want)
{
	struct round rd = { .want = want };
	struct child *ch = calloc(want + 1, sizeof *ch);
	double *lat = calloc(want, sizeof *lat);
	/* The same warm-up as ringjail's (one child, run to its end). */
	unsigned char wb = byte_of(want);
	if (spawn_head(&ch[want]) == 0) {
		if (write(ch[want].in, &wb, 1) != 1)
			note_bad(&rd, "baseline warm-up child %u: write failed%s", want, "");
		close(ch[want].in);
		reap_head(&ch[want], want, &rd);
	}
	int fd0 = fd_count();
	long rss0 = rss_kib();
	double cpu0 = self_cpu_s(), t0 = now_s();
	for (unsigned i = 0; i < want; i++, rd.n++) {
		double t = now_s();
		int r = spawn_head(&ch[i]);
		lat[i] = (now_s() - t) * 1e6;
		if (r) {
			stop_short(&rd, i, r, "posix_spawn");
			break;
		}
	}
	rd.spawn_s = now_s() - t0;
	rd.rss_kib = (double)(rss_kib() - rss0) / rd.n;
	rd.fds = fd_count() - fd0;
	for (unsigned i = 0; i < rd.n; i++) {
		unsigned char b = byte_of(i);
		if (write(ch[i].in, &b, 1) != 1)
			note_bad(&rd, "baseline child %u: write: %s", i, strerror(errno));
		close(ch[i].in);
	}
	rd.rss_fed_kib = (double)(rss_kib() - rss0) / rd.n;
	for (unsigned i = 0; i < rd.n; i++)
		reap_head(&ch[i], i, &rd);
	rd.total_s = now_s() - t0;
	rd.cpu_us = (self_cpu_s() - cpu0) * 1e6 / rd.n;
	rd.held = rd.fd_leak = fd_count() - fd0;
	rd.spawn_p50_us = percentile(lat, rd.n, 0.5);
	rd.spawn_p99_us = percentile(lat, rd.n, 0.99);
	free(ch);
	free(lat);
	return rd;
}

/* ---- rounds and medians --------------------------------------------------------- */

typedef struct round (*runner)(unsigned);

/* The median CPU per sandbox of k rounds at n. */
static double small_cpu(runner run, unsigned n, unsigned k, unsigned *bad)
{
	double v[64];
	for (unsigned i = 0; i < k; i++) {
		struct round r = run(n);
		v[i] = r.cpu_us;
		*bad += r.bad;
		if (r.bad)
			fprintf(stderr, "scaling: at N=%u: %s\n", n, r.first_bad);
	}
	return median_of(v, k);
}

#define MED(field) (m.field = MEDIAN_OF(r, k, struct round, field))

/* Figure by figure, the median of k rounds; counts and errors from all. */
static struct round median_round(const struct round *r, unsigned k)
{
	struct round m = r[0];
	double fds[64], ring[64];
	MED(spawn_s);
	MED(total_s);
	MED(spawn_p50_us);
	MED(spawn_p99_us);
	MED(cpu_us);
	MED(rss_kib);
	MED(rss_fed_kib);
	m.bad = 0;
	m.fd_leak = m.held = 0;
	for (unsigned i = 0; i < k; i++) {
		fds[i] = r[i].fds;
		ring[i] = r[i].ring;
		m.n = r[i].n < m.n ? r[i].n : m.n;
		m.bad += r[i].bad;
		m.fd_leak = r[i].fd_leak > m.fd_leak ? r[i].fd_leak : m.fd_leak;
		m.held = r[i].held > m.held ? r[i].held : m.held;
		if (!m.error[0] && r[i].error[0])
			memcpy(m.error, r[i].error, sizeof m.error);
		if (!m.first_bad[0] && r[i].first_bad[0])
			memcpy(m.first_bad, r[i].first_bad, sizeof m.first_bad);
	}
	m.fds = (int)median_of(fds, k);
	m.ring = (int)median_of(ring, k);
	return m;
}

static void print_json(const char *who, const struct round *m, double small, unsigned small_n)
{
	printf("\"%s\":{\"n\":%u,\"spawn_s\":%.3f,\"spawn_rate\":%.1f,\"spawn_p50_us\":%.0f,"
	       "\"spawn_p99_us\":%.0f,\"total_s\":%.3f,\"cpu_us_per_sandbox\":%.1f,"
	       "\"cpu_us_per_sandbox_at_%u\":%.1f,\"cpu_ratio\":%.3f,\"rss_kib_per_sandbox\":%.2f,"
	       "\"rss_kib_per_sandbox_fed\":%.2f,\"fds_in_flight\":%d,\"fds_per_sandbox\":%.2f,"
	       "\"ring_files_in_flight\":%d,\"ring_files_per_sandbox\":%.2f,"
	       "\"held_after\":%d,\"fd_leak\":%d,\"bad\":%u,\"error\":",
	       who, m->n, m->spawn_s, m->n / m->spawn_s, m->spawn_p50_us, m->spawn_p99_us, m->total_s,
	       m->cpu_us, small_n, small, m->cpu_us / small, m->rss_kib, m->rss_fed_kib, m->fds,
	       (double)m->fds / m->n, m->ring, (double)m->ring / m->n, m->held, m->fd_leak, m->bad);
	json_str(m->error);
	printf(",\"first_bad\":");
	json_str(m->first_bad);
	putchar('}');
}

static void print_row(const char *who, const struct round *m, double small)
{
	printf("%-9s %6u %8.1f %8.0f %8.0f %8.0f %9.0f %9.0f %6.2f %8.2f %8.2f %7.2f %7.2f %6d %5d%s\n", who,
	       m->n, m->spawn_s, m->n / m->spawn_s, m->spawn_p50_us, m->spawn_p99_us, m->cpu_us, small,
	       m->cpu_us / small, m->rss_kib, m->rss_fed_kib, (double)m->fds / m->n, (double)m->ring / m->n,
	       m->held, m->fd_leak, m->bad ? "  (FAILURES, see below)" : "");
}

static void usage(void)
{
	fprintf(stderr, "usage: scaling [-n N] [-s SMALL] [-r REPEATS] [-k SMALL_REPEATS] [--only ringjail|baseline] [--json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned n = 4096, small = 16, repeats = 3, k = 5;
	const char *only = NULL; /* for profiling one side alone */
	for (int i = 1; i < argc; i++) {
		bool more = i + 1 < argc;
		if (!strcmp(argv[i], "-n") && more)
			n = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-s") && more)
			small = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-r") && more)
			repeats = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "-k") && more)
			k = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--only") && more)
			only = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else
			usage();
	}
	if (only && strcmp(only, "ringjail") && strcmp(only, "baseline"))
		usage();
	if (!n || !small || !repeats || repeats > 64 || !k || k > 64)
		usage();
	/* The baseline needs the raised fd limit as much as the executor,
	 * which raises it when it is created. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct round b[64], s[64];
	double bsmall[64], ssmall[64];
	unsigned sbad = 0;
	/* Alternate, so that drift on this shared machine hits both. */
	bool rb = !only || !strcmp(only, "baseline"), rs = !only || !strcmp(only, "ringjail");
	for (unsigned i = 0; i < repeats; i++) {
		bsmall[i] = rb ? small_cpu(run_baseline, small, k, &sbad) : NAN;
		b[i] = rb ? run_baseline(n) : (struct round){ .n = 1 };
		ssmall[i] = rs ? small_cpu(run_ringjail, small, k, &sbad) : NAN;
		s[i] = rs ? run_ringjail(n) : (struct round){ .n = 1 };
		if (!json)
			fprintf(stderr, "scaling: round %u: ringjail %u in flight, %.0f us CPU each (%.0f at %u)\n",
				i + 1, s[i].n, s[i].cpu_us, ssmall[i], small);
	}
	struct round mb = median_round(b, repeats), ms = median_round(s, repeats);
	double mbs = median_of(bsmall, repeats), mss = median_of(ssmall, repeats);
	if (json) {
		printf("{\"bench\":\"scaling\",\"program\":\"/bin/head -c 1\",\"n\":%u,\"small\":%u,"
		       "\"repeats\":%u,\"small_failures\":%u,", n, small, repeats, sbad);
		if (rb)
			print_json("baseline", &mb, mbs, small);
		if (rb && rs)
			putchar(',');
		if (rs)
			print_json("ringjail", &ms, mss, small);
		printf("}\n");
	} else {
		printf("scaling: %u x /bin/head -c 1 in flight at once, median of %u rounds\n", n, repeats);
		printf("%-9s %6s %8s %8s %8s %8s %9s %9s %6s %8s %8s %7s %7s %6s %5s\n", "who", "N", "spawn_s",
		       "spawn/s", "p50_us", "p99_us", "cpu_us/N", "cpu@small", "ratio", "rss_KiB", "fed_KiB",
		       "fds/N", "ring/N", "held", "leak");
		if (rb)
			print_row("baseline", &mb, mbs);
		if (rs)
			print_row("ringjail", &ms, mss);
		printf("(cpu@small: CPU per sandbox at N=%u; ratio goal <= 1.25; rss per sandbox goal <= 16 KiB; "
		       "fds per sandbox goal <= 4, counting the fd table and ring/N, the io_uring's fixed files;\n"
		       " held: fds and fixed files still held once every sandbox ended; leak: fds left once the\n"
		       " executor is freed)\n", small);
		if (ms.error[0] || mb.error[0])
			printf("stopped short: ringjail: %s; baseline: %s\n", ms.error[0] ? ms.error : "-",
			       mb.error[0] ? mb.error : "-");
		if (ms.bad || mb.bad || sbad)
			printf("failures: ringjail: %s; baseline: %s\n", ms.first_bad[0] ? ms.first_bad : "-",
			       mb.first_bad[0] ? mb.first_bad : "-");
	}
	return ms.bad || mb.bad ? 1 : 0;
}
