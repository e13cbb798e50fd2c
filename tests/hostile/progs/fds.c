/* Open /dev/null 10,000 times. */
#include <fcntl.h>
#include "progs.h"

int main(void)
{
	int n = 0, last = -1;
	for (; n < 10000; n++) {
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0) {
			say("open: %s after %d (last fd %d)\n", ename(errno), n, last);
			return 0;
		}
		last = fd;
	}
	say("open: no limit after %d\n", n);
	return 0;
}
