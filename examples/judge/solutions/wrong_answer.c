/* Wrong answer: right algorithm, but the sums are kept in 32-bit ints.
 * Passes the tests whose sums fit, fails once |sum| passes 2^31. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	int n, q;

	if (scanf("%d %d", &n, &q) != 2)
		return 1;
	int *prefix = malloc(((size_t)n + 1) * sizeof(*prefix));
	if (!prefix)
		return 1;
	prefix[0] = 0;
	for (int i = 1; i <= n; i++) {
		int v;
		if (scanf("%d", &v) != 1)
			return 1;
		/* The bug: wraps around (computed unsigned to keep the C
		 * well defined; the result is what an int overflow gives). */
		prefix[i] = (int)((unsigned)prefix[i - 1] + (unsigned)v);
	}
	while (q--) {
		int l, r;
		if (scanf("%d %d", &l, &r) != 2)
			return 1;
		printf("%d\n", (int)((unsigned)prefix[r] - (unsigned)prefix[l - 1]));
	}
	free(prefix);
	return 0;
}
