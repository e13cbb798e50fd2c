/* Shared by the limits suite's helper programs: tiny, static, unbuffered
 * reports on stdout (a program killed at a limit must have said how far it
 * got), and a millisecond sleep. */
#ifndef LIMITS_COMMON_H
#define LIMITS_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#endif
