/* Shared by the suites' helper programs (progs/ of hostile and limits):
 * tiny, static, unbuffered reports on stdout (a program the filter kills,
 * or one killed at a limit, must have said how far it got), as
 * "what: OK value" or "what: ERRNO_NAME"; a millisecond sleep and the
 * program's own CPU time; the address of an abstract unix socket. */
#ifndef RJ_TESTS_PROGS_H
#define RJ_TESTS_PROGS_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

__attribute__((unused, format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdprintf(1, fmt, ap);
	va_end(ap);
}

__attribute__((unused))
static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* Report a syscall's return value (errno already set on failure). */
__attribute__((unused))
static long report(const char *what, long rc)
{
	if (rc < 0)
		say("%s: %s\n", what, ename(errno));
	else
		say("%s: OK %ld\n", what, rc);
	return rc;
}

__attribute__((unused))
static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* CPU time of this whole process (every thread), in milliseconds. */
__attribute__((unused))
static double cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The address of the abstract unix socket @name; returns its length. */
__attribute__((unused))
static socklen_t abstract_addr(struct sockaddr_un *su, const char *name)
{
	memset(su, 0, sizeof *su);
	su->sun_family = AF_UNIX;
	size_t len = strlen(name);
	memcpy(su->sun_path + 1, name, len);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
}

#endif
