/* Names of statuses, layers, limits and stages, as CLI.md spells them, and
 * the library's version. Each table is indexed by its enum, and its size is
 * checked against the enum's count: a value added to the header without a
 * name here fails the build. */
#include <assert.h>

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
	static_assert(sizeof names / sizeof *names == RJ_STATUS_INVALID + 1, "a status without a name");
	if ((unsigned)s < sizeof names / sizeof *names && names[s])
		return names[s];
	return "unknown";
}

const char *rj_layer_name(unsigned bit)
{
	/* Indexed by the bit's position. */
#define AT(layer) [__builtin_ctz(layer)]
	static const char *const names[] = {
		AT(RJ_LAYER_USER_NS) = "user_ns",
		AT(RJ_LAYER_PID_NS) = "pid_ns",
		AT(RJ_LAYER_MOUNT_NS) = "mount_ns",
		AT(RJ_LAYER_NET_NS) = "net_ns",
		AT(RJ_LAYER_IPC_NS) = "ipc_ns",
		AT(RJ_LAYER_UTS_NS) = "uts_ns",
		AT(RJ_LAYER_LANDLOCK) = "landlock",
		AT(RJ_LAYER_SECCOMP) = "seccomp",
		AT(RJ_LAYER_CAPS) = "caps",
		AT(RJ_LAYER_NO_NEW_PRIVS) = "no_new_privs",
		AT(RJ_LAYER_CGROUP) = "cgroup",
		AT(RJ_LAYER_LANDLOCK_SCOPE) = "landlock_scope",
		AT(RJ_LAYER_NET_NS_PRIVATE) = "net_ns_private",
	};
#undef AT
	static_assert(sizeof names / sizeof *names == RJ_LAYER_COUNT, "RJ_LAYER_COUNT is not the layers' count");
	for (unsigned i = 0; i < RJ_LAYER_COUNT; i++)
		if (bit == 1u << i)
			return names[i];
	return NULL;
}

const char *rj_limit_name(enum rj_limit l)
{
	static const char *const names[] = {
		[RJ_LIMIT_TIME] = "time",
		[RJ_LIMIT_WALL_TIME] = "wall_time",
		[RJ_LIMIT_MEM] = "mem",
		[RJ_LIMIT_PIDS] = "pids",
		[RJ_LIMIT_OUTPUT] = "output",
		[RJ_LIMIT_FSIZE] = "fsize",
		[RJ_LIMIT_DISK] = "disk",
		[RJ_LIMIT_OPEN_FILES] = "open_files",
		[RJ_LIMIT_STACK] = "stack",
		[RJ_LIMIT_AS] = "as",
	};
	static_assert(sizeof names / sizeof *names == RJ_LIMIT__COUNT, "a limit without a name");
	return (unsigned)l < RJ_LIMIT__COUNT ? names[l] : "unknown";
}

const char *rj_enforce_name(enum rj_enforce how)
{
	static const char *const names[] = {
		[RJ_ENFORCE_NONE] = "none",
		[RJ_ENFORCE_CGROUP] = "cgroup",
		[RJ_ENFORCE_RLIMIT] = "rlimit",
		[RJ_ENFORCE_TIMER] = "timer",
		[RJ_ENFORCE_PIPE] = "pipe",
		[RJ_ENFORCE_TMPFS] = "tmpfs",
	};
	static_assert(sizeof names / sizeof *names == RJ_ENFORCE_TMPFS + 1, "a way of enforcing without a name");
	return (unsigned)how < sizeof names / sizeof *names ? names[how] : "unknown";
}

const char *rj_setup_stage_name(int stage)
{
	static const char *const names[] = {
		[RJ_STAGE_NONE] = "none",
		[RJ_STAGE_HOST] = "host",
		[RJ_STAGE_CLONE] = "clone",
		[RJ_STAGE_USERNS] = "user_ns",
		[RJ_STAGE_NAMESPACES] = "namespaces",
		[RJ_STAGE_MOUNTS] = "mounts",
		[RJ_STAGE_FILES] = "files",
		[RJ_STAGE_CHDIR] = "chdir",
		[RJ_STAGE_RLIMITS] = "rlimits",
		[RJ_STAGE_LANDLOCK] = "landlock",
		[RJ_STAGE_CAPS] = "capabilities",
		[RJ_STAGE_NO_NEW_PRIVS] = "no_new_privs",
		[RJ_STAGE_SECCOMP] = "seccomp",
		[RJ_STAGE_EXEC] = "exec",
		[RJ_STAGE_STDIO] = "stdio",
		[RJ_STAGE_FORK] = "fork",
	};
	static_assert(sizeof names / sizeof *names == RJ_STAGE__COUNT, "a setup stage without a name");
	return (unsigned)stage < RJ_STAGE__COUNT ? names[stage] : "unknown";
}

const char *rj_version(void)
{
	return RJ_VERSION_STRING;
}
