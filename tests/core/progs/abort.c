/* abort: dies by its own abort(), which a sandboxed program must be able
 * to do (it never runs as PID 1 of its pid namespace). */
#include <stdlib.h>

int main(void)
{
	abort();
}
