/*
 * A line reader for the batch's job stream.
 *
 * Not getline(): getline stores a whole line however long it is (a 100 MB
 * line would cost 100 MB) and blocks until the line ends, while the loop
 * must keep running sandboxes, whose deadlines it enforces, when jobs come
 * slowly through a pipe. This reader keeps at most `max` bytes of a line
 * (reading and dropping the rest), and waits for input only as long as it
 * is told to.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define READ_SIZE (64 * 1024)
/* A line buffer grown past this is freed after use rather than kept, so
 * one huge line does not pin its memory for the rest of the batch. */
#define KEEP_LINE_CAP (1024 * 1024)

int cli_lines_init(struct cli_lines *r, int fd, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max;
	r->buf = malloc(READ_SIZE);
	return r->buf ? 0 : -ENOMEM;
}

void cli_lines_free(struct cli_lines *r)
{
	free(r->buf);
	free(r->line);
	r->buf = r->line = NULL;
}

/* Keep len more bytes of the current line, or drop them once it is too
 * long (and drop what was kept: the line is reported empty). */
static int append(struct cli_lines *r, const char *p, size_t len)
{
	if (r->too_long)
		return 0;
	if (r->line_len + len > r->max) {
		r->too_long = true;
		r->line_len = 0;
		return 0;
	}
	if (r->line_len + len > r->line_cap) {
		size_t cap = r->line_cap ? r->line_cap : READ_SIZE;
		char *n;

		while (cap < r->line_len + len)
			cap *= 2;
		n = realloc(r->line, cap);
		if (!n)
			return -ENOMEM;
		r->line = n;
		r->line_cap = cap;
	}
	memcpy(r->line + r->line_len, p, len);
	r->line_len += len;
	return 0;
}

/* Forget the line handed out last; a line still being assembled (the last
 * call ran out of input mid-line) is kept. */
static void reset_line(struct cli_lines *r)
{
	if (r->in_line)
		return;
	if (r->line_cap > KEEP_LINE_CAP) {
		free(r->line);
		r->line = NULL;
		r->line_cap = 0;
	}
	r->line_len = 0;
	r->too_long = false;
}

static int fill(struct cli_lines *r, int timeout_ms)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	ssize_t n;

	int rc;

	/* Regular files always poll readable, so this costs one syscall and
	 * never waits for them. A poll interrupted by a signal says nothing
	 * about the input: reading then would block on a quiet pipe and keep
	 * the caller from seeing the signal. */
	rc = poll(&p, 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR || errno == EAGAIN ? CLI_LINES_AGAIN : -errno;
	if (rc == 0)
		return CLI_LINES_AGAIN;
	n = read(r->fd, r->buf, READ_SIZE);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? CLI_LINES_AGAIN : -errno;
	if (n == 0)
		r->eof = true;
	r->start = 0;
	r->end = (size_t)n;
	return CLI_LINES_LINE;
}

int cli_lines_next(struct cli_lines *r, int timeout_ms, const char **text,
		   size_t *len, bool *too_long)
{
	reset_line(r);
	for (;;) {
		char *s = r->buf + r->start;
		char *nl = memchr(s, '\n', r->end - r->start);
		size_t n = nl ? (size_t)(nl - s) : r->end - r->start;
		int rc;

		if (nl && !r->in_line) {
			/* The common case: the whole line is in the buffer. */
			r->start += n + 1;
			*text = s;
			*len = n;
			*too_long = n > r->max;
			if (*too_long)
				*len = 0;
			return CLI_LINES_LINE;
		}
		if (n > 0) {
			rc = append(r, s, n);
			if (rc < 0)
				return rc;
			r->start += n;
			r->in_line = true;
		}
		if (nl) {
			r->start++;
			break;
		}
		if (r->eof) {
			if (!r->in_line)
				return CLI_LINES_EOF;
			break;  /* a last line without its '\n' */
		}
		rc = fill(r, timeout_ms);
		if (rc != CLI_LINES_LINE)
			return rc;
	}
	*text = r->line ? r->line : "";
	*len = r->line_len;
	*too_long = r->too_long;
	r->in_line = false;
	return CLI_LINES_LINE;
}
