/* Write argv[2] MiB (default 8) to argv[1]. */
#include <fcntl.h>
#include "progs.h"

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	long mib = argc > 2 ? atol(argv[2]) : 8;
	static char buf[1 << 20];
	memset(buf, 'y', sizeof buf);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (report("open", fd) < 0)
		return 1;
	for (long i = 0; i < mib; i++)
		if (write(fd, buf, sizeof buf) < 0) {
			say("write: %s at %ld MiB\n", ename(errno), i);
			return 1;
		}
	say("wrote %ld MiB\n", mib);
	return 0;
}
