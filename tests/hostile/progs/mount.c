/* Mount over the workspace, then bind the host's root somewhere. */
#include <sys/mount.h>
#include "progs.h"

int main(void)
{
	say("mounting\n");
	report("mount(tmpfs)", mount("none", "/box", "tmpfs", 0, NULL));
	report("mount(bind /)", mount("/", "/box", NULL, MS_BIND | MS_REC, NULL));
	say("survived\n");
	return 0;
}
