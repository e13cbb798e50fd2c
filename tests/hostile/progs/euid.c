/* A stand-in for a setuid binary: print the ids it runs with. */
#include "progs.h"

int main(void)
{
	uid_t r, e, s;
	getresuid(&r, &e, &s);
	say("euid=%d ruid=%d suid=%d\n", e, r, s);
	return 0;
}
