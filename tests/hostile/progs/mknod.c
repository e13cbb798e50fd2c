/* Make device nodes (a disk, /dev/mem) and a fifo in the workspace. */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "progs.h"

int main(void)
{
	report("mknod(mem)", mknod("mem", S_IFCHR | 0666, makedev(1, 1)));
	report("mknod(sda)", mknod("sda", S_IFBLK | 0666, makedev(8, 0)));
	report("mknod(/tmp/kmsg)", mknod("/tmp/kmsg", S_IFCHR | 0666, makedev(1, 11)));
	struct stat st;
	say("mem exists: %s\n", stat("mem", &st) == 0 ? "yes" : "no");
	return 0;
}
