/* fanotify, unprivileged since Linux 5.13: watches whole mounts. */
#include <sys/fanotify.h>
#include "progs.h"

int main(void)
{
	say("calling fanotify_init\n");
	report("fanotify_init", fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID, 0));
	say("survived\n");
	return 0;
}
