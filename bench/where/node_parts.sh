#!/usr/bin/env bash
# Which part of a Node `where` session costs the service: the benchmark
# service of go_node.sh with a preloaded script (node_parts_preload.js) that
# sets up one part in-process (no leakwatch, no WebSocket): nothing, the
# inspector open, a session connected, sampling, sampling polled every 2 s.
# Prints the service's CPU time per request under wrk for each, per round.
#
#   bench/where/node_parts.sh            # 3 rounds of 10 s per mode
set -euo pipefail
ROUNDS=${ROUNDS:-3}
ARM=${ARM:-10}
here=$(cd "$(dirname "$0")" && pwd)
for tool in node wrk; do command -v "$tool" >/dev/null || { echo "needs $tool"; exit 2; }; done
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
tck=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
  for mode in none open session sampling sampling_poll; do
    MODE=$mode node -r "$here/node_parts_preload.js" "$here/go_node_service.js" > "$work/port" 2>/dev/null &
    pid=$!
    for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
    port=$(cat "$work/port")
    wrk -t1 -c16 -d4s "http://127.0.0.1:$port/work" > /dev/null
    c0=$(awk '{print $14+$15}' "/proc/$pid/stat")
    wrk -t1 -c16 -d"${ARM}s" "http://127.0.0.1:$port/work" > "$work/wrk.out"
    c1=$(awk '{print $14+$15}' "/proc/$pid/stat")
    reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
    printf 'round %s %-14s req/s %10s  CPU/request %s us\n' "$r" "$mode" "$rps" \
      "$(awk -v a="$c0" -v b="$c1" -v n="$reqs" -v k="$tck" 'BEGIN{printf "%.2f", (b-a)/k*1e6/n}')"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; rm -f "$work/port"
  done
done
