/* Memory limit: "precomputes" a 1 GiB table before reading anything.
 * The sandbox's 64 MiB limit ends it on the first test. */
#include <stdio.h>
#include <stdlib.h>

#define TABLE_BYTES (1024UL * 1024 * 1024)

int main(void)
{
	/* volatile: otherwise the compiler sees the table is never used and
	 * drops the allocation altogether. */
	volatile char *table = malloc(TABLE_BYTES);

	if (!table)
		return 1;
	for (size_t i = 0; i < TABLE_BYTES; i += 4096)
		table[i] = 1; /* touch every page */
	printf("%d\n", table[TABLE_BYTES - 4096]);
	free((void *)table);
	return 0;
}
