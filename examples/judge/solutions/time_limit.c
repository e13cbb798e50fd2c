/* Time limit: correct, but sums every range from scratch: O(N * Q).
 * Fine on the small tests, hopeless when N = 500,000 and Q = 50,000. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	int n, q;

	if (scanf("%d %d", &n, &q) != 2)
		return 1;
	long long *a = malloc(((size_t)n + 1) * sizeof(*a));
	if (!a)
		return 1;
	for (int i = 1; i <= n; i++)
		if (scanf("%lld", &a[i]) != 1)
			return 1;
	while (q--) {
		int l, r;
		long long sum = 0;
		if (scanf("%d %d", &l, &r) != 2)
			return 1;
		for (int i = l; i <= r; i++)
			sum += a[i];
		printf("%lld\n", sum);
	}
	free(a);
	return 0;
}
