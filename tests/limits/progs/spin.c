/* Burn CPU forever in argv[1] threads (default 1). */
#include <pthread.h>
#include "progs.h"

static void *burn(void *arg)
{
	volatile unsigned long x = 0;
	for (;;)
		x++;
	return arg;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	pthread_t t;
	for (int i = 1; i < n; i++)
		if (pthread_create(&t, NULL, burn, NULL)) {
			say("pthread_create failed\n");
			return 2;
		}
	burn(NULL);
	return 0;
}
