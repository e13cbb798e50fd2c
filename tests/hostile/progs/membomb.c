/* Memory bomb: allocate and touch 1 MiB after 1 MiB until the allocation
 * fails, then say how far it got and fail. */
#include "progs.h"

int main(void)
{
	size_t mib = 0;
	for (;;) {
		char *p = malloc(1 << 20);
		if (!p)
			break;
		memset(p, 0xa5, 1 << 20);
		mib++;
		if (mib % 64 == 0)
			say("touched %zu MiB\n", mib);
	}
	say("malloc: %s after %zu MiB\n", ename(errno), mib);
	return 1;
}
