/* Verdicts and accounting: from the reap's rusage, the sandbox's cgroup
 * and init's shared record to a result, with CLI.md's precedence. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "executor.h"

#define MEM_MARGIN (64u * 4096)

void rj__result_setup_error(struct rj__sbx *s, int stage, int err, const char *msg)
{
	s->res.status = RJ_STATUS_SETUP_ERROR;
	s->res.setup_stage = stage;
	s->res.setup_errno = err;
	s->res.exit_code = -1;
	rj__fmt(s->res.message, sizeof s->res.message, "%s", msg);
}

static const char *stage_hint(int stage, int err)
{
	if (stage == RJ_STAGE_EXEC && err == ENOENT)
		return ": the program was not found in the sandbox (is it on the sandbox's PATH, "
		       "or under /usr, /bin or /box?)";
	if (stage == RJ_STAGE_EXEC && err == EACCES)
		return ": the program is not executable (missing x bit, or on a noexec mount)";
	if (stage == RJ_STAGE_EXEC && err == ENOEXEC)
		return ": the file is not a program this kernel can run (no #! line or wrong format)";
	if (stage == RJ_STAGE_LANDLOCK)
		return ": Landlock refused the ruleset";
	if (stage == RJ_STAGE_SECCOMP)
		return ": the kernel refused the syscall filter";
	return "";
}

static void child_setup_error(struct rj__sbx *s, const struct rj__shm *shm)
{
	char msg[RJ__ERRLEN];
	const char *what = rj_setup_stage_name(shm->stage);
	if (shm->stage == RJ_STAGE_EXEC)
		rj__fmt(msg, sizeof msg, "cannot execute '%s': %s%s", s->pol->in.argv[0],
			strerror(shm->err), stage_hint(shm->stage, shm->err));
	else if (shm->stage == RJ_STAGE_MOUNTS && shm->detail >= 0 && (size_t)shm->detail < s->pol->nmops)
		rj__fmt(msg, sizeof msg, "sandbox setup failed at mounts (/%s): %s",
			s->pol->mops[shm->detail].dst, strerror(shm->err));
	else if (shm->stage == RJ_STAGE_FILES && (size_t)shm->detail < s->pol->in.nfiles)
		rj__fmt(msg, sizeof msg, "cannot write /box/%s: %s", s->pol->in.files[shm->detail].path,
			strerror(shm->err));
	else
		rj__fmt(msg, sizeof msg, "sandbox setup failed at %s: %s%s", what, strerror(shm->err),
			stage_hint(shm->stage, shm->err));
	rj__result_setup_error(s, shm->stage, shm->err, msg);
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double tv_ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

/* CPU and memory: from the cgroup when there is one (the whole sandbox),
 * else from the reap's rusage (init and every process it reaped). */
static void accounting(struct rj__sbx *s, struct rj__cg_stats *cs, bool have_cg)
{
	struct rj_result *r = &s->res;
	r->wall_ms = ms(s->end_ns - s->start_ns);
	r->voluntary_ctxsw = s->ru.ru_nvcsw;
	r->involuntary_ctxsw = s->ru.ru_nivcsw;
	if (have_cg && cs->cpu_total_ns) {
		r->cpu_user_ms = ms(cs->cpu_user_ns);
		r->cpu_sys_ms = ms(cs->cpu_sys_ns);
		r->cpu_ms = ms(cs->cpu_total_ns);
	} else {
		r->cpu_user_ms = tv_ms(s->ru.ru_utime);
		r->cpu_sys_ms = tv_ms(s->ru.ru_stime);
		r->cpu_ms = r->cpu_user_ms + r->cpu_sys_ms;
	}
	if (have_cg && cs->mem_peak_bytes)
		r->memory_kib = cs->mem_peak_bytes / 1024;
	else
		r->memory_kib = (uint64_t)s->ru.ru_maxrss;
	r->oom_killed = have_cg && cs->oom_kills > 0;
}

static enum rj_status verdict(struct rj__sbx *s, int sig, int code, bool mem_hit)
{
	const struct rj__policy *pol = s->pol;
	const struct rj_result *r = &s->res;
	bool failed = sig != 0 || code != 0;
	if (sig == SIGSYS)
		return RJ_STATUS_SYSCALL_VIOLATION;
	if (s->kill == RJ__KILL_CPU || sig == SIGXCPU ||
	    r->cpu_ms > (double)pol->limits[RJ_LIMIT_TIME] / 1e3)
		return RJ_STATUS_TIME_LIMIT;
	/* A SIGKILL past the wall limit that we did not send is init's own
	 * backstop (our loop was held up past the limit and its margin). */
	if (s->kill == RJ__KILL_WALL ||
	    (s->kill == RJ__KILL_NONE && sig == SIGKILL &&
	     r->wall_ms >= (double)pol->limits[RJ_LIMIT_WALL_TIME] / 1e3))
		return RJ_STATUS_WALL_TIME_LIMIT;
	if (r->oom_killed || (failed && mem_hit))
		return RJ_STATUS_MEMORY_LIMIT;
	if (s->kill == RJ__KILL_OUTPUT || s->kill == RJ__KILL_DISK || sig == SIGXFSZ)
		return RJ_STATUS_OUTPUT_LIMIT;
	if (sig)
		return RJ_STATUS_SIGNALED;
	return code ? RJ_STATUS_RUNTIME_ERROR : RJ_STATUS_OK;
}

