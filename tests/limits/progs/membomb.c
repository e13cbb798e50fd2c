/* Allocate and touch 1 MiB after 1 MiB, up to argv[1] MiB (default: no
 * end). Exits 0 when it got them all, 1 when an allocation failed. */
#include "progs.h"

int main(int argc, char **argv)
{
	size_t want = argc > 1 ? strtoul(argv[1], NULL, 10) : (size_t)-1, mib = 0;
	while (mib < want) {
		char *p = malloc(1 << 20);
		if (!p) {
			say("malloc failed after %zu MiB\n", mib);
			return 1;
		}
		memset(p, 0x5a, 1 << 20);
		mib++;
		if (mib % 64 == 0)
			say("touched %zu MiB\n", mib);
	}
	say("touched all %zu MiB\n", mib);
	return 0;
}
