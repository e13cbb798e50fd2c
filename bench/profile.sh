#!/bin/sh
# Where a run's CPU time goes: records every CPU (perf record -a -g at
# 2 kHz) while `throughput --only ringjail` runs N sandboxes of /bin/true
# at concurrency C, then the same for the posix_spawn baseline, and prints
# CPU microseconds per run by role and by where the time was spent (see
# profile.awk): the executor (the bench's own process), the sandbox's
# init, the program's process (its time before execve included), kernel
# threads (RCU callbacks, cgroup release workers) and idle CPU. Then, for
# ringjail, the kernel functions that take the most, inclusive.
#
#   bench/profile.sh [BUILD_DIR] [C] [N]
#
# Needs perf and root (or kernel.perf_event_paranoid <= -1). Other
# processes on the machine are recorded too and show as "other".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
conc=${2:-4}
n=${3:-1000}
hz=2000
data=${PERF_DATA:-/tmp/ringjail-profile}

for side in ringjail baseline; do
	perf record -a -g -F $hz -o "$data.$side" -- \
		"$build/bench/throughput" --only $side -n "$n" -c "$conc" -r 1 >&2 2>/dev/null
done
us=$(awk -v hz=$hz -v n="$n" 'BEGIN { print 1e6 / hz / n }')
for side in ringjail baseline; do
	echo "== $side: CPU us per run of /bin/true at concurrency $conc, $n runs"
	perf script -i "$data.$side" -F pid,comm,ip,sym 2>/dev/null |
		awk -v us="$us" -v prog=true -f "$here/profile.awk" | sort -k1,1 -k2,2nr
done
echo "== ringjail: kernel functions, inclusive, CPU us per run (all processes)"
total=$(perf report -i "$data.ringjail" --no-children -n --stdio --sort comm -g none 2>/dev/null |
	awk '/^ +[0-9.]+%/ { s += $2 } END { print s }')
perf report -i "$data.ringjail" --children --percentage absolute --stdio --sort sym -g none 2>/dev/null |
	awk -v us="$us" -v total="$total" '
	/^ +[0-9.]+%/ && /\[k\]/ && !/ 0x|] 0+ *$|entry_SYSCALL|do_syscall_64|x64_sys_call|asm_|cpu_startup|do_idle|cpuidle|default_idle|enter_idle|safe_halt|start_kernel|rest_init|common_startup|secondary_startup|clear_bss|ret_from_fork|kthread|smpboot|run_ksoftirqd/ {
		pct = $1; sub("%", "", pct)
		sym = $0; sub(/^.*\] /, "", sym)
		printf "  %7.0f  %s\n", pct / 100 * total * us, sym
		if (++k == 40) exit
	}'
