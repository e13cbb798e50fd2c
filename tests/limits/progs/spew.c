/* Write argv[1] bytes to stdout, then end as argv[2] says: a number is the
 * exit code; "ptrace" makes a call the syscall filter kills (SIGSYS).
 * With argv[3] (a marker the test looks for on the host), first linger
 * 200 ms, so that the test sees the program before it ends. */
#include <sys/ptrace.h>
#include "progs.h"

int main(int argc, char **argv)
{
	static char buf[65536];
	long n = argc > 1 ? atol(argv[1]) : 4096;
	const char *end = argc > 2 ? argv[2] : "0";
	memset(buf, 'o', sizeof buf);
	if (argc > 3)
		sleep_ms(200);
	while (n > 0) {
		ssize_t w = write(1, buf, n < (long)sizeof buf ? (size_t)n : sizeof buf);
		if (w <= 0)
			return 7;
		n -= w;
	}
	if (!strcmp(end, "ptrace")) {
		ptrace(PTRACE_ATTACH, getppid(), 0, 0);
		return 8; /* only if the filter let it through */
	}
	return atoi(end);
}
