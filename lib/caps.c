/* Capabilities: libcap-ng on the parent side (which mode can we run in?),
 * raw capset/prctl on the child side, where libcap-ng must not run: it
 * allocates and caches the thread it first ran on (STYLE.md rule 10). */
#include <cap-ng.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

int rj__caps_drop_all(void)
{
	/* Lock the securebits first, while CAP_SETPCAP is still ours: no
	 * later execve or setuid can give root's capabilities back. */
	unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			     SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
			     SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
			     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return -errno;
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}
