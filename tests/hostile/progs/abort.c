/* Dies of its own abort(). */
#include "progs.h"

int main(void)
{
	say("aborting\n");
	abort();
}
