/* List the processes /proc shows; then probe the host pids given. */
#include <dirent.h>
#include <ctype.h>
#include <sys/stat.h>
#include "progs.h"

int main(int argc, char **argv)
{
	DIR *d = opendir("/proc");
	if (!d) {
		say("opendir /proc: %s\n", ename(errno));
		return 1;
	}
	int count = 0;
	long max = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		long pid = strtol(e->d_name, NULL, 10);
		say("pid %ld\n", pid);
		count++;
		if (pid > max)
			max = pid;
	}
	closedir(d);
	say("count %d max %ld\n", count, max);
	for (int i = 1; i < argc; i++) {
		char path[64];
		struct stat st;
		snprintf(path, sizeof path, "/proc/%s", argv[i]);
		if (stat(path, &st) < 0)
			say("probe %s: %s\n", argv[i], ename(errno));
		else
			say("probe %s: OK\n", argv[i]);
	}
	return 0;
}
