#!/usr/bin/env bash
# Benchmark: `leakwatch diff` vs memlab `find-leaks` on the same three V8
# heap snapshots (BASE/TARGET/FINAL) of a real Node program: a module-level
# Map that leaks request records while an LRU cache and a session map turn
# over (crates/leakwatch/tests/heap/node_turnover_leak.js), ~250-300 MB per
# snapshot by default. Wall time, CPU time and peak RSS of each tool with
# /usr/bin/time -v, in one run, RUNS times alternating; medians and ratios.
#
#   bench/heap/run.sh                       # ~250 + 270 + 290 MB, 3 runs each
#   RUNS=5 bench/heap/run.sh
#   SCENARIO=map WARM=4000 BETWEEN=1000 bench/heap/run.sh   # the older set
#   SKIP_MEMLAB=1 bench/heap/run.sh         # leakwatch only
#
# memlab 2 comes from npm into bench/heap/anchors (no browser download).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${BENCH_DIR:-$HERE/work}
RUNS=${RUNS:-3}
SCENARIO=${SCENARIO:-turnover}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$WORK"

case "$SCENARIO" in
  turnover)
    PROGRAM="$ROOT/crates/leakwatch/tests/heap/node_turnover_leak.js"
    WARM=${WARM:-5000}
    BETWEEN=${BETWEEN:-800}
    # 100 requests a tick; cache and sessions hold 120,000 each, so 80,000
    # replacements between snapshots leave 40,000 survivors of each.
    export PER_TICK=${PER_TICK:-100} LRU_MAX=${LRU_MAX:-120000} SESSIONS_MAX=${SESSIONS_MAX:-120000}
    SIZE_KEY="$WARM-$BETWEEN-$PER_TICK-$LRU_MAX-$SESSIONS_MAX"
    ;;
  map)
    SCENARIOS=""
    for d in "$ROOT/../shared" "$ROOT/../../shared" "$ROOT/../../../shared"; do
      if [ -d "$d/corpus/scenarios" ]; then SCENARIOS="$d/corpus/scenarios"; break; fi
    done
    [ -n "$SCENARIOS" ] || { echo "shared/corpus/scenarios not found beside the repository" >&2; exit 2; }
    PROGRAM="$SCENARIOS/node_map_leak.js"
    WARM=${WARM:-4000}
    BETWEEN=${BETWEEN:-1000}
    SIZE_KEY="map-$WARM-$BETWEEN"
    ;;
  *) echo "SCENARIO is turnover or map" >&2; exit 2 ;;
esac

if [ -z "${SKIP_MEMLAB:-}" ] && [ ! -x "$HERE/anchors/node_modules/.bin/memlab" ]; then
  mkdir -p "$HERE/anchors"
  (cd "$HERE/anchors" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --prefix . memlab@2 >/dev/null)
fi

cargo build --release -p leakwatch --manifest-path "$ROOT/Cargo.toml" >&2
LW="$CARGO_TARGET_DIR/release/leakwatch"
# The floor: reading the files, and a minimal number parser over them.
rustc -O -C target-cpu=native "$HERE/floor.rs" -o "$WORK/floor"

