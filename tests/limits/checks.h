/* Units shared by the limits suite's test files, beside the helpers of
 * every suite (tests/common: runs.h has EXPECT_STATUS and EXPECT_RANGE). */
#ifndef LIMITS_CHECKS_H
#define LIMITS_CHECKS_H

#include "host.h"
#include "runs.h"

#define MIB (1ull << 20)
#define SEC (1000000ull) /* RJ_LIMIT_TIME and RJ_LIMIT_WALL_TIME are in us */

#endif
