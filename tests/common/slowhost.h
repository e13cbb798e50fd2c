/* Timing bounds on a slow host. The suites assert absolute bounds (a run
 * under 20 ms of CPU, 2,000 runs in 30 s) that hold on our machines. Under
 * qemu's software emulation (../shared/vm/run-in-vm) every fork, exec and
 * page fault costs 15 to 55 times as much, whatever the code does, so such
 * a bound says nothing there. The run command of such a host sets
 * RJ_SLOW_HOST=1; the tests then multiply each bound by the slowdown the
 * host shows. Without it the bounds are exactly our machines'. */
#ifndef RJ_TESTS_SLOWHOST_H
#define RJ_TESTS_SLOWHOST_H

#include <stdint.h>

/* 1 unless RJ_SLOW_HOST is set (and not "0"). Then the median time of
 * fork + exec + wait of /bin/true here over the same on our machines, at
 * least 1; measured on the first call in each process and said on stderr. */
double host_slowdown(void);

/* A bound in ms (or µs) times host_slowdown(). */
double scaled_ms(double ms);
uint64_t scaled_us(uint64_t us);

#endif
