/* Where a sandbox with network can connect: "netprobe PORT [ADDR...]"
 * prints its default routes, then tries a TCP connection to PORT on the
 * loopback addresses (127.0.0.1, ::1), on each default gateway, and on
 * each ADDR given, with a 2 s timeout each, and sends a UDP datagram
 * there. A connection that succeeds prints the first line the listener
 * sent: "connect ADDR: OK <line>" or "connect ADDR: ECONNREFUSED". */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include "progs.h"

static char gw4[INET_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN];

static void routes(void)
{
	char line[512];
	FILE *f = fopen("/proc/net/route", "re");
	while (f && fgets(line, sizeof line, f)) {
		char ifc[64];
		unsigned dst, gw;
		if (sscanf(line, "%63s %x %x", ifc, &dst, &gw) == 3 && dst == 0 && gw) {
			struct in_addr a = { gw };
			inet_ntop(AF_INET, &a, gw4, sizeof gw4);
			say("route: default via %s dev %s\n", gw4, ifc);
		}
	}
	if (f)
		fclose(f);
	f = fopen("/proc/net/ipv6_route", "re");
	while (f && fgets(line, sizeof line, f)) {
		char dst[33], plen[3], src[33], sp[3], nh[33];
		if (sscanf(line, "%32s %2s %32s %2s %32s", dst, plen, src, sp, nh) != 5 ||
		    strcmp(plen, "00") || strspn(nh, "0") == 32)
			continue;
		struct in6_addr a;
		for (int i = 0; i < 16; i++)
			sscanf(nh + 2 * i, "%2hhx", &a.s6_addr[i]);
		inet_ntop(AF_INET6, &a, gw6, sizeof gw6);
		say("route6: default via %s\n", gw6);
	}
	if (f)
		fclose(f);
}

static void try_udp(const struct sockaddr_storage *ss, socklen_t len, const char *addr)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, "leak\n", 5, 0, (const struct sockaddr *)ss, len) < 0)
		say("udp %s: %s\n", addr, ename(errno));
	else
		say("udp %s: sent\n", addr);
	close(fd);
}

static void try_addr(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof *s4;
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof *s6;
	} else {
		say("connect %s: bad address\n", addr);
		return;
	}
	try_udp(&ss, len, addr);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		say("connect %s: socket %s\n", addr, ename(errno));
		return;
	}
	int r = connect(fd, (struct sockaddr *)&ss, len);
	if (r < 0 && errno == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int err = ETIMEDOUT;
		socklen_t el = sizeof err;
		if (poll(&p, 1, 2000) == 1)
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
		r = err ? -1 : 0;
		errno = err;
	}
	if (r < 0) {
		say("connect %s: %s\n", addr, ename(errno));
		close(fd);
		return;
	}
	char buf[128] = "";
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n = poll(&p, 1, 2000) == 1 ? read(fd, buf, sizeof buf - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	say("connect %s: OK %s\n", addr, buf);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int port = atoi(argv[1]);
	routes();
	try_addr("127.0.0.1", port);
	try_addr("::1", port);
	if (gw4[0])
		try_addr(gw4, port);
	if (gw6[0])
		try_addr(gw6, port);
	for (int i = 2; i < argc; i++)
		try_addr(argv[i], port);
	say("probed\n");
	return 0;
}
