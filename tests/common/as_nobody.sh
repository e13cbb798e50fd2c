#!/bin/sh
# Run a test binary as nobody (no groups, no capabilities, and so no cgroup
# it may write unless one is delegated) when started as root: the rootless
# entries of the hostile and limits suites.
#   as_nobody.sh [--skip-unless-root] [--progs DIR] [--copy] [--delegate]
#                TEST-BINARY ARGS...
# Not root: run TEST-BINARY ARGS as the current user (whose tests skip,
# saying why, where they need what this user lacks), or with
# --skip-unless-root exit 77 (skipped): the suite's other entry already
# ran it unprivileged.
# nobody must reach TEST-BINARY and every helper program in DIR (--progs):
# a build folder under /tmp is fine, one under /root is not. When it
# cannot, the run fails saying so; with --copy both are copied instead to
# a folder under /tmp that nobody can read (RJ_TEST_PROGS then names the
# copy of DIR).
# --delegate first delegates a cgroup subtree to nobody and moves the run
# into it; without it nobody has no cgroup. On cgroup v1: memory, pids and
# cpuacct groups of nobody's own, chowned, below our own groups. On v2, the
# way systemd's Delegate=yes does it: a group chowned to nobody (the
# directory and its cgroup.procs, cgroup.threads, cgroup.subtree_control)
# and marked trusted.delegate=1, with memory and pids enabled for its
# children, and the run in a leaf below it, where ringjail puts its pool
# beside the leaf. It is made below our own group, or beside it when ours
# holds processes and its parent offers the controllers (run-in-vm's
# --cgroup delegated). Before the run, it checks as nobody that the CLI
# (when built) takes its memory limit from the cgroup.
skip_unless_root='' progs='' copy_ok='' delegate=''
while :; do
	case ${1:-} in
	--skip-unless-root) skip_unless_root=1; shift ;;
	--progs) progs=${2:?--progs needs a folder}; shift 2 ;;
	--copy) copy_ok=1; shift ;;
	--delegate) delegate=1; shift ;;
	*) break ;;
	esac
done
if [ "$(id -u)" != 0 ]; then
	if [ -n "$skip_unless_root" ]; then
		echo "not root: the suite's other entry already ran rootless" >&2
		exit 77
	fi
	exec "$@"
fi
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all --bounding-set=-all -- "$@"
}
bin=$1; shift
# Whether nobody can run the binary and read every helper program.
reachable() {
	as_nobody test -x "$bin" || return 1
	[ -n "$progs" ] || return 0
	# shellcheck disable=SC2016 # expanded by the inner shell
	as_nobody sh -c 'test -r "$1" && test -x "$1" || exit 1
		for f in "$1"/*; do
			if [ -f "$f" ] && [ ! -r "$f" ]; then exit 1; fi
		done' sh "$progs"
}
copy=
if ! reachable; then
	if [ -z "$copy_ok" ]; then
		echo "nobody cannot read $bin or ${progs:-its helper programs}: put the" \
		     "build folder where every user can read it (e.g. under /tmp)" >&2
		exit 1
	fi
	copy=$(mktemp -d /tmp/rj-nobody.XXXXXX)
	cp "$bin" "$copy/" || exit 1
	if [ -n "$progs" ]; then
		cp -r "$progs" "$copy/progs" || exit 1
		RJ_TEST_PROGS=$copy/progs; export RJ_TEST_PROGS
	fi
	chmod -R a+rX "$copy"; chmod 755 "$copy"
	bin=$copy/$(basename "$bin")
fi
# Nothing to undo after the run: the binary takes this process's place.
if [ -z "$delegate" ] && [ -z "$copy" ]; then
	exec setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all --bounding-set=-all -- "$bin" "$@"
fi
groups='' home=''
# Back to where we started, and the delegated groups removed.
undelegate() {
	for g in $groups; do
		back=${home:-$(dirname "$g")}
		echo $$ >"$back/cgroup.procs" 2>/dev/null
		find "$g" -depth -type d -exec rmdir {} + 2>/dev/null
	done
}
# v1: nobody's own memory, pids and cpuacct groups below ours.
delegate_v1() {
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
}
has_ctrls() { # FILE: it lists memory and pids
	grep -qw memory "$1" 2>/dev/null && grep -qw pids "$1" 2>/dev/null
}
# v2: a delegated group (systemd's Delegate=yes) with the run in a leaf.
delegate_v2() {
	mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	own=$mnt$(sed -n 's/^0:://p' /proc/self/cgroup)
	own=${own%/}
	home=$own
	# Our group gives its children memory and pids unless it holds
	# processes (then only its parent can, beside it).
	if has_ctrls "$own/cgroup.subtree_control" ||
	   echo "+memory +pids" >"$own/cgroup.subtree_control" 2>/dev/null; then
		at=$own
	elif has_ctrls "$(dirname "$own")/cgroup.subtree_control"; then
		at=$(dirname "$own")
	else
		echo "cgroup v2: $own holds processes and its parent does not offer" \
		     "memory and pids: nowhere to delegate a group from; skipped" >&2
		exit 77
	fi
	g=$at/rj-nobody-$$
	if ! mkdir "$g" 2>/dev/null; then
		echo "cannot make a v2 group to delegate ($g): skipped" >&2
		exit 77
	fi
	groups=$g
	if ! { mkdir "$g/payload" &&
	       echo "+memory +pids" >"$g/cgroup.subtree_control" &&
	       chown nobody:nogroup "$g" "$g/cgroup.procs" "$g/cgroup.threads" \
			"$g/cgroup.subtree_control" &&
	       chown -R nobody:nogroup "$g/payload" &&
	       python3 -c 'import os, sys; os.setxattr(sys.argv[1], "trusted.delegate", b"1")' "$g" &&
	       echo $$ >"$g/payload/cgroup.procs"; }; then
		echo "cannot delegate the v2 group $g to nobody" >&2
		undelegate
		exit 1
	fi
	echo "+cpu" >"$g/cgroup.subtree_control" 2>/dev/null
}
if [ -n "$delegate" ]; then
	if grep -q '^[0-9]*:[^:]*\bmemory\b' /proc/self/cgroup; then
		delegate_v1
	elif grep -q '^0::' /proc/self/cgroup; then
		delegate_v2
	else
		echo "no cgroup hierarchy with memory and pids here: skipped" >&2
		exit 77
	fi
	# The suite then proves nothing about delegation unless ringjail,
	# as nobody, takes its memory limit from that cgroup.
	cli=${RJ_BUILD_ROOT:-}/examples/ringjail
	if [ -n "${RJ_BUILD_ROOT:-}" ] && as_nobody test -x "$cli"; then
		meta=$(as_nobody "$cli" run --mem 64M --meta - -- /bin/true 2>&1)
		case $meta in
		*'"mem":"cgroup"'*) ;;
		*) echo "the delegated cgroup is not used: ringjail run --mem 64M as nobody" \
			"in $groups gave: $meta" >&2; rc=1 ;;
		esac
	else
		echo "note: no ringjail CLI that nobody can run under RJ_BUILD_ROOT;" \
		     "the delegated cgroup's use is not checked" >&2
	fi
fi
[ -n "${rc:-}" ] || { as_nobody "$bin" "$@"; rc=$?; }
undelegate
[ -n "$copy" ] && rm -rf "$copy"
exit "$rc"
