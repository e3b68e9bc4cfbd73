#!/usr/bin/env bash
# `leakwatch report` against `heaptrack_print` on real programs, side by side
# in one run: CPython (PYTHONMALLOC=malloc) parsing 60 standard-library
# modules with ast.parse (deep stacks), cppcheck on a C++ file that includes
# the libstdc++ headers, GCC's cc1plus compiling that file, sqlite3 on an
# insert/index/query script, and the synthetic benchmark (bench.c).
#
# Each workload is recorded once by each tool (`leakwatch trace
# --no-summary`, `heaptrack`); then `leakwatch report` and `heaptrack_print`
# are run alternately RUNS times on those recordings, and the medians of
# wall time, CPU time (user+sys) and peak RSS are printed with the ratios
# leakwatch/heaptrack (goals: time <= 1, memory <= 2). The machine is shared:
# compare the ratios, taken in the same run, rather than absolute figures.
# It also times the summary the default `leakwatch trace` prints after the
# program ends (median of RUNS, as leakwatch measures it with
# LEAKWATCH_STATS=1): goal within a second.
#
# usage: bench/trace/report.sh [RUNS] [WORKLOAD...]
#   RUNS defaults to 5; WORKLOADs: cpython cppcheck cc1plus sqlite synthetic
# env: KEEP=DIR keeps the recordings there; PY=/path/to/python3.
set -euo pipefail
RUNS=${1:-5}
shift || true
WORKLOADS=("$@")
[ ${#WORKLOADS[@]} -gt 0 ] || WORKLOADS=(cpython cppcheck cc1plus sqlite synthetic)
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
(cd "$root" && cargo build --release -q -p leakwatch)
LW=$CARGO_TARGET_DIR/release/leakwatch
PY=${PY:-$(python3 -c 'import sys; print(sys.executable)')}

if [ -n "${KEEP:-}" ]; then
  work=$KEEP
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
cd "$work"

# --- the workloads -----------------------------------------------------
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
cat > heavy.cpp <<'EOF'
#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <unordered_map>
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
CC1=$(g++ -print-prog-name=cc1plus)
INCS=()
while read -r d; do INCS+=("-I$d"); done < <(echo | g++ -xc++ -E -v - 2>&1 |
  sed -n '/#include <...> search starts here/,/End of search list/p' | grep '^ /' | sed 's/^ //')
cat > sq.sql <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, grp INTEGER);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 200000)
INSERT INTO t(name, v, grp) SELECT 'name' || x || hex(randomblob(8)), x * 1.5, x % 97 FROM c;
COMMIT;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, v);
SELECT grp, count(*), avg(v) FROM t GROUP BY grp ORDER BY 2 DESC LIMIT 3;
SELECT count(*) FROM t WHERE name LIKE 'name1%';
SELECT sum(length(a.name)) FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.grp = 5;
EOF
gcc -O2 -g -fomit-frame-pointer -pthread "$here/bench.c" -o bench -ldl

# ./wl.sh WORKLOAD PREFIX...: runs a workload under a command prefix (a
# script, so /usr/bin/time can run it).
{
  echo '#!/usr/bin/env bash'
  echo 'w=$1; shift'
  echo 'case $w in'
  printf '  cpython) PYTHONMALLOC=malloc exec "$@" %q pyjob.py ;;\n' "$PY"
  printf '  cppcheck) exec "$@" cppcheck -q --force --std=c++17'
  printf ' %q' "${INCS[@]}"
  printf ' heavy.cpp ;;\n'
  printf '  cc1plus) exec "$@" %q -fpreprocessed -quiet -O1 heavy.ii -o /dev/null ;;\n' "$CC1"
  echo '  sqlite) exec "$@" sqlite3 :memory: < sq.sql ;;'
  echo '  synthetic) exec "$@" ./bench single 20000000 ;;'
  echo 'esac'
} > wl.sh
chmod +x wl.sh

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# Prints "wall cpu maxrss_kib" of one command.
measure() {
  /usr/bin/time -f "%e %U %S %M" -o time.out "$@" >/dev/null 2>>cmd.err || true
  # The last line: time puts "Command exited with non-zero status 1" (a
  # report that found a leak) before the figures.
  tail -n 1 time.out | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}'
}

printf "%-10s %9s | %-21s | %-21s | %-17s | %s\n" workload allocs \
  "report wall/cpu/MiB" "heaptrack_print same" "ratio wall/cpu/mem" "trace summary s"
for w in "${WORKLOADS[@]}"; do
  rm -f "lw.$w.lwt" "hp.$w".*
  # The program's own exit status (cc1plus under heaptrack ends with
  # std::bad_alloc here) is reported, not fatal.
  ./wl.sh "$w" "$LW" trace --no-summary -o "lw.$w.lwt" -- >/dev/null 2>>cmd.err ||
    echo "    $w under leakwatch exited with status $?" >&2
  ./wl.sh "$w" heaptrack -o "hp.$w" >/dev/null 2>>cmd.err ||
    echo "    $w under heaptrack exited with status $?" >&2
  hp=$(ls "hp.$w".* | head -1)
  # report exits 1 when it finds a leak: not a failure here.
  allocs=$({ "$LW" report --json "lw.$w.lwt" 2>/dev/null || true; } |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["allocations"])')
  : > lw.t; : > hp.t
  for _ in $(seq "$RUNS"); do
    measure "$LW" report "lw.$w.lwt" >> lw.t
    measure heaptrack_print "$hp" >> hp.t
  done
  col() { cut -d' ' -f"$2" "$1" | median; }
  lw_wall=$(col lw.t 1); lw_cpu=$(col lw.t 2); lw_rss=$(col lw.t 3)
  hp_wall=$(col hp.t 1); hp_cpu=$(col hp.t 2); hp_rss=$(col hp.t 3)
  # The summary the default `trace` prints: the time from the program's
  # end to the verdict, as leakwatch measures it (LEAKWATCH_STATS).
  : > sum.t
  if [ "${SUMMARY:-1}" = 1 ]; then
    for _ in $(seq "$RUNS"); do
      rm -f s.lwt
      LEAKWATCH_STATS=1 ./wl.sh "$w" "$LW" trace -o s.lwt -- >/dev/null 2>s.err || true
      sed -n 's/^leakwatch: summary stats: \([0-9.]*\) s.*/\1/p' s.err >> sum.t
    done
  fi
  printf "%-10s %9s | %5.2f / %5.2f / %5.1f | %5.2f / %5.2f / %5.1f | %4.2f / %4.2f / %4.2f | %s\n" \
    "$w" "$allocs" "$lw_wall" "$lw_cpu" "$(echo "$lw_rss/1024" | bc -l)" \
    "$hp_wall" "$hp_cpu" "$(echo "$hp_rss/1024" | bc -l)" \
    "$(echo "$lw_wall/$hp_wall" | bc -l)" "$(echo "$lw_cpu/$hp_cpu" | bc -l)" \
    "$(echo "$lw_rss/$hp_rss" | bc -l)" "$(median < sum.t)"
  echo "    wall s, report: $(cut -d' ' -f1 lw.t | tr '\n' ' ')| heaptrack_print: $(cut -d' ' -f1 hp.t | tr '\n' ' ')"
done
