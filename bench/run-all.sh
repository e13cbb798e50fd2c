#!/bin/sh
# Runs every bench program and gathers their figures.
#
#   bench/run-all.sh [BUILD_DIR]          (default: build)
#   QUICK=1 bench/run-all.sh BUILD_DIR    smaller runs, to check the script
#
# Writes bench/results/: one .jsonl file per program (one JSON object a
# line, as the program printed it), summary.json (all of them in one
# object with the date, `uname -r` and nproc) and, when python3 can import
# matplotlib, throughput.png. The bench programs must be built first
# (meson setup BUILD_DIR && ninja -C BUILD_DIR). Needs root where ringjail
# needs it for cgroups; takes three to five minutes on 2 cores.
# The argument lists in variables below are meant to split into words.
# shellcheck disable=SC2086
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
bin=$build/bench
out=$here/results
quick=${QUICK:-0}

for p in throughput limits scaling output cpu; do
	if [ ! -x "$bin/$p" ]; then
		echo "run-all: $bin/$p is missing: build first (meson setup $build && ninja -C $build)" >&2
		exit 2
	fi
done
mkdir -p "$out"

if [ "$quick" = 1 ]; then
	tp_args="-n 200 -c 1,4,16,64 -r 1"
	limits_args="-n 4 -k 4 -t 200 -r 1"
	scaling_args="-n 256 -r 1 -k 2"
	output_args="-b 134217728 -r 1"
	cpu_args="-r 1 --ms 200"
else
	tp_args="-c 1,4,16,64 -r 3"
	limits_args=""
	scaling_args=""
	output_args=""
	cpu_args=""
fi

# Each program prints its table to stdout without --json; here it prints
# JSON lines, and its progress and any failure go to the terminal.
step() {
	name=$1
	shift
	echo "run-all: $name $*" >&2
	status=0
	"$@" --json >"$out/$name.jsonl" || status=$?
	if [ "$status" != 0 ]; then
		echo "run-all: $name exited $status (its figures are kept; look for failures above)" >&2
	fi
	cat "$out/$name.jsonl" >&2
}

step throughput "$bin/throughput" $tp_args
if [ -x /usr/bin/bwrap ]; then
	# Another sandbox through the same posix_spawn pool, for the chart.
	step bwrap "$bin/throughput" $tp_args --only baseline -- \
		/usr/bin/bwrap --unshare-all --ro-bind / / /bin/true
else
	echo "run-all: no /usr/bin/bwrap: bubblewrap is not measured" >&2
	: >"$out/bwrap.jsonl"
fi
step limits "$bin/limits" $limits_args
step output "$bin/output" $output_args
# The same with the writer and the reader on one CPU: the pipe's rate
# depends on where the two run more than on anything else (see output.c).
step output_pinned "$bin/output" $output_args --pin 0
step cpu "$bin/cpu" $cpu_args
# Last: 4,096 sandboxes leave the kernel tearing down cgroups and namespaces
# for a while after them, which slowed the next program's baseline.
step scaling "$bin/scaling" $scaling_args

# summary.json: each program's lines as an array, so nothing here needs
# to know their fields.
array() {
	printf '['
	sep=
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		printf '%s%s' "$sep" "$line"
		sep=,
	done <"$1"
	printf ']'
}
# The tree now, and when the library the programs link was built: the
# tree may have moved on since (the programs are not rebuilt here).
commit=$(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$here/.." status --porcelain -- lib include 2>/dev/null | wc -l)
built=$(date -u -r "$build/lib/libringjail.a" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
{
	printf '{"date":"%s","kernel":"%s","nproc":%s,' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		"$(uname -r)" "$(nproc)"
	printf '"head":"%s","lib_files_changed_since_head":%s,"lib_built":"%s","quick":%s' "$commit" \
		"$dirty" "$built" "$([ "$quick" = 1 ] && echo true || echo false)"
	for p in throughput bwrap limits output output_pinned cpu scaling; do
		printf ',"%s":' "$p"
		array "$out/$p.jsonl"
	done
	printf '}\n'
} >"$out/summary.json"
if command -v jq >/dev/null 2>&1 && ! jq -e . "$out/summary.json" >/dev/null; then
	echo "run-all: summary.json is not valid JSON: a program printed something else" >&2
	exit 1
fi
echo "run-all: wrote $out/summary.json" >&2

# The chart, with whichever python3 has matplotlib.
py=
for cand in python3 /usr/bin/python3; do
	if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import matplotlib' 2>/dev/null; then
		py=$cand
		break
	fi
done
if [ -n "$py" ]; then
	"$py" "$here/chart.py" "$out/summary.json" "$out/throughput.png"
	echo "run-all: wrote $out/throughput.png" >&2
else
	echo "run-all: no python3 with matplotlib here: no chart (nothing is installed by this script)." >&2
	if command -v apt-cache >/dev/null 2>&1 &&
		apt-cache policy python3-matplotlib 2>/dev/null | grep -q 'Candidate: [0-9]'; then
		echo "run-all: on Debian, as root: apt-get install python3-matplotlib" \
			"(then /usr/bin/python3 $here/chart.py $out/summary.json $out/throughput.png)" >&2
	fi
fi
