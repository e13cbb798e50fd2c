/* TIOCSTI pushes bytes into a terminal's input, typed as if by the user
 * of the terminal the sandbox was started from. */
#include <sys/ioctl.h>
#include "progs.h"

int main(void)
{
	char c = 'x';
	report("ioctl(0, TIOCSTI)", ioctl(0, TIOCSTI, &c));
	report("ioctl(1, TIOCSTI)", ioctl(1, TIOCSTI, &c));
	report("ioctl(2, TIOCSTI)", ioctl(2, TIOCSTI, &c));
	return 0;
}
