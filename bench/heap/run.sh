#!/usr/bin/env bash
# Benchmark: `leakwatch diff` vs memlab `find-leaks` on the same three V8
# heap snapshots (BASE/TARGET/FINAL) of a real Node program (the global-Map
# leak from ../shared/corpus/scenarios), several hundred MB in total.
# Measures wall time and peak RSS of each with /usr/bin/time -v, in one run.
#
#   bench/heap/run.sh                 # default size: ~115 + 145 + 175 MB
#   WARM=8000 BETWEEN=2000 bench/heap/run.sh   # bigger
#   SKIP_MEMLAB=1 bench/heap/run.sh   # leakwatch only
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${BENCH_DIR:-$HERE/work}
WARM=${WARM:-4000}
BETWEEN=${BETWEEN:-1000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$WORK"

SCENARIOS=""
for d in "$ROOT/../shared" "$ROOT/../../shared" "$ROOT/../../../shared"; do
  if [ -d "$d/corpus/scenarios" ]; then SCENARIOS="$d/corpus/scenarios"; break; fi
done
[ -n "$SCENARIOS" ] || { echo "shared/corpus/scenarios not found beside the repository" >&2; exit 2; }

# Anchor: memlab from npm (puppeteer's browser download skipped: Node snapshots need no browser).
if [ -z "${SKIP_MEMLAB:-}" ] && [ ! -x "$HERE/anchors/node_modules/.bin/memlab" ]; then
  mkdir -p "$HERE/anchors"
  (cd "$HERE/anchors" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --prefix . memlab@2 >/dev/null)
fi

cargo build --release -p leakwatch --manifest-path "$ROOT/Cargo.toml" >&2
LW="$CARGO_TARGET_DIR/release/leakwatch"

STAMP="$WORK/.made-$WARM-$BETWEEN"
if [ ! -f "$STAMP" ]; then
  rm -f "$WORK"/*.heapsnapshot "$WORK"/.made-*
  echo "writing snapshots (warm-up $WARM ticks, $BETWEEN ticks between) ..." >&2
  node --max-old-space-size=8192 "$ROOT/crates/leakwatch/tests/heap/drive_scenario.js" \
    "$SCENARIOS/node_map_leak.js" "$WORK" "$WARM" "$BETWEEN"
  touch "$STAMP"
fi
B="$WORK/base.heapsnapshot"; T="$WORK/target.heapsnapshot"; F="$WORK/final.heapsnapshot"
sizes=$(stat -c %s "$B" "$T" "$F")
largest=$(echo "$sizes" | sort -n | tail -n 1)
total=$(echo "$sizes" | paste -sd+ | bc)

measure() { # name, command...: prints "wall_s rss_kb exit cpu_s"
  local name=$1; shift
  local log="$WORK/$name.time"
  set +e
  /usr/bin/time -v "$@" >"$WORK/$name.out" 2>"$log"
  local rc=$?
  set -e
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
  cpu=$(grep -E "(User|System) time" "$log" | awk '{s+=$NF} END {print s}')
  echo "$wall $rss $rc $cpu"
}

# Each tool starts with the three files in the page cache (this VM evicts
# them within a minute or two, and the first reader would otherwise warm
# them for the second).
warm() { cat "$B" "$T" "$F" >/dev/null; }
warm
read -r lw_wall lw_rss lw_rc lw_cpu < <(measure leakwatch "$LW" diff "$B" "$T" "$F")
echo "leakwatch: exit $lw_rc; top cluster:" >&2
grep -m1 -E '^ +1\. ' "$WORK/leakwatch.out" >&2 || true

if [ -z "${SKIP_MEMLAB:-}" ]; then
  # memlab's launcher caps the heap at 4 GB; large snapshots need more.
  warm
  read -r ml_wall ml_rss ml_rc ml_cpu < <(measure memlab node --max-old-space-size=16384 \
    "$HERE/anchors/node_modules/memlab/bin/memlab" find-leaks \
    --baseline "$B" --target "$T" --final "$F" --trace-all-objects)
  echo "memlab: exit $ml_rc; its summary:" >&2
  grep -m3 -iE 'leak|retain' "$WORK/memlab.out" >&2 || true
fi

mb() { echo "scale=1; $1/1048576" | bc; }
printf '\nsnapshots: %s + %s + %s MB = %s MB (largest %s MB)\n' \
  $(for s in $sizes; do mb "$s"; done) "$(mb "$total")" "$(mb "$largest")"
printf '%-28s %10s %12s %14s %6s\n' tool "wall (s)" "CPU (s)" "peak RSS (MB)" exit
printf '%-28s %10s %12s %14s %6s\n' "leakwatch diff" "$lw_wall" "$lw_cpu" "$(echo "scale=1; $lw_rss/1024" | bc)" "$lw_rc"
if [ -z "${SKIP_MEMLAB:-}" ]; then
  printf '%-28s %10s %12s %14s %6s\n' "memlab find-leaks" "$ml_wall" "$ml_cpu" "$(echo "scale=1; $ml_rss/1024" | bc)" "$ml_rc"
  printf 'speed-up: %sx wall, %sx CPU   leakwatch peak RSS / largest snapshot: %s, / all three: %s\n' \
    "$(echo "scale=1; $ml_wall/$lw_wall" | bc)" "$(echo "scale=1; $ml_cpu/$lw_cpu" | bc)" \
    "$(echo "scale=2; $lw_rss*1024/$largest" | bc)" "$(echo "scale=2; $lw_rss*1024/$total" | bc)"
  echo "(wall times depend on how busy the machine is; CPU is user+system time)"
fi