static void message(struct rj__sbx *s)
{
	struct rj_result *r = &s->res;
	const uint64_t *l = s->pol->limits;
	switch (r->status) {
	case RJ_STATUS_TIME_LIMIT:
		rj__fmt(r->message, sizeof r->message, "CPU time limit of %.3f s reached", (double)l[RJ_LIMIT_TIME] / 1e6);
		break;
	case RJ_STATUS_WALL_TIME_LIMIT:
		rj__fmt(r->message, sizeof r->message, "wall-clock limit of %.3f s reached", (double)l[RJ_LIMIT_WALL_TIME] / 1e6);
		break;
	case RJ_STATUS_MEMORY_LIMIT:
		rj__fmt(r->message, sizeof r->message, "memory limit of %llu KiB reached%s",
			(unsigned long long)(l[RJ_LIMIT_MEM] / 1024), r->oom_killed ? " (killed by the OOM killer)" : "");
		break;
	case RJ_STATUS_OUTPUT_LIMIT:
		if (s->kill == RJ__KILL_DISK && r->signal != SIGXFSZ) {
			rj__fmt(r->message, sizeof r->message, "disk limit of %llu bytes reached: the run "
				"wrote more than that into the workdir", (unsigned long long)l[RJ_LIMIT_DISK]);
			break;
		}
		rj__fmt(r->message, sizeof r->message, r->signal == SIGXFSZ ? "file size limit of %llu bytes reached"
			: "output limit of %llu bytes reached", (unsigned long long)(r->signal == SIGXFSZ ?
			l[RJ_LIMIT_FSIZE] : l[RJ_LIMIT_OUTPUT]));
		break;
	case RJ_STATUS_SYSCALL_VIOLATION:
		rj__fmt(r->message, sizeof r->message, "killed by the syscall filter (SIGSYS)");
		break;
	case RJ_STATUS_SIGNALED:
		rj__fmt(r->message, sizeof r->message, "killed by signal %d (%s)%s", r->signal, strsignal(r->signal),
			s->kill == RJ__KILL_USER ? ", at the caller's request" : "");
		break;
	case RJ_STATUS_RUNTIME_ERROR:
		rj__fmt(r->message, sizeof r->message, "exited with code %d", r->exit_code);
		break;
	default:
		r->message[0] = '\0';
	}
}

/* RJ_TRACE=1: where one run's time went, microseconds from clone3. */
static void trace(const struct rj__sbx *s, const struct rj__shm *shm)
{
	long long t0 = (long long)s->start_ns;
	fprintf(stderr, "ringjail-trace: child %lld go %lld root %lld exec %lld end %lld us\n",
		((long long)shm->t[0] - t0) / 1000, ((long long)shm->t[1] - t0) / 1000,
		((long long)shm->t[2] - t0) / 1000, ((long long)shm->t[3] - t0) / 1000,
		((long long)s->end_ns - t0) / 1000);
}

void rj__result_compute(rj_executor *ex, struct rj__sbx *s)
{
	struct rj_result *r = &s->res;
	struct rj__cg_stats cs;
	memset(&cs, 0, sizeof cs);
	bool have_cg = s->cg && rj__cg_stats(s->cg, &cs) == 0;
	r->output_truncated = s->truncated;
	r->stdout_data = s->out.cap;
	r->stdout_len = s->out.cap_len;
	r->stderr_data = s->err.cap;
	r->stderr_len = s->err.cap_len;
	if (s->deferred)
		return;
	accounting(s, &cs, have_cg);
	const struct rj__shm *shm = &ex->shm[s->index];
	if (ex->trace)
		trace(s, shm);
	uint32_t state = atomic_load(&shm->state);
	if (state == RJ__SHM_FAILED && s->kill == RJ__KILL_NONE) {
		child_setup_error(s, shm);
		return;
	}
	int sig = 0, code = 0;
	if (state == RJ__SHM_FINISHED) {
		if (WIFSIGNALED(shm->wstatus))
			sig = WTERMSIG(shm->wstatus);
		else
			code = WEXITSTATUS(shm->wstatus);
	} else {
		/* We killed the sandbox (or it died) before the program ended. */
		sig = SIGKILL;
	}
	r->exit_code = sig ? -1 : code;
	r->signal = sig;
	/* v1 on recent kernels never counts failcnt with memsw set, and the
	 * recorded peak can stop a page or a charge batch (64 pages) short of
	 * the limit: within that margin the limit was reached. */
	bool mem_hit = have_cg && ex->cg.mem &&
		       (cs.mem_failcnt > 0 ||
			cs.mem_peak_bytes + MEM_MARGIN >= s->pol->limits[RJ_LIMIT_MEM]);
	if (!have_cg || !ex->cg.mem)
		mem_hit = r->memory_kib * 1024 >= s->pol->limits[RJ_LIMIT_MEM] * 9 / 10;
	r->status = verdict(s, sig, code, mem_hit);
	message(s);
}