STAMP="$WORK/.made-$SIZE_KEY"
if [ ! -f "$STAMP" ]; then
  rm -f "$WORK"/*.heapsnapshot "$WORK"/.made-*
  echo "writing snapshots of $(basename "$PROGRAM") (warm-up $WARM ticks, $BETWEEN ticks between) ..." >&2
  node --max-old-space-size=8192 "$ROOT/crates/leakwatch/tests/heap/drive_scenario.js" \
    "$PROGRAM" "$WORK" "$WARM" "$BETWEEN"
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
  local wall rss cpu
  wall=$(grep "Elapsed (wall clock)" "$log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep "Maximum resident set size" "$log" | awk '{print $NF}')
  cpu=$(grep -E "(User|System) time" "$log" | awk '{s+=$NF} END {print s}')
  echo "$wall $rss $rc $cpu"
}
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
mb() { echo "scale=1; $1/1048576" | bc; }

# Each tool starts with the three files in the page cache (this VM evicts
# them within a minute or two, and the first reader would otherwise warm
# them for the second).
warm() { cat "$B" "$T" "$F" >/dev/null; }

: >"$WORK/runs.txt"
: >"$WORK/floor.txt"
for run in $(seq 1 "$RUNS"); do
  warm
  read -r lw_wall lw_rss lw_rc lw_cpu < <(measure leakwatch "$LW" diff "$B" "$T" "$F")
  line="$run leakwatch $lw_wall $lw_cpu $lw_rss $lw_rc $(cut -d' ' -f1 /proc/loadavg)"
  if [ -z "${SKIP_MEMLAB:-}" ]; then
    # memlab's launcher caps the heap at 4 GB; large snapshots need more.
    warm
    read -r ml_wall ml_rss ml_rc ml_cpu < <(measure memlab node --max-old-space-size=16384 \
      "$HERE/anchors/node_modules/memlab/bin/memlab" find-leaks \
      --baseline "$B" --target "$T" --final "$F" --trace-all-objects)
    line="$line memlab $ml_wall $ml_cpu $ml_rss $ml_rc"
  fi
  warm
  read -r fl_read_w fl_read_c fl_parse_w fl_parse_c fl_par_w fl_par_c _ < <("$WORK/floor" "$B" "$T" "$F" 2>/dev/null)
  echo "$run $fl_read_w $fl_read_c $fl_parse_w $fl_parse_c $fl_par_w $fl_par_c" >>"$WORK/floor.txt"
  echo "$line" >>"$WORK/runs.txt"
  echo "run $run: $line" >&2
done

echo "leakwatch's leak clusters and turnover (last run):" >&2
grep -E '^ +[0-9]+\. |replaced, not growing' "$WORK/leakwatch.out" | head -n 6 >&2 || true
if [ -z "${SKIP_MEMLAB:-}" ]; then
  echo "memlab's summary (last run):" >&2
  grep -m4 -iE 'leak|retain' "$WORK/memlab.out" >&2 || true
fi

printf '\nsnapshots: %s + %s + %s MB = %s MB (largest %s MB); %s runs; load average now %s\n' \
  $(for s in $sizes; do mb "$s"; done) "$(mb "$total")" "$(mb "$largest")" "$RUNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %-20s %10s %10s %14s %5s %8s\n' run tool "wall (s)" "CPU (s)" "peak RSS (MB)" exit load
while read -r run _ w c r e l _ mw mc mr me; do
  printf '%-4s %-20s %10s %10s %14s %5s %8s\n' "$run" "leakwatch diff" "$w" "$c" "$(echo "scale=1; $r/1024" | bc)" "$e" "$l"
  if [ -n "${mw:-}" ]; then
    printf '%-4s %-20s %10s %10s %14s %5s\n' "$run" "memlab find-leaks" "$mw" "$mc" "$(echo "scale=1; $mr/1024" | bc)" "$me"
  fi
done <"$WORK/runs.txt"
col() { awk -v c="$1" '{print $c}' "$WORK/runs.txt" | median; }
lw_wall=$(col 3); lw_cpu=$(col 4); lw_rss=$(col 5)
printf 'median leakwatch: %s s wall, %s s CPU, %s MB peak (%s x the largest snapshot)\n' \
  "$lw_wall" "$lw_cpu" "$(echo "scale=1; $lw_rss/1024" | bc)" "$(echo "scale=2; $lw_rss*1024/$largest" | bc)"
fcol() { awk -v c="$1" '{print $c}' "$WORK/floor.txt" | median; }
printf 'floor (median): reading the three files from the page cache %s s wall / %s s CPU; a minimal number parser over them %s s / %s s CPU on one thread, %s s / %s s CPU one thread per file\n' \
  "$(fcol 2)" "$(fcol 3)" "$(fcol 4)" "$(fcol 5)" "$(fcol 6)" "$(fcol 7)"
if [ -z "${SKIP_MEMLAB:-}" ]; then
  ml_wall=$(col 9); ml_cpu=$(col 10); ml_rss=$(col 11)
  printf 'median memlab:    %s s wall, %s s CPU, %s MB peak\n' \
    "$ml_wall" "$ml_cpu" "$(echo "scale=1; $ml_rss/1024" | bc)"
  # Per-run ratios (each pair ran back to back), then their median.
  ratios=$(awk '{printf "%.1f ", $9/$3}' "$WORK/runs.txt")
  printf 'wall ratio per run: %s-> median %sx; CPU ratio median %sx\n' "$ratios" \
    "$(awk '{print $9/$3}' "$WORK/runs.txt" | median | xargs printf '%.1f')" \
    "$(awk '{print $10/$4}' "$WORK/runs.txt" | median | xargs printf '%.1f')"
  echo "(wall times depend on how busy the machine is; CPU is user+system time)"
fi
