/* Dies of SIGSEGV. */
#include "progs.h"

int main(void)
{
	say("crashing\n");
	volatile int *volatile p = NULL;
	*p = 1;
	return 0;
}
