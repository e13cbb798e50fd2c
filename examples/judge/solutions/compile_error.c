/* Compile error: uses a variable it never declared. */
#include <stdio.h>

int main(void)
{
	int n, q;

	if (scanf("%d %d", &n, &q) != 2)
		return 1;
	for (int i = 0; i < n; i++)
		total += i;
	printf("%lld\n", total);
	return 0;
}
