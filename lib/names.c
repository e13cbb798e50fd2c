/* Names of statuses, layers, limits and stages, as CLI.md spells them. */
#include "internal.h"

const char *rj_status_name(enum rj_status s)
{
	static const char *const names[] = {
		[RJ_STATUS_OK] = "ok",
		[RJ_STATUS_RUNTIME_ERROR] = "runtime_error",
		[RJ_STATUS_SIGNALED] = "signaled",
		[RJ_STATUS_OUTPUT_LIMIT] = "output_limit",
		[RJ_STATUS_MEMORY_LIMIT] = "memory_limit",
		[RJ_STATUS_WALL_TIME_LIMIT] = "wall_time_limit",
		[RJ_STATUS_TIME_LIMIT] = "time_limit",
		[RJ_STATUS_SYSCALL_VIOLATION] = "syscall_violation",
		[RJ_STATUS_INTERRUPTED] = "interrupted",
		[RJ_STATUS_SETUP_ERROR] = "setup_error",
		[RJ_STATUS_INVALID] = "invalid",
	};
	if ((unsigned)s < sizeof names / sizeof *names && names[s])
		return names[s];
	return "unknown";
}

const char *rj_layer_name(unsigned bit)
{
	static const char *const names[RJ_LAYER_COUNT] = {
		"user_ns", "pid_ns", "mount_ns", "net_ns", "ipc_ns", "uts_ns",
		"landlock", "seccomp", "caps", "no_new_privs", "cgroup",
		"landlock_scope", "net_ns_private",
	};
	for (unsigned i = 0; i < RJ_LAYER_COUNT; i++)
		if (bit == 1u << i)
			return names[i];
	return NULL;
}

const char *rj_limit_name(enum rj_limit l)
{
	static const char *const names[RJ_LIMIT__COUNT] = {
		"time", "wall_time", "mem", "pids", "output", "fsize", "disk",
		"open_files", "stack", "as",
	};
	return (unsigned)l < RJ_LIMIT__COUNT ? names[l] : "unknown";
}

const char *rj_enforce_name(enum rj_enforce how)
{
	static const char *const names[] = { "none", "cgroup", "rlimit", "timer", "pipe", "tmpfs" };
	return (unsigned)how < sizeof names / sizeof *names ? names[how] : "unknown";
}

const char *rj_setup_stage_name(int stage)
{
	static const char *const names[RJ_STAGE__COUNT] = {
		"none", "host", "clone", "user_ns", "namespaces", "mounts", "files",
		"chdir", "rlimits", "landlock", "capabilities", "no_new_privs",
		"seccomp", "exec", "stdio", "fork",
	};
	return (unsigned)stage < RJ_STAGE__COUNT ? names[stage] : "unknown";
}
