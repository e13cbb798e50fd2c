#!/bin/sh
# bench/batch.sh BUILD [N] [J]: `ringjail batch` on N /bin/true jobs at -j J,
# beside the library (bench/throughput) and the plain posix_spawn pool
# baseline that throughput measures in the same run. Prints runs/s of the
# three and the ratios batch/library and batch/baseline (median of 3).
set -eu
build=${1:?usage: bench/batch.sh BUILD [N] [J]}
n=${2:-2000}
j=${3:-4}
jobs=$(mktemp /tmp/rj-batch-bench.XXXXXX)
trap 'rm -f "$jobs"' EXIT
python3 - "$jobs" "$n" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"id": f"t{i}", "argv": ["/bin/true"]}) + "\n")
PY
rates=""
for round in 1 2 3; do
  lib=$("$build/bench/throughput" -n "$n" -r 1 -c "$j" --json)
  s=$(date +%s.%N)
  "$build/examples/ringjail" batch -j "$j" --no-progress "$jobs" >/dev/null 2>&1 || true
  e=$(date +%s.%N)
  rates="$rates$(python3 - "$lib" "$s" "$e" "$n" <<'PY'
import json, sys
lib = json.loads(sys.argv[1]); b = int(sys.argv[4]) / (float(sys.argv[3]) - float(sys.argv[2]))
print(lib["baseline"]["rate"], lib["ringjail"]["rate"], b)
PY
)
"
done
printf '%s' "$rates" | python3 -c '
import sys, statistics, json
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
base, lib, bat = (statistics.median(c) for c in zip(*rows))
print(json.dumps({"bench": "batch", "jobs": '"$n"', "j": '"$j"', "baseline_rate": round(base, 1),
  "library_rate": round(lib, 1), "batch_rate": round(bat, 1),
  "batch_vs_library": round(bat / lib, 3), "batch_vs_baseline": round(bat / base, 3)}))'
