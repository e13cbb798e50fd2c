/* pattern BYTES SEED: writes BYTES bytes of the test PRNG stream seeded
 * with SEED to stdout, so the test can check every byte it receives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "prng.h"

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 16];
	struct prng p;

	if (argc != 3) {
		fprintf(stderr, "usage: pattern BYTES SEED\n");
		return 2;
	}
	unsigned long long left = strtoull(argv[1], NULL, 0);
	prng_init(&p, strtoull(argv[2], NULL, 0));
	while (left) {
		size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
		prng_fill(&p, buf, n);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				perror("pattern: write");
				return 1;
			}
			off += (size_t)w;
		}
		left -= n;
	}
	return 0;
}
