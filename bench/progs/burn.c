/* A fixed amount of CPU work and nothing else: N rounds of xorshift64,
 * each depending on the last, so neither the compiler nor the CPU can
 * shorten it. N = 0 spins until killed. Static: it runs in a sandbox
 * whatever of the host's libraries the sandbox shows, and its start costs
 * the same there and outside. */
#include <stdint.h>
#include <stdlib.h>

volatile uint64_t sink;

int main(int argc, char **argv)
{
	unsigned long long n = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
	uint64_t x = 88172645463325252ull;

	for (unsigned long long i = 0; n == 0 || i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	sink = x;
	return 0;
}
