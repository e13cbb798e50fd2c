/* Dies of its own abort(). */
#include "common.h"

int main(void)
{
	say("aborting\n");
	abort();
}
