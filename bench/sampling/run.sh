#!/usr/bin/env bash
# Sampling benchmarks for the foundation:
#  1. CPU per process-sample over 600 processes, fast and full, next to `ps`.
#  2. `leakwatch watch` on 1,000 processes at 1 Hz: its share of one core and
#     its own RSS at the start and the end of the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-120}
cargo bench -q -p leakwatch-probe --bench sampling 2>/dev/null | grep -v '^$'
cargo build -q --release -p leakwatch
marker="lwbench$$"
pids=()
for _ in $(seq 1000); do bash -c "exec -a $marker sleep 100000" & pids+=($!); done
sleep 2
./target/release/leakwatch watch --name "$marker" --fast --interval 1s --duration "${DURATION}s" --json >/tmp/lwbench-watch.jsonl &
w=$!
sleep 10
rss_start=$(awk '/VmRSS/{print $2}' /proc/$w/status)
read -r ut0 st0 < <(awk '{print $14, $15}' /proc/$w/stat)
sleep $((DURATION - 15))
read -r ut1 st1 < <(awk '{print $14, $15}' /proc/$w/stat)
rss_end=$(awk '/VmRSS/{print $2}' /proc/$w/status)
wait $w || true
kill "${pids[@]}" 2>/dev/null || true
hz=$(getconf CLK_TCK)
python3 - "$ut0" "$st0" "$ut1" "$st1" "$hz" "$((DURATION - 15))" "$rss_start" "$rss_end" <<'PY'
import sys
ut0, st0, ut1, st1, hz, secs, r0, r1 = map(float, sys.argv[1:])
cpu = ((ut1 + st1) - (ut0 + st0)) / hz
print(f"watch on 1000 processes at 1 Hz: {100 * cpu / secs:.2f}% of one core (goal < 2%)")
print(f"watch RSS: {r0:.0f} KiB after 10 s, {r1:.0f} KiB at the end")
PY
