#!/usr/bin/env bash
# Python frames and attach, side by side in one run.
#
# 1. Recording cost on an allocation-heavy Python workload (building and
#    dropping dicts, lists and strings, json round trips; CPython 3.12 from
#    pyenv, or PYTHON=...): untraced, `leakwatch trace --no-summary`
#    (Python frames, PYTHONMALLOC=malloc: every object), `memray run
#    --trace-python-allocators` and the same with `--native` (PyPI memray,
#    the anchor; object level too). Each mode runs RUNS
#    times (default 3), interleaved round by round; reported: median wall
#    time, slowdown against untraced, and the output's bytes per
#    allocation (leakwatch: allocations from `leakwatch report --json`;
#    memray: from `memray stats --json`).
# 2. The pause a running target sees when `leakwatch trace --pid` attaches
#    and detaches (the time its thread is stopped, as leakwatch measures
#    it), on a C server and on a CPython server, RUNS times each.
#
# usage: bench/trace/python_attach.sh [-n RUNS]
set -euo pipefail
RUNS=3
while getopts "n:" opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS]" >&2; exit 2 ;;
  esac
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LW=${LEAKWATCH:-$root/target/release/leakwatch}
PY=${PYTHON:-$(python3 -c "import sys; print(sys.executable)")}
"$PY" -m memray --version >/dev/null 2>&1 || { echo "memray is not installed for $PY (pip install memray)" >&2; exit 2; }
[ -x "$LW" ] || { echo "build leakwatch first (cargo build --release)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/job.py" <<'PY'
import json
def make(i):
    d = {"id": i, "name": "item-%d" % i, "tags": [str(j) for j in range(8)]}
    return json.loads(json.dumps(d))
def run(n):
    keep = []
    for i in range(n):
        x = make(i)
        if i % 1000 == 0:
            keep.append(x)
    return len(keep)
run(60000)
PY

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

declare -A T
modes=(untraced leakwatch memray memray_native)
for r in $(seq 1 "$RUNS"); do
  for m in "${modes[@]}"; do
    rm -f "$work/out.$m"
    s=$(now)
    case $m in
      untraced) PYTHONMALLOC=malloc "$PY" "$work/job.py" ;;
      leakwatch) "$LW" trace --no-summary -o "$work/out.$m" -- "$PY" "$work/job.py" 2>/dev/null ;;
      memray) "$PY" -m memray run -q --trace-python-allocators -o "$work/out.$m" "$work/job.py" >/dev/null ;;
      memray_native) "$PY" -m memray run -q --native --trace-python-allocators -o "$work/out.$m" "$work/job.py" >/dev/null ;;
    esac
    e=$(now)
    T[$m]+="$(echo "$e - $s" | bc) "
  done
done

lw_allocs=$("$LW" report --json "$work/out.leakwatch" 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["allocations"])')
mr_allocs() { "$PY" -m memray stats --json -o "$work/$1.json" -f "$work/out.$1" >/dev/null 2>&1 \
  && "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_num_allocations"])' "$work/$1.json" || echo 0; }
declare -A N=([leakwatch]=$lw_allocs [memray]=$(mr_allocs memray) [memray_native]=$(mr_allocs memray_native))

base=$(echo ${T[untraced]} | tr ' ' '\n' | median)
echo "Python allocation-heavy job ($("$PY" -V 2>&1)), medians of $RUNS"
echo
echo "| mode | wall | slowdown | allocations recorded | output bytes | bytes/alloc |"
echo "|---|---|---|---|---|---|"
for m in "${modes[@]}"; do
  t=$(echo ${T[$m]} | tr ' ' '\n' | median)
  sd=$(echo "scale=2; $t / $base" | bc)
  if [ "$m" = untraced ]; then
    echo "| $m | ${t}s | 1.00x | - | - | - |"
  else
    sz=$(stat -c %s "$work/out.$m")
    n=${N[$m]:-0}
    bpa=$([ "$n" -gt 0 ] && echo "scale=4; $sz / $n" | bc || echo "?")
    echo "| $m | ${t}s | ${sd}x | $n | $sz | $bpa |"
  fi
done

# --- attach / detach pauses --------------------------------------------
cat > "$work/server.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *kept[1 << 20]; int n;
int main(void) { for (;;) { for (int k = 0; k < 50; k++) free(malloc(100 + k)); kept[n++ & 0xfffff] = malloc(64); usleep(1000); } }
C
gcc -O1 -o "$work/server" "$work/server.c"
cat > "$work/server.py" <<'PY'
import time, json
kept = []
while True:
    for k in range(50):
        json.dumps([k, str(k)])
    kept.append("x" * 100)
    time.sleep(0.001)
PY
echo
echo "attach/detach pause the target sees (ms), $RUNS attaches of 2 s each"
echo
echo "| target | attach pauses | detach pauses |"
echo "|---|---|---|"
for t in c python; do
  if [ $t = c ]; then "$work/server" & else "$PY" "$work/server.py" & fi
  pid=$!
  sleep 1
  a=""; d=""
  for r in $(seq 1 "$RUNS"); do
    line=$(LEAKWATCH_STATS=1 "$LW" trace --pid $pid --duration 2s --no-summary -o "$work/att.$t.$r.lwt" 2>&1 | grep "attach stats" || true)
    a+="$(echo "$line" | sed -n 's/.*attach_pause_ms=\([0-9.]*\).*/\1/p') "
    d+="$(echo "$line" | sed -n 's/.*detach_pause_ms=\([0-9.]*\).*/\1/p') "
  done
  kill $pid; wait $pid 2>/dev/null || true
  echo "| $t | $a| $d|"
done
