#!/bin/sh
# Run the command as nobody (no groups, no capabilities) when started as
# root; exit 77 (skipped) otherwise: the other entry of the suite already
# ran it unprivileged. nobody must be able to reach the test binary and the
# hostile programs (RJ_HOSTILE_PROGS): a build folder under /tmp is fine,
# one under /root is not.
if [ "$(id -u)" != 0 ]; then
	echo "not root: the suite's other entry already ran rootless" >&2
	exit 77
fi
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all --bounding-set=-all -- "$@"
}
if ! as_nobody test -x "$1" || ! as_nobody test -r "$RJ_HOSTILE_PROGS/euid"; then
	echo "nobody cannot read $1 or $RJ_HOSTILE_PROGS: put the build folder" \
	     "where every user can read it (e.g. under /tmp)" >&2
	exit 1
fi
exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--inh-caps=-all --bounding-set=-all -- "$@"
