/* A bounded fork bomb, as in contract/progs/forkbomb.c: every process
 * forks up to 4 children, 6 levels deep (at most 5,461 processes), as fast
 * as it can. The first process then sleeps argv[2] ms and exits 0; every
 * other one sleeps argv[3] ms, much longer, so that any process of the
 * bomb still on the host after the first one ended is one the sandbox
 * failed to kill. argv[1] is a marker the test looks for in the host's
 * /proc (every process of the bomb keeps it in its argv). */
#include <sys/types.h>
#include "progs.h"

int main(int argc, char **argv)
{
	long root_ms = argc > 2 ? atol(argv[2]) : 1000;
	long child_ms = argc > 3 ? atol(argv[3]) : 60000;
	int forked = 0, failed = 0, is_root = 1;
	for (int depth = 0; depth < 6; depth++) {
		int made = 0;
		for (int i = 0; i < 4; i++) {
			pid_t p = fork();
			if (p == 0) {
				made = -1;
				is_root = 0;
				break;
			}
			if (p > 0)
				made++;
			else
				failed++;
		}
		if (made >= 0) {
			forked = made;
			break;
		}
	}
	if (is_root) {
		say("root: forked %d, %d forks failed\n", forked, failed);
		sleep_ms(root_ms);
		say("root: done\n");
		return 0;
	}
	sleep_ms(child_ms);
	return 0;
}
