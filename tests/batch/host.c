/* Helpers of the batch suite (util.h): what a batch may leave on the host,
 * looked at from outside: cgroups under /sys/fs/cgroup (its processes in
 * /proc: tests/common/host.c). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- cgroup pools --------------------------------------------------------- */

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
