/* Reboot the machine. */
#include <sys/reboot.h>
#include "progs.h"

int main(void)
{
	say("rebooting\n");
	report("reboot", reboot(RB_AUTOBOOT));
	say("survived\n");
	return 0;
}
