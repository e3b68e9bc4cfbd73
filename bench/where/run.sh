#!/usr/bin/env bash
# What `leakwatch where` costs the target: a JVM service's throughput under
# wrk with and without `where --pid` polling it at the default interval
# (2 s, stretched by the 1 % pause budget), in alternating rounds of the
# same run (A B A B ...), medians side by side; and the pause of each poll
# (the JVM's own safepoint time), median and longest.
#
#   bench/where/run.sh                      # live sets of 20 and 200 MB
#   LIVE_MB="500" ROUNDS=5 SECS=40 bench/where/run.sh
#   HISTOGRAM=all bench/where/run.sh        # --jvm-histogram all (no full GC)
#   BUDGET=100% bench/where/run.sh          # no stretching: every 2 s whatever it costs
set -euo pipefail
LIVE_MB=${LIVE_MB:-"20 200"}
ROUNDS=${ROUNDS:-3}          # rounds of each kind (A and B)
SECS=${SECS:-30}             # seconds per round
HISTOGRAM=${HISTOGRAM:-live}
BUDGET=${BUDGET:-1%}
INTERVAL=${INTERVAL:-2s}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -q -p leakwatch --manifest-path "$repo/Cargo.toml"
cargo build --release -q -p leakwatch-where --example jvm_poll_cost --manifest-path "$repo/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/leakwatch
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 2; }
command -v javac >/dev/null || { echo "javac is needed (apt-get install openjdk-17-jdk-headless)"; exit 2; }
work=$(mktemp -d)
svc=""
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
javac -d "$work" "$here/BenchSvc.java"
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
rps() { awk '/Requests\/sec/ {print $2}' "$1"; }
p99() { awk '$1=="99%" {v=$2; if (v ~ /ms$/) {sub(/ms/,"",v); print v} else if (v ~ /us$/) {sub(/us/,"",v); print v/1000} else {sub(/s$/,"",v); print v*1000}}' "$1"; }

printf 'where --pid on a JVM service (G1, -Xmx2g), %s rounds of %ss each way, histogram %s, interval %s, budget %s\n\n' \
    "$ROUNDS" "$SECS" "$HISTOGRAM" "$INTERVAL" "$BUDGET"
printf '%8s %12s %12s %8s %10s %10s %9s %10s %10s %8s\n' "live MB" "rps without" "rps with" "ratio" "p99 w/o" "p99 with" "polls" "interval" "pause med" "max"
for mb in $LIVE_MB; do
    java -Xmx2g -Dsun.net.httpserver.nodelay=true -cp "$work" BenchSvc "$port" "$mb" > "$work/svc.log" 2>&1 &
    svc=$!
    for _ in $(seq 1 600); do grep -q listening "$work/svc.log" && break; sleep 0.1; done
    grep -q listening "$work/svc.log" || { cat "$work/svc.log"; exit 1; }
    # Warm up the JIT and the heap.
    wrk -t1 -c8 -d10s "http://127.0.0.1:$port/" > /dev/null
    without=(); with=(); p99a=(); p99b=(); pauses=(); polls=0; maxpause=0; intervals=()
    for r in $(seq 1 "$ROUNDS"); do
        wrk -t1 -c8 -d"${SECS}s" --latency "http://127.0.0.1:$port/" > "$work/a.txt"
        without+=("$(rps "$work/a.txt")"); p99a+=("$(p99 "$work/a.txt")")
        "$bin" where --pid "$svc" --duration "$((SECS + 2))s" --interval "$INTERVAL" \
            --pause-budget "$BUDGET" --jvm-histogram "$HISTOGRAM" --json > "$work/where.json" 2> "$work/where.err" &
        lw=$!
        sleep 1
        wrk -t1 -c8 -d"${SECS}s" --latency "http://127.0.0.1:$port/" > "$work/b.txt"
        wait "$lw" || true
        with+=("$(rps "$work/b.txt")"); p99b+=("$(p99 "$work/b.txt")")
        python3 - "$work/where.json" >> "$work/where.tsv" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(r["polls"], r["max_target_pause_ms"] or 0, r["interval_s"], r["max_poll_ms"])
PY
    done
    # Every poll's pause, for the median: from the counters again, outside
    # the throughput rounds (same service, same heap).
    "$repo/target/release/examples/jvm_poll_cost" "$svc" "$HISTOGRAM" 9 2000 > "$work/cost.txt" 2>/dev/null || true
    ra=$(printf '%s\n' "${without[@]}" | median)
    rb=$(printf '%s\n' "${with[@]}" | median)
    la=$(printf '%s\n' "${p99a[@]}" | median)
    lb=$(printf '%s\n' "${p99b[@]}" | median)
    polls=$(awk '{s+=$1} END {print s}' "$work/where.tsv")
    maxp=$(awk '{if ($2>m) m=$2} END {print m}' "$work/where.tsv")
    ival=$(awk '{print $3}' "$work/where.tsv" | median)
    medp=$(awk '/pause median/ {print $4}' "$work/cost.txt")
    printf '%8s %12.0f %12.0f %8.3f %9.1fms %9.1fms %9s %9.1fs %8sms %6.0fms\n' \
        "$mb" "$ra" "$rb" "$(awk -v a="$ra" -v b="$rb" 'BEGIN{print b/a}')" "$la" "$lb" "$polls" "$ival" "${medp:-?}" "$maxp"
    rm -f "$work/where.tsv"
    kill "$svc"; wait "$svc" 2>/dev/null || true; svc=""
done
printf '\nratio: median requests/s with where over without (goal: >= 0.95).\n'
printf 'pause: time at safepoints during a poll (sun.rt.safepointTime), median of 9 polls 2 s apart and longest over the rounds.\n'
