/* Output limit: correct, but a forgotten debug trace writes one stderr line
 * per number read. Small tests stay under the 1 MiB output limit (stdout
 * and stderr together); the large ones do not. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	int n, q;

	if (scanf("%d %d", &n, &q) != 2)
		return 1;
	long long *prefix = malloc(((size_t)n + 1) * sizeof(*prefix));
	if (!prefix)
		return 1;
	prefix[0] = 0;
	for (int i = 1; i <= n; i++) {
		long long v;
		if (scanf("%lld", &v) != 1)
			return 1;
		prefix[i] = prefix[i - 1] + v;
		fprintf(stderr, "debug: read a[%d] = %lld, prefix[%d] = %lld\n",
			i, v, i, prefix[i]);
	}
	while (q--) {
		int l, r;
		if (scanf("%d %d", &l, &r) != 2)
			return 1;
		printf("%lld\n", prefix[r] - prefix[l - 1]);
	}
	free(prefix);
	return 0;
}
