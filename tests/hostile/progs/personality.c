/* Turn ASLR off for itself and its children with personality(2), then
 * check whether two fresh execs still get different stack and mmap
 * addresses. */
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include "progs.h"

static int probe(char *line, size_t len)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execl("/proc/self/exe", "personality", "probe", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	ssize_t n = read(p[0], line, len - 1);
	close(p[0]);
	waitpid(pid, NULL, 0);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "probe")) {
		int local;
		void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		say("%p %p\n", (void *)&local, m);
		return 0;
	}
	report("personality(ADDR_NO_RANDOMIZE)", personality(ADDR_NO_RANDOMIZE));
	report("personality(PER_LINUX|ADDR_NO_RANDOMIZE)", personality(PER_LINUX | ADDR_NO_RANDOMIZE));
	int now = personality(0xffffffff);
	say("persona: 0x%x no_randomize=%d\n", now, !!(now & ADDR_NO_RANDOMIZE));
	char a[128], b[128];
	if (probe(a, sizeof a) < 0 || probe(b, sizeof b) < 0) {
		say("probe: failed\n");
		return 1;
	}
	say("probe a: %sprobe b: %saslr: %s\n", a, b, strcmp(a, b) ? "on" : "off");
	return 0;
}
