/* Hunt for a file named argv[1] (another sandbox's secret): through
 * /proc/PID/root and /proc/PID/cwd of every process it sees, and through
 * its whole file tree (skipping /proc, /sys, /usr and /lib*). Prints every
 * hit and the count. */
#include <dirent.h>
#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "progs.h"

static int hits, dirs;
static const char *name;

static void walk(const char *dir, int depth)
{
	if (depth > 12)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	dirs++;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") ? dir : "", e->d_name);
		if (strstr(e->d_name, name)) {
			say("found %s\n", path);
			hits++;
		}
		if (depth == 0 && (!strcmp(path, "/proc") || !strcmp(path, "/sys") ||
				   !strcmp(path, "/usr") || !strncmp(path, "/lib", 4)))
			continue;
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			walk(path, depth + 1);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	name = argv[1];
	walk("/", 0);
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		/* Where a neighbour's files would be if its root or cwd
		 * showed through. */
		static const char *const where[] = { "root/box", "root/tmp", "root/dev/shm", "cwd" };
		for (size_t i = 0; i < sizeof where / sizeof *where; i++) {
			char path[300];
			snprintf(path, sizeof path, "/proc/%s/%s", e->d_name, where[i]);
			walk(path, 1);
		}
	}
	if (d)
		closedir(d);
	for (int i = 2; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		say("open %s: %s\n", argv[i], fd < 0 ? ename(errno) : "OK");
		if (fd >= 0)
			hits++;
	}
	say("hits %d dirs %d\n", hits, dirs);
	return 0;
}
