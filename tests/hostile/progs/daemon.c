/* A daemon that tries to outlive the sandbox: double fork, setsid, sleep
 * 30 s. The parent waits until the grandchild runs, lingers half a second
 * and exits 0. argv[1] is a marker the test looks for in the host's
 * /proc (the grandchild keeps this argv). */
#include <signal.h>
#include <sys/wait.h>
#include "progs.h"

int main(void)
{
	int p[2];
	if (pipe(p) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		signal(SIGHUP, SIG_IGN);
		if (fork() != 0)
			_exit(0);
		close(p[0]);
		say("daemon %d\n", getpid());
		write(p[1], "r", 1);
		close(p[1]);
		for (int i = 0; i < 30; i++)
			sleep(1);
		_exit(0);
	}
	close(p[1]);
	waitpid(pid, NULL, 0);
	char c;
	if (read(p[0], &c, 1) != 1)
		return 1;
	/* Long enough for the test to see the daemon on the host. */
	usleep(500 * 1000);
	say("parent: exiting\n");
	return 0;
}
