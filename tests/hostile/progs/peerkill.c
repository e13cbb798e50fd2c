/* Signal a neighbour: kill(-1), then every pid given (inside numbers such
 * as 2, or a host pid), with SIGKILL; says what happened before each. */
#include <signal.h>
#include "progs.h"

int main(int argc, char **argv)
{
	say("self %d\n", getpid());
	report("kill(-1)", kill(-1, SIGKILL));
	for (int i = 1; i < argc; i++) {
		char what[64];
		snprintf(what, sizeof what, "kill(%s)", argv[i]);
		say("trying %s\n", what);
		report(what, kill((pid_t)atoi(argv[i]), SIGKILL));
	}
	say("alive\n");
	return 0;
}
