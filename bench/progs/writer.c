/* Writes BYTES zero bytes to stdout in CHUNK-byte write() calls (default
 * 64 KiB, a pipe's capacity), then exits 0; 1 when a write fails. Static,
 * like every bench program that runs in a sandbox. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 20];

int main(int argc, char **argv)
{
	unsigned long long left = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
	size_t chunk = argc > 2 ? strtoull(argv[2], NULL, 10) : 65536;

	if (chunk == 0 || chunk > sizeof buf)
		chunk = sizeof buf;
	memset(buf, 0, sizeof buf);
	while (left) {
		size_t n = left < chunk ? left : chunk;
		ssize_t w = write(1, buf, n);

		if (w <= 0)
			return 1;
		left -= (unsigned long long)w;
	}
	return 0;
}
