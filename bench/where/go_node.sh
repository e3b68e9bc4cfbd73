#!/usr/bin/env bash
# Cost of `where` polling to a Go and a Node HTTP service (issue 12):
# throughput (wrk) with and without a session polling at the default
# interval (2 s), side by side in alternating rounds, medians; and the
# longest pause a poll causes in the target, read from inside it (Go: how
# late a goroutine that sleeps 1 ms wakes; Node: perf_hooks event-loop
# delay), under load and idle.
#
#   bench/where/go_node.sh                       # 10 rounds of 10 s per arm
#   ROUNDS=3 ARM=20 CONNS=32 bench/where/go_node.sh
#   RUNTIMES=node bench/where/go_node.sh
#
# The poller is the leakwatch-where library driven by the ignored test
# go_node_bench_poller (the `leakwatch where` command drives the same
# Session). Needs go (golang-go), node and wrk.
set -euo pipefail
ROUNDS=${ROUNDS:-10}
ARM=${ARM:-10}
IDLE=${IDLE:-20}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}
INTERVAL_MS=${INTERVAL_MS:-2000}
RUNTIMES=${RUNTIMES:-"go node"}
# The service, wrk and the poller run at a higher priority than the rest of
# a shared machine (as root), the same in both arms: less noise, same ratio.
NICE=${NICE:--5}
run=()
[ "$(id -u)" = 0 ] && run=(nice -n "$NICE")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
for tool in go node wrk; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install golang-go nodejs wrk)"; exit 2; }
done

poller=$(cargo test --release -p leakwatch-where --test go_node_bench_poller --no-run \
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
        go) "${run[@]}" "$work/go_service" > "$work/port" & ;;
        node) "${run[@]}" node --inspect-port=0 "$here/go_node_service.js" > "$work/port" 2> "$work/node.err" & ;;
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
    LEAKWATCH_BENCH_INTERVAL_MS=$INTERVAL_MS LEAKWATCH_BENCH_SAMPLING=${SAMPLING:-} \
        "${run[@]}" "$poller" --ignored --exact poll_for_the_benchmark --nocapture > "$work/poller.out" 2>&1 &
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

# The target's CPU time so far, in clock ticks (all its threads).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$service_pid/stat"; }
ticks_per_s=$(getconf CLK_TCK)

# One wrk arm: prints "req_per_s p99_ms max_ms max_delay_ms cpu_us_per_req".
# CPU per request is the robust figure on a shared machine: throughput
# moves with what other processes do, the target's own CPU time per
# request much less (and a CPU-bound service's throughput is its inverse).
arm() {
    curl -s "http://127.0.0.1:$port/stats" > /dev/null
    local c0 c1
    c0=$(cpu_ticks)
    "${run[@]}" wrk -t "$THREADS" -c "$CONNS" -d "${ARM}s" --latency "http://127.0.0.1:$port/work" > "$work/wrk.out"
    c1=$(cpu_ticks)
    local rps p99 max delay reqs cpu
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.out")
    reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out" | to_ms)
    max=$(awk '$1 == "Latency" && NF >= 4 {print $4; exit}' "$work/wrk.out" | to_ms)
    delay=$(curl -s "http://127.0.0.1:$port/stats" | awk '{printf "%.2f", $1/1000}')
    cpu=$(awk -v a="$c0" -v b="$c1" -v n="$reqs" -v k="$ticks_per_s" 'BEGIN {printf "%.2f", (b - a) / k * 1e6 / n}')
    echo "$rps $p99 $max $delay $cpu"
}

# Idle pauses, measured precisely: the service's threads run SCHED_FIFO
# for the measurement (root only), so other processes on a shared machine
# cannot delay its 1 ms wake-ups; what is left is what the service itself
# does, a poll's pause included. The service is idle: it uses ~1 % CPU.
realtime() { [ "$(id -u)" = 0 ] && command -v chrt >/dev/null && chrt -a -f -p 10 "$service_pid" > /dev/null; }
normal() { [ "$(id -u)" = 0 ] && command -v chrt >/dev/null && chrt -a -o -p 0 "$service_pid" > /dev/null; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) {print "-"; exit}; if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo "where polling cost: $ROUNDS rounds x 2 arms x ${ARM}s, wrk -t$THREADS -c$CONNS, poll every ${INTERVAL_MS} ms"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for rt in $RUNTIMES; do
    echo
    echo "== $rt =="
    : > "$work/off"; : > "$work/on"; : > "$work/polls.$rt"; : > "$work/polls.$rt-idle"
    start_service "$rt"
    wrk -t "$THREADS" -c "$CONNS" -d 10s "http://127.0.0.1:$port/work" > /dev/null   # warm-up
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) -eq 1 ]; then order="off on"; else order="on off"; fi
        for a in $order; do
            if [ "$a" = on ]; then start_poller "$rt" $((ARM + 3)); fi
            line=$(arm)
            echo "$line" >> "$work/$a"
            printf '  round %d %-3s req/s %10s  p99 %7s ms  max %8s ms  longest delay %8s ms  CPU/request %6s us\n' "$r" "$a" $line
            if [ "$a" = on ]; then wait_poller "$rt"; fi
        done
    done
    off_rps=$(awk '{print $1}' "$work/off" | median); on_rps=$(awk '{print $1}' "$work/on" | median)
    ratios=$(paste "$work/off" "$work/on" | awk '{printf "%.4f\n", $6/$1}' | median)
    cpu_ratios=$(paste "$work/off" "$work/on" | awk '{printf "%.4f\n", $10/$5}' | median)
    echo "  median req/s: off $off_rps, on $on_rps; median of per-round on/off ratios: $ratios"
    echo "  median CPU per request us: off $(awk '{print $5}' "$work/off" | median), on $(awk '{print $5}' "$work/on" | median); median of per-round on/off ratios: $cpu_ratios"
    echo "  median p99 ms: off $(awk '{print $2}' "$work/off" | median), on $(awk '{print $2}' "$work/on" | median)"
    echo "  median max latency ms: off $(awk '{print $3}' "$work/off" | median), on $(awk '{print $3}' "$work/on" | median)"
    echo "  median longest delay in the target ms: off $(awk '{print $4}' "$work/off" | median), on $(awk '{print $4}' "$work/on" | median)"
    echo "  poll wall ms: median $(median < "$work/polls.$rt"), max $(sort -g "$work/polls.$rt" | tail -1)"
    # Idle: the pause a poll itself causes, without wrk's contention.
    realtime || true
    curl -s "http://127.0.0.1:$port/stats" > /dev/null; sleep "$IDLE"
    idle_off=$(curl -s "http://127.0.0.1:$port/stats" | awk '{printf "%.2f", $1/1000}')
    start_poller "$rt" "$IDLE"
    curl -s "http://127.0.0.1:$port/stats" > /dev/null
    wait_poller "$rt-idle"
    idle_on=$(curl -s "http://127.0.0.1:$port/stats" | awk '{printf "%.2f", $1/1000}')
    normal || true
    echo "  idle (service SCHED_FIFO if root), longest delay in the target over ${IDLE}s ms: without polling $idle_off, with polling $idle_on"
    echo "  idle poll wall ms: median $(median < "$work/polls.$rt-idle"), max $(sort -g "$work/polls.$rt-idle" | tail -1)"
    if [ "$rt" = node ] && command -v ss >/dev/null; then
        echo "  node's listening sockets after the sessions (the inspector must be closed again):"
        ss -Hltnp | grep "pid=$service_pid," | awk '{print "    " $4}'
    fi
    stop_service
done
