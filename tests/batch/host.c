/* Helpers of the batch suite (util.h): what a batch may leave on the host,
 * looked at from outside: processes in /proc, cgroups under /sys/fs/cgroup. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* ---- the host ------------------------------------------------------------ */

static bool is_pid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int host_count_arg(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0, self = getpid();
	static char buf[65536];

	cr_assert_not_null(d);
	while ((e = readdir(d))) {
		char path[300];
		ssize_t n;
		int fd;

		if (!is_pid_name(e->d_name) || atoi(e->d_name) == self)
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (char *a = buf; a < buf + n; a += strlen(a) + 1)
			if (!strcmp(a, arg)) {
				count++;
				break;
			}
	}
	closedir(d);
	return count;
}

static void list_pools(FILE *f, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "ringjail-", 9))
			fprintf(f, "%s/%s\n", dir, e->d_name);
	closedir(d);
}

/* DIR and its parent. */
static void list_pools_around(FILE *f, const char *dir)
{
	char parent[PATH_MAX];
	char *slash;

	list_pools(f, dir);
	snprintf(parent, sizeof parent, "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		list_pools(f, parent);
	}
}

char *cgroup_pools(void)
{
	FILE *cg = fopen("/proc/self/cgroup", "r");
	char line[1024], *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);

	cr_assert_not_null(cg);
	fputc('\n', f);
	while (fgets(line, sizeof line, cg)) {
		char *ctrls = strchr(line, ':'), *path, *c, *save = NULL;
		char dir[PATH_MAX];

		if (!ctrls || !(path = strchr(++ctrls, ':')))
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (!strcmp(path, "/"))
			path = "";
		if (!*ctrls) {
			snprintf(dir, sizeof dir, "/sys/fs/cgroup%s", path);
			list_pools_around(f, dir);
			snprintf(dir, sizeof dir, "/sys/fs/cgroup/unified%s", path);
			list_pools_around(f, dir);
			continue;
		}
		for (c = strtok_r(ctrls, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			if (!strncmp(c, "name=", 5))
				c += 5;
			snprintf(dir, sizeof dir, "/sys/fs/cgroup/%s%s", c, path);
			list_pools_around(f, dir);
		}
	}
	fclose(cg);
	fclose(f);
	return list;
}

char *cgroup_new_pools(const char *before, const char *after, pid_t pid)
{
	char prefix[64], *list = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&list, &len);

	snprintf(prefix, sizeof prefix, "/ringjail-%d-", (int)pid);
	for (const char *p = after + 1; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char entry[PATH_MAX + 2];

		snprintf(entry, sizeof entry, "\n%.*s\n", (int)n, p);
		if (memmem(p, n, prefix, strlen(prefix)) && !strstr(before, entry))
			fprintf(f, "%.*s ", (int)n, p);
		p += n + (nl != NULL);
	}
	fclose(f);
	if (len == 0) {
		free(list);
		return NULL;
	}
	return list;
}
