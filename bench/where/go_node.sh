#!/usr/bin/env bash
# Cost of `where` polling to a Go and a Node HTTP service (issue 12):
# throughput (wrk) with and without a session polling at the default
# interval (2 s), side by side in alternating rounds, medians; and the
# longest pause a poll causes in the target, read from inside it (Go: how
# late a goroutine that sleeps 1 ms wakes; Node: perf_hooks event-loop
# delay), under load and idle.
#
#   bench/where/go_node.sh                       # 5 rounds of 15 s per arm
#   ROUNDS=3 ARM=20 CONNS=32 bench/where/go_node.sh
#   RUNTIMES=node bench/where/go_node.sh
#
# The poller is the leakwatch-where library driven by the ignored test
# go_node_bench_poller (the `leakwatch where` command drives the same
# Session). Needs go (golang-go), node and wrk.
set -euo pipefail
ROUNDS=${ROUNDS:-5}
ARM=${ARM:-15}
IDLE=${IDLE:-20}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}
INTERVAL_MS=${INTERVAL_MS:-2000}
RUNTIMES=${RUNTIMES:-"go node"}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
for tool in go node wrk; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install golang-go nodejs wrk)"; exit 2; }
done

poller=$(cargo test --release -q -p leakwatch-where --test go_node_bench_poller --no-run \
    --manifest-path "$repo/Cargo.toml" 2>&1 | sed -n 's/.*(\(.*go_node_bench_poller-[0-9a-f]*\)).*/\1/p' | tail -1)
[ -x "$poller" ] || poller=$repo/$poller
[ -x "$poller" ] || { echo "cannot find the poller binary"; exit 2; }

work=$(mktemp -d)
service_pid=""
poller_pid=""
cleanup() {
    [ -n "$poller_pid" ] && kill "$poller_pid" 2>/dev/null || true
    [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && cp "$here/go_node_service.go" main.go && printf 'module bench\n\ngo 1.19\n' > go.mod \
    && GOPROXY=off GOFLAGS=-mod=mod go build -o go_service . )

start_service() {
    case $1 in
        go) "$work/go_service" > "$work/port" & ;;
        node) node --inspect-port=0 "$here/go_node_service.js" > "$work/port" & ;;
    esac
    service_pid=$!
    for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
    port=$(head -1 "$work/port")
}

stop_service() {
    kill "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
    service_pid=""
    rm -f "$work/port"
}

# Starts a polling session of $2 seconds on the service ($1: go or node).
start_poller() {
    LEAKWATCH_BENCH_PID=$service_pid LEAKWATCH_BENCH_RUNTIME=$1 LEAKWATCH_BENCH_SECONDS=$2 \
    LEAKWATCH_BENCH_INTERVAL_MS=$INTERVAL_MS \
        "$poller" --ignored --exact poll_for_the_benchmark --nocapture > "$work/poller.out" 2>&1 &
    poller_pid=$!
    # Let it open the source (Node: SIGUSR1, inspector, sampling) first.
    for _ in $(seq 100); do grep -q '^poll ' "$work/poller.out" 2>/dev/null && break; sleep 0.1; done
}

wait_poller() {
    wait "$poller_pid" || { echo "poller failed:"; cat "$work/poller.out"; exit 1; }
    poller_pid=""
    grep '^poll ' "$work/poller.out" | awk '{print $2}' >> "$work/polls.$1"
    grep '^summary' "$work/poller.out" | sed 's/^summary /  poller: /'
}

to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}'; }

# One wrk arm: prints "req_per_s p99_ms max_ms max_delay_ms".
arm() {
    curl -s "http://127.0.0.1:$port/stats" > /dev/null
    wrk -t "$THREADS" -c "$CONNS" -d "${ARM}s" --latency "http://127.0.0.1:$port/work" > "$work/wrk.out"
    local rps p99 max delay
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out" | to_ms)
    max=$(awk '$1 == "Latency" && NF >= 4 {print $4; exit}' "$work/wrk.out" | to_ms)
    delay=$(curl -s "http://127.0.0.1:$port/stats" | awk '{printf "%.2f", $1/1000}')
    echo "$rps $p99 $max $delay"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) {print "-"; exit}; if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo "where polling cost: $ROUNDS rounds x 2 arms x ${ARM}s, wrk -t$THREADS -c$CONNS, poll every ${INTERVAL_MS} ms"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for rt in $RUNTIMES; do
    echo
    echo "== $rt =="
    : > "$work/off"; : > "$work/on"; : > "$work/polls.$rt"
    start_service "$rt"
    wrk -t "$THREADS" -c "$CONNS" -d 5s "http://127.0.0.1:$port/work" > /dev/null   # warm-up
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) -eq 1 ]; then order="off on"; else order="on off"; fi
        for a in $order; do
            if [ "$a" = on ]; then start_poller "$rt" $((ARM + 3)); fi
            line=$(arm)
            echo "$line" >> "$work/$a"
            printf '  round %d %-3s req/s %10s  p99 %7s ms  max %8s ms  longest delay %8s ms\n' "$r" "$a" $line
            if [ "$a" = on ]; then wait_poller "$rt"; fi
        done
    done
    off_rps=$(awk '{print $1}' "$work/off" | median); on_rps=$(awk '{print $1}' "$work/on" | median)
    ratios=$(paste "$work/off" "$work/on" | awk '{printf "%.4f\n", $5/$1}' | median)
    echo "  median req/s: off $off_rps, on $on_rps; median of per-round on/off ratios: $ratios"
    echo "  median p99 ms: off $(awk '{print $2}' "$work/off" | median), on $(awk '{print $2}' "$work/on" | median)"
    echo "  median max latency ms: off $(awk '{print $3}' "$work/off" | median), on $(awk '{print $3}' "$work/on" | median)"
    echo "  median longest delay in the target ms: off $(awk '{print $4}' "$work/off" | median), on $(awk '{print $4}' "$work/on" | median)"
    echo "  poll wall ms: median $(median < "$work/polls.$rt"), max $(sort -g "$work/polls.$rt" | tail -1)"
    # Idle: the pause a poll itself causes, without wrk's contention.
    curl -s "http://127.0.0.1:$port/stats" > /dev/null; sleep "$IDLE"
    idle_off=$(curl -s "http://127.0.0.1:$port/stats" | awk '{printf "%.2f", $1/1000}')
    start_poller "$rt" "$IDLE"
    curl -s "http://127.0.0.1:$port/stats" > /dev/null
    wait_poller "$rt-idle"
    idle_on=$(curl -s "http://127.0.0.1:$port/stats" | awk '{printf "%.2f", $1/1000}')
    echo "  idle, longest delay in the target over ${IDLE}s ms: without polling $idle_off, with polling $idle_on"
    if [ "$rt" = node ] && command -v ss >/dev/null; then
        echo "  node's listening sockets after the sessions (the inspector must be closed again):"
        ss -Hltnp | grep "pid=$service_pid," | awk '{print "    " $4}'
    fi
    stop_service
done
