/* Try to create and write each path given, outside the workspace. */
#include <fcntl.h>
#include "progs.h"

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		int fd = open(argv[i], O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			say("create %s: %s\n", argv[i], ename(errno));
			continue;
		}
		ssize_t n = write(fd, "pwned\n", 6);
		close(fd);
		say("create %s: OK wrote %zd\n", argv[i], n);
	}
	return 0;
}
