#!/bin/sh
# Run the command as nobody (no groups, no capabilities, and so no cgroup
# it may write) when started as root, as tests/hostile/as_nobody.sh does.
# Not root: run it as the current user, whose tests skip (saying why) if
# this user has a delegated cgroup. nobody must be able to reach the test
# binary and the helper programs (RJ_LIMITS_PROGS): a build folder under
# /tmp is fine, one under /root is not.
if [ "$(id -u)" != 0 ]; then
	exec "$@"
fi
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all --bounding-set=-all -- "$@"
}
if ! as_nobody test -x "$1" || ! as_nobody test -r "$RJ_LIMITS_PROGS/limits_touch"; then
	echo "nobody cannot read $1 or $RJ_LIMITS_PROGS: put the build folder" \
	     "where every user can read it (e.g. under /tmp)" >&2
	exit 1
fi
exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--inh-caps=-all --bounding-set=-all -- "$@"
