/* Assertions shared by the hostile suite's test files, beside the helpers
 * of every suite (tests/common: EXPECT_STATUS is in runs.h). */
#ifndef HOSTILE_CHECKS_H
#define HOSTILE_CHECKS_H

#include <string.h>

#include <criterion/criterion.h>

#include "host.h"
#include "runs.h"

/* What the program said it saw. */
#define EXPECT_OUT(o, needle)                                                 \
	cr_expect(strstr((o)->out, (needle)) != NULL,                         \
		  "stdout lacks \"%s\":\n%s", (needle), (o)->out)
#define EXPECT_NO_OUT(o, needle)                                              \
	cr_expect(strstr((o)->out, (needle)) == NULL,                         \
		  "stdout has \"%s\":\n%s", (needle), (o)->out)

/* Killed by the seccomp filter: SIGSYS, reported as syscall_violation,
 * after the program said it was about to make the call and before it
 * could say it survived. */
#define EXPECT_VIOLATION(o, before)                                           \
	do {                                                                  \
		EXPECT_STATUS(o, RJ_STATUS_SYSCALL_VIOLATION);                \
		cr_expect_eq((o)->res.signal, 31, "signal %d", (o)->res.signal); \
		EXPECT_OUT(o, before);                                        \
		EXPECT_NO_OUT(o, "survived");                                 \
	} while (0)

#endif
