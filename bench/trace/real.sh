#!/usr/bin/env bash
# Recording cost on real programs: leakwatch trace (--no-summary and
# default) versus heaptrack, side by side in one run.
#
# Workloads (each built or written here):
#   python   CPython with PYTHONMALLOC=malloc parsing 60 standard-library
#            modules with ast.parse (deep C stacks)
#   cppcheck cppcheck on a preprocessed C++ file full of libstdc++ headers
#   cc1plus  GCC's C++ compiler proper on the same header-heavy file
#   sqlite   sqlite3 on an insert/index/query script
#   python-threads  (not in the default set) the python job's modules split
#            over four threads: events from several threads at once, whose
#            order across threads the tracer keeps with a shared counter
# The Python workloads also run `trace --python-native-frames`
# (lw-pynative: the interpreter's own native frames kept too).
#
# Each (workload, mode) runs RUNS times (default 3), interleaved: round 1
# runs every mode once, then round 2... so a change in machine load hits
# every mode alike. Reported per mode: the median wall time and the median
# CPU time (user + system of the whole process tree: the tracer's writer
# thread, heaptrack's interpreter process), the slowdown against the
# untraced median, and the spread (max - min) / median of the repeats.
# On a shared machine the CPU times are the figures to compare; wall times
# are printed too.
#
# With LW_BASE=/absolute/path/to/another/leakwatch (a build of another
# commit, its libleakwatch_preload.so beside it), its two modes run
# interleaved with the others as base-lw-nosum and base-lw: before and
# after, side by side in one run.
#
# usage: bench/trace/real.sh [-n RUNS] [-k DIR] [WORKLOAD...]
#   -k DIR  keep the work directory (traces: DIR/<workload>.<mode>.<run>.lwt,
#           heaptrack data: DIR/<workload>.heaptrack.<run>.zst) so that
#           `leakwatch report` and `heaptrack_print` can be compared on
#           them (bench/trace/report.sh)
set -euo pipefail
RUNS=3
KEEP=
while getopts "n:k:" opt; do
  case $opt in
    n) RUNS=$OPTARG ;;
    k) KEEP=$OPTARG ;;
    *) echo "usage: $0 [-n RUNS] [-k DIR] [WORKLOAD...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
WORKLOADS=("$@")
[ ${#WORKLOADS[@]} -gt 0 ] || WORKLOADS=(python cppcheck cc1plus sqlite)

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
need=()
command -v heaptrack >/dev/null || need+=(heaptrack)
command -v cppcheck >/dev/null || need+=(cppcheck)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v g++ >/dev/null || need+=(g++)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update
  apt-get -o DPkg::Lock::Timeout=600 install -y "${need[@]}"
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
(cd "$root" && cargo build --release -q -p leakwatch -p leakwatch-preload)
LW=$CARGO_TARGET_DIR/release/leakwatch

if [ -n "$KEEP" ]; then
  mkdir -p "$KEEP"
  work=$(cd "$KEEP" && pwd)
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"

# --- the workloads' inputs ---------------------------------------------------
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(python3 -c 'import sys; print(sys.executable)')
cat > pyjob.py <<'EOF'
import ast, os, sysconfig
lib = sysconfig.get_paths()["stdlib"]
mods = sorted(f for f in os.listdir(lib) if f.endswith(".py"))[:60]
n = 0
for m in mods:
    with open(os.path.join(lib, m), encoding="utf-8", errors="replace") as fh:
        src = fh.read()
    try:
        tree = ast.parse(src)
    except SyntaxError:
        continue
    n += sum(1 for _ in ast.walk(tree))
print(n)
EOF
cat > pyjob_threads.py <<'EOF'
import ast, os, sysconfig, threading
lib = sysconfig.get_paths()["stdlib"]
mods = sorted(f for f in os.listdir(lib) if f.endswith(".py"))[:60]
counts = [0] * 4
def work(k):
    for m in mods[k::4]:
        with open(os.path.join(lib, m), encoding="utf-8", errors="replace") as fh:
            src = fh.read()
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        counts[k] += sum(1 for _ in ast.walk(tree))
threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sum(counts))
EOF
cat > heavy.cpp <<'EOF'
#include <algorithm>
#include <filesystem>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>
struct Node { std::string name; std::vector<std::shared_ptr<Node>> kids; };
int main() {
  std::map<std::string, int> m;
  std::unordered_map<int, std::string> u;
  std::vector<std::shared_ptr<Node>> v;
  for (int i = 0; i < 100; ++i) {
    m[std::to_string(i)] = i;
    u[i] = std::to_string(i);
    v.push_back(std::make_shared<Node>());
  }
  std::sort(v.begin(), v.end());
  std::regex r("a+b");
  std::ostringstream os;
  os << m.size() << u.size();
  std::cout << os.str() << std::regex_match("aab", r) << "\n";
}
EOF
g++ -E heavy.cpp -o heavy.ii
CC1PLUS=$(g++ -print-prog-name=cc1plus)
cat > sq.sql <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, grp INTEGER);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 30000)
INSERT INTO t(name, v, grp) SELECT 'name' || x || hex(randomblob(8)), x * 1.5, x % 97 FROM c;
COMMIT;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, v);
SELECT grp, count(*), avg(v) FROM t GROUP BY grp ORDER BY 2 DESC LIMIT 3;
SELECT count(*) FROM t WHERE name LIKE 'name1%';
SELECT sum(length(a.name)) FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.grp = 5;
EOF

