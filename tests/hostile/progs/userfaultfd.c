/* userfaultfd: stalls kernel code on a page fault, a race widener. */
#include <fcntl.h>
#include <sys/syscall.h>
#include "progs.h"

int main(void)
{
	say("calling userfaultfd\n");
	report("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
	say("survived\n");
	return 0;
}
