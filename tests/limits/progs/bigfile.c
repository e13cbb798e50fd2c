/* Write argv[1] MiB (default 8) to the file out.bin in the working
 * directory with plain write(2)s, saying how far each MiB got. */
#include <fcntl.h>
#include "progs.h"

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	long mib = argc > 1 ? atol(argv[1]) : 8;
	memset(buf, 'x', sizeof buf);
	int fd = open("out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		say("open: %s\n", strerror(errno));
		return 3;
	}
	for (long i = 0; i < mib; i++) {
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) {
			say("write: %s at %ld MiB\n", strerror(errno), i);
			return 5;
		}
		say("wrote %ld MiB\n", i + 1);
	}
	return close(fd) ? 6 : 0;
}
