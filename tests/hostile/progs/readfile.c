/* Read each path given: say whether it opened and print what it held (NUL
 * bytes as newlines, so /proc/PID/environ reads as lines). */
#include <fcntl.h>
#include "progs.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		if (fd < 0) {
			say("open %s: %s\n", argv[i], ename(errno));
			continue;
		}
		say("open %s: OK\n", argv[i]);
		char buf[8192];
		ssize_t n;
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			for (ssize_t j = 0; j < n; j++)
				if (buf[j] == '\0')
					buf[j] = '\n';
			write(1, buf, (size_t)n);
		}
		if (n < 0)
			say("\nread %s: %s\n", argv[i], ename(errno));
		say("\nend %s\n", argv[i]);
		close(fd);
	}
	return 0;
}
