#!/usr/bin/env bash
# Agent overhead: `leakwatch watch` as the agent watching N processes at 1 Hz
# (metrics served, history stored), for DURATION seconds. Prints the agent's
# CPU and RSS over time; its RSS must stay flat once every target is open.
#
#   bench/agent/run.sh                 # 1000 processes, 300 s, --fast
#   N=1000 DURATION=1800 MODE=full bench/agent/run.sh
set -euo pipefail
N=${N:-1000}
DURATION=${DURATION:-300}
MODE=${MODE:-fast}          # fast: no smaps_rollup (PSS, swap); full: everything
STEP=${STEP:-15}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -q -p leakwatch --manifest-path "$repo/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/leakwatch
work=$(mktemp -d)
pids=()
cleanup() {
    [ -n "${agent:-}" ] && kill "$agent" 2>/dev/null || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# N idle processes, each its own target.
cfg=$work/agent.toml
echo 'interval = "1s"' > "$cfg"
for i in $(seq 1 "$N"); do
    sleep 100000 &
    pids+=($!)
    printf '[[target]]\nname = "p%d"\npid = %d\n' "$i" "$!" >> "$cfg"
done
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
flags=(watch --config "$cfg" --serve "127.0.0.1:$port" --store "$work/history.db" --json)
[ "$MODE" = fast ] && flags+=(--fast)
"$bin" "${flags[@]}" > "$work/events.jsonl" 2> "$work/agent.err" &
agent=$!
ticks=$(getconf CLK_TCK)
page=$(getconf PAGESIZE)
cpu_ticks() { awk '{print $14+$15}' "/proc/$agent/stat"; }
rss_mb() { awk -v p="$page" '{printf "%.1f", $2*p/1048576}' "/proc/$agent/statm"; }

printf 'agent watching %d processes at 1 Hz (%s mode) for %ds\n\n' "$N" "$MODE" "$DURATION"
printf '%8s %10s %10s %12s %10s\n' "t (s)" "RSS (MB)" "CPU (%)" "store (MB)" "scrape ms"
start=$(date +%s.%N)
last_t=$start; last_c=$(cpu_ticks)
first_rss=""; rss_values=()
for ((t = STEP; t <= DURATION; t += STEP)); do
    sleep "$STEP"
    kill -0 "$agent" 2>/dev/null || { echo "agent died:"; cat "$work/agent.err"; exit 1; }
    now=$(date +%s.%N); c=$(cpu_ticks)
    cpu=$(awk -v c="$c" -v lc="$last_c" -v n="$now" -v l="$last_t" -v k="$ticks" 'BEGIN{printf "%.1f", 100*(c-lc)/k/(n-l)}')
    last_t=$now; last_c=$c
    rss=$(rss_mb)
    store=$(du -cm "$work"/history.db* 2>/dev/null | tail -1 | cut -f1)
    s0=$(date +%s%N); curl -s "http://127.0.0.1:$port/metrics" > /dev/null; s1=$(date +%s%N)
    printf '%8d %10s %10s %12s %10d\n' "$t" "$rss" "$cpu" "$store" $(( (s1 - s0) / 1000000 ))
    rss_values+=("$rss")
done
total_cpu=$(awk -v c="$(cpu_ticks)" -v k="$ticks" -v d="$DURATION" 'BEGIN{printf "%.1f", 100*c/k/d}')
n=${#rss_values[@]}
echo
echo "mean CPU over the run: ${total_cpu}% of one core"
if [ "$n" -ge 3 ]; then
    echo "RSS after the first step: ${rss_values[1]} MB; at the end: ${rss_values[$((n-1))]} MB"
fi
echo "samples scraped: $(curl -s "http://127.0.0.1:$port/metrics" | grep -c '^leakwatch_memory_bytes')" "memory series"
