/* Load a kernel module, from memory and from a file. */
#include <fcntl.h>
#include <sys/syscall.h>
#include "progs.h"

int main(int argc, char **argv)
{
	static char image[4096];
	if (argc > 1 && !strcmp(argv[1], "finit")) {
		int fd = open("/proc/self/exe", O_RDONLY);
		say("calling finit_module\n");
		report("finit_module", syscall(SYS_finit_module, fd, "", 0));
	} else {
		say("calling init_module\n");
		report("init_module", syscall(SYS_init_module, image, sizeof image, ""));
	}
	say("survived\n");
	return 0;
}
