/* perf_event_open: a classic source of kernel bugs and side channels. */
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include "progs.h"

int main(void)
{
	struct perf_event_attr a;
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_CPU_CLOCK;
	a.exclude_kernel = 1;
	say("calling perf_event_open\n");
	report("perf_event_open", syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
	say("survived\n");
	return 0;
}
