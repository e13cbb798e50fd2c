/* Kill everything it can: kill(-1), its parent, PID 1, and the host pids
 * given as arguments; then show it is still alive. */
#include <signal.h>
#include "progs.h"

int main(int argc, char **argv)
{
	report("kill(-1)", kill(-1, SIGKILL));
	say("ppid %d\n", getppid());
	report("kill(ppid)", kill(getppid(), SIGKILL));
	report("kill(1)", kill(1, SIGKILL));
	report("kill(1, SIGTERM)", kill(1, SIGTERM));
	for (int i = 1; i < argc; i++) {
		char what[64];
		snprintf(what, sizeof what, "kill(%s)", argv[i]);
		report(what, kill((pid_t)atoi(argv[i]), SIGKILL));
	}
	usleep(200 * 1000);
	say("alive\n");
	return 0;
}
