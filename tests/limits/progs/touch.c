/* Allocate and touch argv[1] MiB in one block, sleep argv[2] ms (default
 * 0), then exit 0; exit 3 when the allocation fails. */
#include "progs.h"

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
	char *p = malloc(mib << 20);
	if (!p) {
		say("malloc of %zu MiB failed\n", mib);
		return 3;
	}
	for (size_t i = 0; i < (mib << 20); i += 4096)
		p[i] = 1;
	say("touched %zu MiB\n", mib);
	if (argc > 2)
		sleep_ms(atol(argv[2]));
	return p[4096] == 1 ? 0 : 4;
}
