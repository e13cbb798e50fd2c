/* Abstract unix sockets: "connect NAME" connects to @NAME and sends a
 * line; "listen NAME SECS" binds @NAME and waits SECS for a connection. */
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "progs.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	struct sockaddr_un su;
	socklen_t len = abstract_addr(&su, argv[2]);
	int fd = (int)report("socket", socket(AF_UNIX, SOCK_STREAM, 0));
	if (fd < 0)
		return 1;
	if (!strcmp(argv[1], "connect")) {
		if (report("connect", connect(fd, (struct sockaddr *)&su, len)) == 0)
			report("send", write(fd, "leak\n", 5));
		return 0;
	}
	if (report("bind", bind(fd, (struct sockaddr *)&su, len)) < 0 ||
	    report("listen", listen(fd, 8)) < 0)
		return 1;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, atoi(argc > 3 ? argv[3] : "2") * 1000);
	say("accept: %s\n", n > 0 ? "connection" : "none");
	return 0;
}
