#!/usr/bin/env bash
# Benchmark: `leakwatch diff` on three HPROF heap dumps of at least 500 MB
# each, from a real OpenJDK program (bench/heap/BigHeap.java: a 2 M entry
# customer table, an LRU cache turning over, a static list that leaks),
# side by side with the floor a Java user has without a dump analyser:
# `jmap -histo:live` at the same three points and a class diff of the
# histograms (awk). Also reported: the time to read the three files from the
# page cache (cat), and the time jcmd took to write each dump.
#
#   bench/heap/hprof.sh                        # ~0.6-0.75 GB per dump
#   CUSTOMERS=3000000 bench/heap/hprof.sh      # bigger
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${BENCH_DIR:-$HERE/work/hprof}
CUSTOMERS=${CUSTOMERS:-2000000}
CACHE_MAX=${CACHE_MAX:-500000}
PER_ROUND=${PER_ROUND:-600000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$WORK"
command -v jcmd >/dev/null && command -v jmap >/dev/null && command -v javac >/dev/null ||
  { echo "needs a JDK (javac, jcmd, jmap): apt-get install openjdk-17-jdk-headless" >&2; exit 2; }

cargo build --release -p leakwatch --manifest-path "$ROOT/Cargo.toml" >&2
LW="$CARGO_TARGET_DIR/release/leakwatch"

secs() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

KEY="$CUSTOMERS-$CACHE_MAX-$PER_ROUND"
if [ ! -f "$WORK/.made-$KEY" ]; then
  rm -f "$WORK"/*.hprof "$WORK"/*.histo "$WORK"/.made-*
  javac -d "$WORK" "$HERE/BigHeap.java"
  coproc JVM { exec java -Xmx6g -XX:+UseParallelGC -cp "$WORK" BigHeap "$CUSTOMERS" "$CACHE_MAX" "$PER_ROUND" 3; }
  pid=$JVM_PID
  : >"$WORK/taking.txt"
  for i in 1 2 3; do
    read -r line <&"${JVM[0]}"
    echo "JVM: $line" >&2
    t0=$(secs)
    jmap -histo:live "$pid" >"$WORK/dump$i.histo"
    t1=$(secs)
    jcmd "$pid" GC.heap_dump "$WORK/dump$i.hprof" >/dev/null
    t2=$(secs)
    echo "$i histo $(elapsed "$t0" "$t1") dump $(elapsed "$t1" "$t2")" >>"$WORK/taking.txt"
    echo >&"${JVM[1]}"
  done
  read -r line <&"${JVM[0]}" || true
  wait "$pid" || true
  touch "$WORK/.made-$KEY"
fi
files=("$WORK"/dump1.hprof "$WORK"/dump2.hprof "$WORK"/dump3.hprof)
sizes=$(stat -c %s "${files[@]}")
largest=$(echo "$sizes" | sort -n | tail -n 1)
mb() { echo "scale=1; $1/1048576" | bc; }

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

# The floor's diff step: class counts and bytes of three jmap histograms.
cat >"$WORK/histo_diff.awk" <<'EOF'
# jmap -histo lines: "  num:  #instances  #bytes  class name (module)"
FNR == 1 { f++ }
$1 ~ /^[0-9]+:$/ { n[$4, f] = $2; b[$4, f] = $3; seen[$4] = 1 }
END {
  for (c in seen) {
    d = n[c, f] - n[c, 1]
    if (d > 0 && n[c, 2] > n[c, 1] && n[c, f] > n[c, 2])
      printf "%12d %14d  %s  %d -> %d -> %d\n", d, b[c, f] - b[c, 1], c, n[c, 1], n[c, 2], n[c, f]
  }
}
EOF

RUNS=${RUNS:-3}
: >"$WORK/runs.txt"
for run in $(seq 1 "$RUNS"); do
  cat "${files[@]}" >/dev/null
  t0=$(secs); cat "${files[@]}" >/dev/null; t1=$(secs)
  read -r lw_wall lw_rss lw_rc lw_cpu < <(measure leakwatch "$LW" diff "${files[@]}")
  read -r aw_wall aw_rss aw_rc aw_cpu < <(measure histo-diff awk -f "$WORK/histo_diff.awk" "$WORK"/dump{1,2,3}.histo)
  echo "$run $lw_wall $lw_cpu $lw_rss $lw_rc $(elapsed "$t0" "$t1") $aw_wall $(cut -d' ' -f1 /proc/loadavg)" >>"$WORK/runs.txt"
done

echo "leakwatch (last run), exit $lw_rc:" >&2
grep -E '^ +[0-9]+\. |^  [A-Za-z$.]+ ' "$WORK/leakwatch.out" | head -n 8 >&2 || true
echo "jmap histogram class diff (growing at every step):" >&2
sort -rn "$WORK/histo-diff.out" | head -n 5 >&2

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
col() { awk -v c="$1" '{print $c}' "$WORK/runs.txt" | median; }
printf '\ndumps: %s + %s + %s MB (largest %s MB); load average now %s\n' \
  $(for s in $sizes; do mb "$s"; done) "$(mb "$largest")" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %10s %10s %14s %5s %12s %10s %6s\n' run "lw wall" "lw CPU" "lw RSS (MB)" exit "cat 3 (s)" "awk (s)" load
while read -r run w c r e cat_s aw l; do
  printf '%-4s %10s %10s %14s %5s %12s %10s %6s\n' "$run" "$w" "$c" "$(echo "scale=1; $r/1024" | bc)" "$e" "$cat_s" "$aw" "$l"
done <"$WORK/runs.txt"
histo_total=$(awk '{s+=$3} END {print s}' "$WORK/taking.txt")
printf 'jmap -histo:live at the three points (in the JVM, while it ran): %s s in all; jcmd GC.heap_dump: %s s in all\n' \
  "$histo_total" "$(awk '{s+=$5} END {print s}' "$WORK/taking.txt")"
printf 'median leakwatch diff: %s s wall, %s s CPU, %s MB peak (%s x the largest dump)\n' \
  "$(col 2)" "$(col 3)" "$(echo "scale=1; $(col 4)/1024" | bc)" "$(echo "scale=2; $(col 4)*1024/$largest" | bc)"
printf 'floor (histograms + diff): %s s; reading the dumps from the page cache: %s s\n' \
  "$(echo "$histo_total + $(col 7)" | bc)" "$(col 6)"
