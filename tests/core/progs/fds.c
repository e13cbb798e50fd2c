/* fds: prints the file descriptors this process holds, space-separated,
 * leaving out the one it uses to read /proc/self/fd. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	const char *sep = "";

	if (!d) {
		perror("fds: /proc/self/fd");
		return 1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		printf("%s%s", sep, e->d_name);
		sep = " ";
	}
	printf("\n");
	closedir(d);
	return 0;
}
