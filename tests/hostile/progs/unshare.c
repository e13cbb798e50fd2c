/* Make new user and mount namespaces (where the program would be root and
 * could mount), by unshare or by clone; then mount. */
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "progs.h"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "clone")) {
		say("cloning\n");
		long pid = report("clone(CLONE_NEWUSER|CLONE_NEWNS)",
				  syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0));
		if (pid == 0) {
			report("child mount", mount("none", "/box", "tmpfs", 0, NULL));
			_exit(0);
		}
		if (pid > 0)
			waitpid((pid_t)pid, NULL, 0);
	} else {
		say("unsharing\n");
		report("unshare(CLONE_NEWUSER|CLONE_NEWNS)", unshare(CLONE_NEWUSER | CLONE_NEWNS));
		report("mount", mount("none", "/box", "tmpfs", 0, NULL));
	}
	say("survived\n");
	return 0;
}
