/* Hostile: instead of solving the problem, attacks the judge's host.
 *   1. a fork bomb (each child sleeps, so only the process limit stops it);
 *   2. reads /etc/shadow;
 *   3. leaves a file in the host's /tmp (the judge checks it never appears);
 *   4. tries to reach the network;
 *   5. ptrace, a syscall the sandbox's filter answers by killing the process.
 * It reports on stderr what happened; the judge shows that report. Expected
 * verdict: SV (syscall violation), with the host untouched. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

static void fork_bomb(void)
{
	int children = 0;

	for (; children < 100000; children++) {
		pid_t pid = fork();
		if (pid == 0)
			for (;;)
				pause(); /* keep the slot taken */
		if (pid < 0)
			break;
	}
	fprintf(stderr, "hostile: fork bomb: %d children, then %s\n", children,
		children == 100000 ? "gave up" : strerror(errno));
}

static void read_shadow(void)
{
	FILE *f = fopen("/etc/shadow", "r");
	char line[256];

	if (!f) {
		fprintf(stderr, "hostile: read /etc/shadow: %s\n", strerror(errno));
		return;
	}
	if (fgets(line, sizeof(line), f))
		fprintf(stderr, "hostile: read /etc/shadow: got \"%.20s...\"\n", line);
	fclose(f);
}

static void write_host_tmp(void)
{
	FILE *f = fopen("/tmp/ringjail-judge-demo-hostile", "w");

	if (!f) {
		fprintf(stderr, "hostile: write /tmp: %s\n", strerror(errno));
		return;
	}
	fputs("was here\n", f);
	fclose(f);
	/* This succeeds, but into the sandbox's own /tmp, gone after the run. */
	fprintf(stderr, "hostile: wrote /tmp/ringjail-judge-demo-hostile\n");
}

static void reach_network(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(53) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		fprintf(stderr, "hostile: socket: %s\n", strerror(errno));
		return;
	}
	inet_pton(AF_INET, "1.1.1.1", &addr.sin_addr);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fprintf(stderr, "hostile: connect 1.1.1.1:53: %s\n", strerror(errno));
	else
		fprintf(stderr, "hostile: connect 1.1.1.1:53: connected\n");
	close(fd);
}

int main(void)
{
	fork_bomb();
	read_shadow();
	write_host_tmp();
	reach_network();
	fprintf(stderr, "hostile: ptrace(PTRACE_TRACEME)...\n");
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	fprintf(stderr, "hostile: ptrace returned: %s\n", strerror(errno));
	return 0;
}
