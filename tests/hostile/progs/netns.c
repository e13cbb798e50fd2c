/* What one network namespace carries between sandboxes. Every mode first
 * prints "cookie: N", the namespace's cookie (unique for the host's life,
 * unlike its inode number), then:
 *   hold NAME SECS  binds the abstract unix socket @NAME and stays SECS;
 *   leave NAME      binds @NAME and leaves it behind: the socket and a
 *                   socketpair are passed to each other in flight, so
 *                   nothing is left to close them when the program exits
 *                   (the kernel's garbage collector frees them later);
 *   scan NAME       looks for @NAME in /proc/net/unix and connects to it. */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "progs.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static void cookie(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	unsigned long long c = 0;
	socklen_t len = sizeof c;
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len) < 0)
		say("cookie: %s\n", ename(errno));
	else
		say("cookie: %llu\n", c);
	close(fd);
}

static int bind_name(const char *name)
{
	struct sockaddr_un su;
	socklen_t len = abstract_addr(&su, name);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (report("bind", fd < 0 ? -1 : bind(fd, (struct sockaddr *)&su, len)) < 0)
		return -1;
	listen(fd, 1);
	return fd;
}

static void send_fd(int via, int fd)
{
	char b = 'x';
	struct iovec io = { &b, 1 };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } c;
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = c.buf,
			    .msg_controllen = sizeof c.buf };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof fd);
	report("sendmsg", sendmsg(via, &m, 0));
}

static void scan(const char *name)
{
	char want[128];
	snprintf(want, sizeof want, "@%s", name);
	FILE *f = fopen("/proc/net/unix", "re");
	if (!f) {
		say("/proc/net/unix: %s\n", ename(errno));
		return;
	}
	char line[512];
	int n = -1, seen = 0;
	while (fgets(line, sizeof line, f)) {
		n++;
		line[strcspn(line, "\n")] = '\0';
		size_t l = strlen(line), w = strlen(want);
		if (l >= w && !strcmp(line + l - w, want))
			seen = 1;
	}
	fclose(f);
	say("unix sockets: %d\nseen: %s\n", n, seen ? "yes" : "no");
	struct sockaddr_un su;
	socklen_t len = abstract_addr(&su, name);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	report("connect", fd < 0 ? -1 : connect(fd, (struct sockaddr *)&su, len));
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	cookie();
	if (!strcmp(argv[1], "scan")) {
		scan(argv[2]);
		return 0;
	}
	int fd = bind_name(argv[2]);
	if (fd < 0)
		return 1;
	if (!strcmp(argv[1], "hold")) {
		say("holding\n");
		usleep((useconds_t)(atof(argc > 3 ? argv[3] : "2") * 1e6));
		say("done\n");
		return 0;
	}
	int sv[2];
	if (report("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) < 0)
		return 1;
	send_fd(sv[0], sv[0]);
	send_fd(sv[1], sv[1]);
	send_fd(sv[0], fd);
	say("left\n");
	return 0;
}
