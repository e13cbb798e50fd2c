/* Fork bomb: every process forks as fast as it can, forever. The first
 * process counts its own forks until one fails, says why, lingers a second
 * (the bomb keeps trying meanwhile) and exits 0: the sandbox must then
 * kill every other process of the bomb. argv[1] is a marker the test
 * looks for in the host's /proc. */
#include "progs.h"

int main(void)
{
	int made = 0;
	for (;;) {
		pid_t p = fork();
		if (p == 0) {
			for (;;)
				if (fork() < 0)
					usleep(1000);
		}
		if (p < 0)
			break;
		made++;
	}
	say("fork: %s after %d\n", ename(errno), made);
	sleep(1);
	say("bomb: done\n");
	return 0;
}
