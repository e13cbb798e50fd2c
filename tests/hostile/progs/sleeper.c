/* A well-behaved neighbour: "sleeper SECS [FILE CONTENT]" writes FILE
 * (relative to the workspace), says it started, sleeps SECS seconds (with
 * SECS "stdin": until its stdin ends) and says it is done. */
#include <fcntl.h>
#include "progs.h"

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (argc > 3) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (report("create", fd) < 0)
			return 1;
		write(fd, argv[3], strlen(argv[3]));
		close(fd);
	}
	say("started pid %d\n", getpid());
	if (!strcmp(argv[1], "stdin")) {
		char buf[64];
		while (read(0, buf, sizeof buf) > 0)
			;
	} else {
		usleep((useconds_t)(atof(argv[1]) * 1e6));
	}
	say("done\n");
	return 0;
}
