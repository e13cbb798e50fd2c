/* Reach a host listener on 127.0.0.1: "tcp PORT" connects, "udp PORT"
 * sends a datagram. Also tries IPv6 ::1. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "progs.h"

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int udp = !strcmp(argv[1], "udp");
	int port = atoi(argv[2]);
	int fd = (int)report("socket", socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0) {
		if (udp)
			report("sendto", sendto(fd, "leak", 4, 0, (struct sockaddr *)&sa, sizeof sa));
		else
			report("connect", connect(fd, (struct sockaddr *)&sa, sizeof sa));
		close(fd);
	}
	int fd6 = (int)report("socket6", socket(AF_INET6, udp ? SOCK_DGRAM : SOCK_STREAM, 0));
	if (fd6 >= 0) {
		struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
		s6.sin6_addr = in6addr_loopback;
		if (udp)
			report("sendto6", sendto(fd6, "leak", 4, 0, (struct sockaddr *)&s6, sizeof s6));
		else
			report("connect6", connect(fd6, (struct sockaddr *)&s6, sizeof s6));
		close(fd6);
	}
	return 0;
}
