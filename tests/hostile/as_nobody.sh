#!/bin/sh
# Run the command as nobody (no groups, no capabilities) when started as
# root; exit 77 (skipped) otherwise: the other entry of the suite already
# ran it unprivileged.
#   as_nobody.sh [--delegate] TEST-BINARY ARGS...
# --delegate first gives nobody memory, pids and cpuacct cgroups of its own (v1,
# chowned, below our own cgroup), the way a systemd user slice delegates a
# subtree, and moves the run into them; without it nobody has no cgroup.
# nobody must reach the binary and the hostile programs: when it cannot
# (a clone under /root, say), both are copied to a folder it can read.
if [ "$(id -u)" != 0 ]; then
	echo "not root: the suite's other entry already ran rootless" >&2
	exit 77
fi
delegate=
if [ "${1:-}" = --delegate ]; then delegate=1; shift; fi
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all --bounding-set=-all -- "$@"
}
bin=$1; shift
copy=
if ! as_nobody test -x "$bin" || ! as_nobody test -r "$RJ_HOSTILE_PROGS/euid"; then
	copy=$(mktemp -d /tmp/rj-nobody.XXXXXX)
	cp "$bin" "$copy/" && cp -r "$RJ_HOSTILE_PROGS" "$copy/progs" || exit 1
	chmod -R a+rX "$copy"; chmod 755 "$copy"
	bin=$copy/$(basename "$bin")
	RJ_HOSTILE_PROGS=$copy/progs; export RJ_HOSTILE_PROGS
fi
groups=
if [ -n "$delegate" ]; then
	for c in memory pids cpuacct; do
		own=$(awk -F: -v c="$c" '$2 == c { print $3 }' /proc/self/cgroup)
		g=/sys/fs/cgroup/$c${own%/}/rj-nobody-$$
		if ! mkdir "$g" 2>/dev/null; then
			echo "cannot make a v1 $c cgroup to delegate ($g): skipped" >&2
			exit 77
		fi
		chown -R nobody:nogroup "$g"
		echo $$ >"$g/cgroup.procs"
		groups="$groups $g"
	done
fi
as_nobody "$bin" "$@"; rc=$?
for g in $groups; do
	parent=$(dirname "$g")
	echo $$ >"$parent/cgroup.procs" 2>/dev/null
	find "$g" -depth -type d -exec rmdir {} + 2>/dev/null
done
[ -n "$copy" ] && rm -rf "$copy"
exit $rc
