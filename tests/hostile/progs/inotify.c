/* Use up the caller's inotify instances (a per-user limit, 128 by
 * default): rootless, the sandbox's user is the caller. Holds what it got
 * for argv[1] milliseconds so that the test can look meanwhile. */
#include <sys/inotify.h>
#include <time.h>
#include "progs.h"

int main(int argc, char **argv)
{
	int made = 0;
	for (; made < 1024; made++) {
		int fd = inotify_init1(IN_CLOEXEC);
		if (fd < 0) {
			report("inotify_init1", -1);
			break;
		}
		if (made == 0)
			report("inotify_add_watch", inotify_add_watch(fd, "/", IN_ALL_EVENTS));
	}
	say("made %d\n", made);
	long ms = argc > 1 ? atol(argv[1]) : 0;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
	say("done\n");
	return 0;
}
