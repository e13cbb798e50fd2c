/* The classic chroot escape: chroot into a subdirectory while keeping the
 * cwd outside it, climb with "..", chroot("."), then read argv[1] (a host
 * file). */
#include <fcntl.h>
#include <sys/stat.h>
#include "progs.h"

int main(int argc, char **argv)
{
	report("mkdir", mkdir("jail", 0755));
	say("chrooting\n");
	report("chroot(jail)", chroot("jail"));
	for (int i = 0; i < 64; i++)
		chdir("..");
	report("chroot(.)", chroot("."));
	if (argc > 1) {
		int fd = open(argv[1], O_RDONLY);
		if (report("open", fd) >= 0) {
			char buf[256];
			ssize_t n = read(fd, buf, sizeof buf);
			if (n > 0)
				write(1, buf, (size_t)n);
		}
	}
	say("survived\n");
	return 0;
}
