/* Capabilities, parent side: which mode can we run in? (libcap-ng). The
 * child's drop is in lockdown.c, where libcap-ng must not run: it
 * allocates and caches the thread it first ran on (STYLE.md rule 10). */
#include <cap-ng.h>
#include <unistd.h>

#include "internal.h"

bool rj__caps_is_root(void)
{
	/* Root mode writes arbitrary id maps and sets up cgroups: it needs
	 * CAP_SETUID, CAP_SETGID and CAP_SYS_ADMIN in the initial namespace. */
	if (geteuid() != 0)
		return false;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_get_caps_process() < 0)
		return false;
	return capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) &&
	       capng_have_capability(CAPNG_EFFECTIVE, CAP_SETGID) &&
	       capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN);
}
