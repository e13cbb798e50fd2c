/* Attach to a pid: "parent" (getppid()), or a number. */
#include <sys/ptrace.h>
#include "progs.h"

int main(int argc, char **argv)
{
	pid_t pid = argc > 1 && strcmp(argv[1], "parent") ? atoi(argv[1]) : getppid();
	say("attaching %d\n", pid);
	report("ptrace(PTRACE_ATTACH)", ptrace(PTRACE_ATTACH, pid, 0, 0));
	say("survived\n");
	return 0;
}
