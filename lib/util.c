/* Small utilities of every part of the library: the monotonic clock,
 * message formatting, and the sweep of what dead executors left. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

void rj__sweep_dead(const char *dir, const char *prefix,
		    void (*drop)(int dir_fd, const char *name))
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t len = strlen(prefix);
	if (!d)
		return;
	while ((e = readdir(d))) {
		const char *at = e->d_name + len;
		char *end;
		if (strncmp(e->d_name, prefix, len) != 0)
			continue;
		long pid = strtol(at, &end, 10);
		if (end == at || *end != '-' || pid <= 0 || pid > INT_MAX || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
			drop(dirfd(d), e->d_name);
	}
	closedir(d);
}
