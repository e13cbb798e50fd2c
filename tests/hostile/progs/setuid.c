/* Become root: setuid(0), setresuid, setgid(0); print the ids after, the
 * uid map (which host uid the sandbox's uid is), and the capability,
 * no_new_privs and seccomp lines of /proc/self/status. */
#include <fcntl.h>
#include <grp.h>
#include "progs.h"

int main(void)
{
	report("setuid(0)", setuid(0));
	report("setresuid(0,0,0)", setresuid(0, 0, 0));
	report("setgid(0)", setgid(0));
	gid_t g = 0;
	report("setgroups([0])", setgroups(1, &g));
	say("uid=%d euid=%d gid=%d egid=%d\n", getuid(), geteuid(), getgid(), getegid());
	int fd = open("/proc/self/uid_map", O_RDONLY);
	if (fd >= 0) {
		char buf[256];
		ssize_t n = read(fd, buf, sizeof buf - 1);
		if (n > 0) {
			buf[n] = '\0';
			say("uid_map:%s", buf);
		}
		close(fd);
	}
	/* Capabilities, no_new_privs and seccomp as the kernel reports them. */
	fd = open("/proc/self/status", O_RDONLY);
	if (fd >= 0) {
		static char st[8192];
		ssize_t n = read(fd, st, sizeof st - 1);
		close(fd);
		st[n > 0 ? n : 0] = '\0';
		for (char *line = strtok(st, "\n"); line; line = strtok(NULL, "\n"))
			if (!strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10) ||
			    !strncmp(line, "Seccomp:", 8))
				say("%s\n", line);
	}
	return 0;
}
