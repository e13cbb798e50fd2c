/* Shared by the hostile programs: each reports what happened to it on
 * stdout, unbuffered (a program the filter kills must have said what it
 * reached), as "what: OK value" or "what: ERRNO_NAME". */
#ifndef HOSTILE_COMMON_H
#define HOSTILE_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#endif
