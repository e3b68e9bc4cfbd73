#!/usr/bin/env bash
# leakwatch trace vs heaptrack on a malloc-heavy C benchmark (bench.c: N small
# allocations through a ~10-deep call chain, -O2 without frame pointers).
# For each workload (single-threaded, 4 threads, code in a dlopen'ed library)
# it measures, in one run: untraced time, time under `leakwatch trace`, time
# under heaptrack, the slowdowns, trace bytes per allocation, and the leaked
# bytes each tool reports (which must be equal).
#
# usage: bench/trace/run.sh [N]     (default N = 20000000 allocations)
set -euo pipefail
N=${1:-20000000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

need=()
command -v heaptrack >/dev/null || need+=(heaptrack)
command -v zstdcat >/dev/null || need+=(zstd)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update
  apt-get -o DPkg::Lock::Timeout=600 install -y "${need[@]}"
fi

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
(cd "$root" && cargo build --release -q -p leakwatch -p leakwatch-preload)
LW=$CARGO_TARGET_DIR/release/leakwatch

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -g -fomit-frame-pointer -pthread "$here/bench.c" -o "$work/bench" -ldl
gcc -O2 -g -fomit-frame-pointer -shared -fPIC "$here/bench.c" -o "$work/libbenchplugin.so"
cd "$work"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }

# heaptrack's leaks, exact, from its data file: sizes of `+` minus `-`
# events, in total and for allocations whose stack passes through alloc_one
# (the benchmark's own code). Prints: total program allocations.
heaptrack_leaked() {
  zstdcat "$1" | python3 -c '
import sys
strings, ips, traces, size, trace_of = [""], [None], [None], [], []
live = {}
allocs = 0
for line in sys.stdin:
    f = line.split()
    if not f:
        continue
    k = f[0]
    if k == "s":
        strings.append(line.rstrip("\n").split(" ", 2)[2])
    elif k == "i":
        funcs = [int(x, 16) for x in f[3::3]]
        ips.append({strings[i] for i in funcs if i < len(strings)})
    elif k == "t":
        ip, parent = int(f[1], 16), int(f[2], 16)
        names = set(ips[ip]) | (traces[parent] if parent else set())
        traces.append(names)
    elif k == "a":
        size.append(int(f[1], 16))
        trace_of.append(int(f[2], 16))
    elif k == "+":
        i = int(f[1], 16)
        live[i] = live.get(i, 0) + 1
        allocs += 1
    elif k == "-":
        i = int(f[1], 16)
        live[i] = live.get(i, 0) - 1
total = sum(size[i] * n for i, n in live.items())
program = sum(size[i] * n for i, n in live.items() if "alloc_one" in traces[trace_of[i]])
print(total, program, allocs)'
}

# leakwatch's leaks from `report --json`: total, and from stacks through
# alloc_one. Prints: total program allocations.
leakwatch_leaked() {
  "$LW" report --json --top 1000 "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)
g = r["leaked"]
program = sum(e["bytes"] for e in g["stacks"] if any(f["function"] == "alloc_one" for f in e["frames"]))
print(g["bytes"], program, r["allocations"])' || true
}

printf '%-8s %9s %9s %9s %7s %7s %7s %7s %11s %11s %11s %11s\n' \
  workload untraced leakwatch heaptrack "lw x" "ht x" "lw B/a" "ht B/a" \
  "lw prog" "ht prog" "lw total" "ht total"
for mode in single threads dlopen; do
  args=("$mode" "$N")
  [ "$mode" = dlopen ] && args+=("$work/libbenchplugin.so")
  t0=$(now); ./bench "${args[@]}"; t1=$(now)
  "$LW" trace --no-summary -o "lw.$mode.lwt" -- ./bench "${args[@]}" 2>/dev/null; t2=$(now)
  heaptrack -o "ht.$mode" ./bench "${args[@]}" >/dev/null 2>&1; t3=$(now)
  base=$(secs "$t0" "$t1"); lw=$(secs "$t1" "$t2"); ht=$(secs "$t2" "$t3")
  read -r ht_total ht_prog ht_allocs < <(heaptrack_leaked "ht.$mode.zst")
  read -r lw_total lw_prog lw_allocs < <(leakwatch_leaked "lw.$mode.lwt")
  lw_size=$(stat -c %s "lw.$mode.lwt"); ht_size=$(stat -c %s "ht.$mode.zst")
  printf '%-8s %8.2fs %8.2fs %8.2fs %6.1fx %6.1fx %7.4f %7.4f %11d %11d %11d %11d\n' \
    "$mode" "$base" "$lw" "$ht" "$(echo "$lw / $base" | bc -l)" "$(echo "$ht / $base" | bc -l)" \
    "$(echo "$lw_size / $lw_allocs" | bc -l)" "$(echo "$ht_size / $ht_allocs" | bc -l)" \
    "$lw_prog" "$ht_prog" "$lw_total" "$ht_total"
  [ "$lw_prog" = "$ht_prog" ] || echo "  MISMATCH in the program's own leaks"
  [ "$(echo "$lw_size * $ht_allocs <= $ht_size * $lw_allocs" | bc)" = 1 ] ||
    echo "  leakwatch's trace is larger per allocation than heaptrack's"
done
cat <<'NOTE'

lw x / ht x: slowdown versus the untraced run. B/a: trace file bytes per
allocation. prog: bytes leaked from the benchmark's own code (stacks through
alloc_one); total: everything still allocated at exit. leakwatch's total is
lower because at exit it calls __libc_freeres (as valgrind does), releasing
glibc's internal caches (thread stacks' DTVs, the loader's dlopen data), which
heaptrack counts as leaked.
NOTE
