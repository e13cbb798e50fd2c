/* What a program can leave in a kept workspace (--workdir), run in /box:
 *   deep N          N nested folders, a setuid and a setgid file at the bottom
 *   hardlink        a setuid file with two more hard links to it
 *   setid           try every way of setting a set-id bit, say what worked
 *   owner           who owns /box and a new file, as the sandbox sees them
 *   files N SIZE    N files of SIZE bytes, 500 a folder, until one fails
 *   many N SECS     N empty files, say "ready", sleep SECS, exit
 *   overwrite NAME  create or overwrite NAME with a few bytes
 *   hold SECS       print /box/id, create /box/seen, sleep SECS
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include "progs.h"

static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	nanosleep(&ts, NULL);
}

static int make(const char *name, mode_t mode)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	write(fd, "#!/bin/sh\n", 10);
	close(fd);
	return chmod(name, mode);
}

static int deep(long n)
{
	for (long i = 0; i < n; i++)
		if (mkdir("d", 0755) < 0 || chdir("d") < 0) {
			say("deep: %s at %ld\n", ename(errno), i);
			return 1;
		}
	report("chmod(setuid)", make("s", 04755));
	report("chmod(setgid)", make("g", 02755));
	report("mkdir(setgid dir)", mkdir("sg", 02755));
	say("deep: OK %ld\n", n);
	return 0;
}

static int hardlink(void)
{
	report("chmod(setuid)", make("a", 04755));
	report("link(b)", link("a", "b"));
	report("mkdir(sub)", mkdir("sub", 0755));
	report("link(sub/c)", link("a", "sub/c"));
	return 0;
}

static int setid(void)
{
	report("create", make("plain", 0755));
	report("chmod(04755)", chmod("plain", 04755));
	report("chmod(02755)", chmod("plain", 02755));
	int fd = open("plain", O_RDONLY);
	report("fchmod(04755)", fchmod(fd, 04755));
	close(fd);
	report("fchmodat(04755)", fchmodat(AT_FDCWD, "plain", 04755, 0));
	fd = open("created", O_WRONLY | O_CREAT, 04755);
	report("open(O_CREAT, 04755)", fd);
	if (fd >= 0)
		close(fd);
	fd = creat("creat", 02755);
	report("creat(02755)", fd);
	if (fd >= 0)
		close(fd);
	report("chmod(0700)", chmod("plain", 0700));
	struct stat st;
	if (stat("plain", &st) == 0)
		say("plain mode: %04o\n", st.st_mode & 07777);
	return 0;
}

static int owner(void)
{
	struct stat st;
	if (stat(".", &st) == 0)
		say("box owner: %u\n", st.st_uid);
	report("create(mine)", make("mine", 0644));
	if (stat("mine", &st) == 0)
		say("mine owner: %u\n", st.st_uid);
	report("mkdir(sub)", mkdir("sub", 0755));
	report("create(sub/inner)", make("sub/inner", 0644));
	say("ready\n");
	nap(1.5);
	return 0;
}

static int files(long n, long size)
{
	static char buf[1 << 16];
	memset(buf, 'f', sizeof buf);
	char name[64];
	for (long i = 0; i < n; i++) {
		if (i % 500 == 0) {
			snprintf(name, sizeof name, "f%ld", i / 500);
			if (mkdir(name, 0755) < 0) {
				say("files: mkdir %s after %ld\n", ename(errno), i);
				return 1;
			}
		}
		snprintf(name, sizeof name, "f%ld/%ld", i / 500, i);
		int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			say("files: open %s after %ld\n", ename(errno), i);
			return 1;
		}
		for (long left = size; left > 0;) {
			ssize_t w = write(fd, buf, left < (long)sizeof buf ? (size_t)left : sizeof buf);
			if (w < 0) {
				say("files: write %s after %ld\n", ename(errno), i);
				return 1;
			}
			left -= w;
		}
		close(fd);
	}
	say("files: OK %ld\n", n);
	return 0;
}

static int many(long n, double secs)
{
	char name[64];
	for (long i = 0; i < n; i++) {
		if (i % 1000 == 0) {
			snprintf(name, sizeof name, "m%ld", i / 1000);
			mkdir(name, 0755);
		}
		snprintf(name, sizeof name, "m%ld/%ld", i / 1000, i);
		int fd = open(name, O_WRONLY | O_CREAT, 0644);
		if (fd < 0) {
			say("many: %s after %ld\n", ename(errno), i);
			return 1;
		}
		close(fd);
	}
	say("ready\n");
	nap(secs);
	return 0;
}

static int overwrite(const char *name)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (report("open", fd) < 0)
		return 1;
	report("write", write(fd, "second run\n", 11));
	return 0;
}

static int hold(double secs)
{
	char id[64] = "";
	int fd = open("id", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, id, sizeof id - 1);
		id[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	say("id=%s\n", id);
	report("create(seen)", make("seen", 0644));
	nap(secs);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *c = argv[1];
	if (!strcmp(c, "deep") && argc > 2)
		return deep(atol(argv[2]));
	if (!strcmp(c, "hardlink"))
		return hardlink();
	if (!strcmp(c, "setid"))
		return setid();
	if (!strcmp(c, "owner"))
		return owner();
	if (!strcmp(c, "files") && argc > 3)
		return files(atol(argv[2]), atol(argv[3]));
	if (!strcmp(c, "many") && argc > 3)
		return many(atol(argv[2]), atof(argv[3]));
	if (!strcmp(c, "overwrite") && argc > 2)
		return overwrite(argv[2]);
	if (!strcmp(c, "hold") && argc > 2)
		return hold(atof(argv[2]));
	return 2;
}