# The command line of a workload: the program itself, never through `env`
# or a shell (heaptrack's preload removes itself from LD_PRELOAD, so it
# traces only the first image: an `exec` would run the workload untraced).
# PYTHONMALLOC=malloc is exported for the whole run.
export PYTHONMALLOC=malloc
cmdline() {
  case $1 in
    python) echo "$PY $work/pyjob.py" ;;
    python-threads) echo "$PY $work/pyjob_threads.py" ;;
    cppcheck) echo "cppcheck --quiet --enable=warning,style,performance $work/heavy.ii" ;;
    cc1plus) echo "$CC1PLUS -quiet -fpreprocessed $work/heavy.ii -o $work/heavy.s" ;;
    sqlite) echo "sqlite3 :memory: < $work/sq.sql" ;;
    *) echo "unknown workload $1" >&2; exit 2 ;;
  esac
}

# Runs one mode of a workload; prints "wall cpu".
measure() {
  local workload=$1 mode=$2 run=$3 cmd
  cmd=$(cmdline "$workload")
  local t="$work/$workload.$mode.$run"
  case $mode in
    untraced) ;;
    lw-nosum) cmd="$LW trace --no-summary -o $t.lwt -- $cmd" ;;
    lw) cmd="$LW trace -o $t.lwt -- $cmd" ;;
    lw-pynative) cmd="$LW trace --python-native-frames -o $t.lwt -- $cmd" ;;
    base-lw-nosum) cmd="$LW_BASE trace --no-summary -o $t.lwt -- $cmd" ;;
    base-lw) cmd="$LW_BASE trace -o $t.lwt -- $cmd" ;;
    heaptrack) cmd="heaptrack -o $t $cmd" ;;
  esac
  rm -f "$t.lwt" "$t.zst"
  # LEAKWATCH_STATS=1: the tracer prints its work counters at exit (frames
  # unwound, stacks written), which machine load does not change.
  LEAKWATCH_STATS=1 /usr/bin/time -f "%e %U %S" -o "$t.time" sh -c "$cmd" >"$t.out" 2>"$t.err" || true
  # The last line: a killed command's time file starts with a note.
  tail -n 1 "$t.time" | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
  if [ "$mode" = heaptrack ] && [ -f "$t.zst" ] && [ "$(zstdcat "$t.zst" 2>/dev/null | grep -c '^+')" -lt 1000 ]; then
    echo "heaptrack recorded almost nothing for $workload: it traces only the first image" >&2
  fi
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
spread() { sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.0f%%", (m > 0 ? 100 * (a[NR] - a[1]) / m : 0) }'; }

MODES=(untraced lw-nosum lw lw-pynative heaptrack)
[ -z "${LW_BASE:-}" ] || MODES=(untraced base-lw-nosum lw-nosum base-lw lw lw-pynative heaptrack)
# lw-pynative (`trace --python-native-frames`: the interpreter's own
# native frames kept) runs on the Python workloads only.
runs_mode() { [ "$2" != lw-pynative ] || [[ $1 == python* ]]; }
declare -A WALL CPU UNWOUND STACKS
# The tracer's work in one run: "unwound stacks" from its LEAKWATCH_STATS
# line ("frames: R reused, U unwound, S stacks written; ...").
work_counters() {
  sed -n 's/.*frames: [0-9]* reused, \([0-9]*\) unwound, \([0-9]*\) stacks written.*/\1 \2/p' "$1" | head -n 1
}
for workload in "${WORKLOADS[@]}"; do
  for run in $(seq 1 "$RUNS"); do
    for mode in "${MODES[@]}"; do
      runs_mode "$workload" "$mode" || continue
      read -r wall cpu < <(measure "$workload" "$mode" "$run")
      WALL[$workload.$mode]+="$wall "
      CPU[$workload.$mode]+="$cpu "
      if [ "$mode" = lw ]; then
        read -r unwound stacks < <(work_counters "$work/$workload.$mode.$run.err"; echo)
        [ -z "$unwound" ] || { UNWOUND[$workload]+="$unwound "; STACKS[$workload]+="$stacks "; }
      fi
    done
  done
  # heaptrack's file is NAME.zst; keep the name stable for report.sh.
  for run in $(seq 1 "$RUNS"); do
    [ -f "$workload.heaptrack.$run.zst" ] || mv -f "$workload.heaptrack.$run".*zst "$workload.heaptrack.$run.zst" 2>/dev/null || true
  done
done

printf '\n%-9s %-13s %9s %7s %9s %7s %7s %7s %7s\n' workload mode "wall" "x" "cpu" "x" "spread" "vs ht" "wall vs"
for workload in "${WORKLOADS[@]}"; do
  base_w=$(echo "${WALL[$workload.untraced]}" | tr ' ' '\n' | grep . | median)
  base_c=$(echo "${CPU[$workload.untraced]}" | tr ' ' '\n' | grep . | median)
  ht_c=$(echo "${CPU[$workload.heaptrack]}" | tr ' ' '\n' | grep . | median)
  ht_w=$(echo "${WALL[$workload.heaptrack]}" | tr ' ' '\n' | grep . | median)
  for mode in "${MODES[@]}"; do
    runs_mode "$workload" "$mode" || continue
    w=$(echo "${WALL[$workload.$mode]}" | tr ' ' '\n' | grep . | median)
    c=$(echo "${CPU[$workload.$mode]}" | tr ' ' '\n' | grep . | median)
    s=$(echo "${CPU[$workload.$mode]}" | tr ' ' '\n' | grep . | spread)
    vs=$(awk -v c="$c" -v b="$base_c" -v h="$ht_c" 'BEGIN { if (h > b) printf "%.2f", (c - b) / (h - b); else print "-" }')
    vs_w=$(awk -v c="$w" -v b="$base_w" -v h="$ht_w" 'BEGIN { if (h > b) printf "%.2f", (c - b) / (h - b); else print "-" }')
    printf '%-9s %-13s %8.2fs %6.1fx %8.2fs %6.1fx %7s %7s %7s\n' "$workload" "$mode" "$w" \
      "$(awk -v a="$w" -v b="$base_w" 'BEGIN { print a / b }')" "$c" \
      "$(awk -v a="$c" -v b="$base_c" 'BEGIN { print a / b }')" "$s" "$vs" "$vs_w"
  done
done
printf '\n%-9s %16s %8s %16s %8s\n' workload "frames unwound" spread "stacks written" spread
for workload in "${WORKLOADS[@]}"; do
  [ -n "${UNWOUND[$workload]:-}" ] || continue
  printf '%-9s %16s %8s %16s %8s\n' "$workload" \
    "$(echo "${UNWOUND[$workload]}" | tr ' ' '\n' | grep . | median)" \
    "$(echo "${UNWOUND[$workload]}" | tr ' ' '\n' | grep . | spread)" \
    "$(echo "${STACKS[$workload]}" | tr ' ' '\n' | grep . | median)" \
    "$(echo "${STACKS[$workload]}" | tr ' ' '\n' | grep . | spread)"
done
# Paired by round: each round runs every mode back to back, so the ratio
# of two modes' CPU within a round cancels the host's slower drift, which
# the spreads above (and the short untraced runs most of all) carry.
printf '\n%-9s %-13s %18s %8s\n' workload mode "cpu / ht, per round" spread
for workload in "${WORKLOADS[@]}"; do
  read -r -a hts <<<"${CPU[$workload.heaptrack]}"
  for mode in "${MODES[@]}"; do
    case $mode in untraced | heaptrack) continue ;; esac
    runs_mode "$workload" "$mode" || continue
    read -r -a cs <<<"${CPU[$workload.$mode]}"
    ratios=$(for k in "${!cs[@]}"; do
      awk -v c="${cs[$k]}" -v h="${hts[$k]:-0}" 'BEGIN { if (h > 0) printf "%.4f\n", c / h }'
    done)
    [ -n "$ratios" ] || continue
    printf '%-9s %-13s %18.3f %8s\n' "$workload" "$mode" \
      "$(echo "$ratios" | median)" "$(echo "$ratios" | spread)"
  done
done
cat <<'NOTE'

wall/cpu: medians over the runs; cpu = user + system time of the whole
process tree. x: against the untraced median. spread: (max - min) / median of
the CPU times. vs ht: extra CPU time over the untraced run, as a fraction of
heaptrack's extra CPU time (the goal is at most 0.5 for `lw`). wall vs: the
same for the median wall times. frames unwound / stacks written: the
default `trace`'s own work counters (LEAKWATCH_STATS=1), medians and spreads
over the runs: address-space layout or a cold cache that made the tracer
unwind more would show here, where machine load does not. cpu / ht, per
round: the mode's CPU time over heaptrack's in the same round (median and
spread over the rounds), the repeatability of the tracer's cost with the
host's drift taken out.
NOTE
if [ -n "$KEEP" ]; then
  echo "traces kept in $work"
fi
