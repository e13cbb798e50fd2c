/* Small utilities of every part of the library: the monotonic clock and
 * message formatting. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "internal.h"

uint64_t rj__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int rj__fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	/* Cut short: never in the middle of a UTF-8 character (messages quote
	 * paths and names), which a JSON encoder would refuse. */
	if (len && n >= 0 && (size_t)n >= len) {
		size_t end = len - 1;
		size_t start = end;
		while (start > 0 && ((unsigned char)buf[start - 1] & 0xC0) == 0x80)
			start--;
		if (start > 0) {
			unsigned char lead = (unsigned char)buf[start - 1];
			size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
			if (end - (start - 1) < need)
				buf[start - 1] = '\0';
		}
	}
	return n;
}
