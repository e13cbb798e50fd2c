/*
 * Process-level plumbing: signals, full writes, the clock.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

volatile sig_atomic_t cli_signal_count;
volatile sig_atomic_t cli_signal_last;

static void on_stop_signal(int sig)
{
	cli_signal_last = sig;
	cli_signal_count++;
}

/* A handler, not SIG_IGN: an ignored signal stays ignored across execve,
 * and the sandboxed programs must start with SIGPIPE at its default. A
 * handler is reset by execve, and our own writes get EPIPE instead. */
static void on_sigpipe(int sig)
{
	(void)sig;
}

int cli_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocking read or wait returns EINTR, and the loop
	 * notices the signal at once instead of at its next timeout. The
	 * signal mask is left alone, since children inherit it. */
	sa.sa_handler = on_stop_signal;
	/* SIGHUP (the terminal or the session went away) and SIGQUIT stop a
	 * run as SIGTERM does: their default action would end ringjail
	 * without killing its sandboxes or writing their results. */
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0 || sigaction(SIGQUIT, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = on_sigpipe;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

const char *cli_signal_name(int sig)
{
	switch (sig) {
	case SIGINT:  return "SIGINT";
	case SIGTERM: return "SIGTERM";
	case SIGHUP:  return "SIGHUP";
	case SIGQUIT: return "SIGQUIT";
	}
	return "a signal";
}

int cli_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
