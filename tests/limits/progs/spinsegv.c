/* Burn argv[1] ms of CPU time (its own clock), then die of SIGSEGV. */
#include "progs.h"

int main(int argc, char **argv)
{
	double want = argc > 1 ? atof(argv[1]) : 100;
	volatile unsigned long x = 0;
	while (cpu_ms() < want)
		for (int i = 0; i < 100000; i++)
			x++;
	say("crashing after %.0f ms of CPU\n", cpu_ms());
	volatile int *volatile p = NULL;
	*p = 1;
	return 0;
}
