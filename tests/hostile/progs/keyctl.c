/* The kernel keyring is not namespaced: reach it through keyctl. */
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include "progs.h"

int main(void)
{
	say("calling keyctl\n");
	report("keyctl(GET_KEYRING_ID)",
	       syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
	say("survived\n");
	return 0;
}
