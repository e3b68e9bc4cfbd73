#!/usr/bin/env bash
# The /metrics endpoint under a flood of half-open connections, side by side
# with an anchor build (default: the leakwatch on PATH, or ANCHOR=path; e.g.
# the main branch's binary, whose endpoint spawned a thread per connection).
# For each binary: threads and RSS of the agent before and during IDLE idle
# connections, and the median and worst latency of SCRAPES scrapes made
# during the flood (each scrape a fresh connection, like Prometheus).
#
#   ANCHOR=/work/main/target/release/leakwatch bench/agent/serve_flood.sh
#   IDLE=2000 SCRAPES=50 bench/agent/serve_flood.sh
set -euo pipefail
IDLE=${IDLE:-500}
SCRAPES=${SCRAPES:-30}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -q -p leakwatch --manifest-path "$repo/Cargo.toml"
ours=$CARGO_TARGET_DIR/release/leakwatch
anchor=${ANCHOR:-$(command -v leakwatch || true)}
ulimit -n 65536 2>/dev/null || true
started=()
cleanup() {
    for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

measure() { # name binary
    local name=$1 bin=$2
    sleep 100000 </dev/null >/dev/null 2>&1 &
    local target=$!
    started+=("$target")
    local port
    port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    "$bin" watch --pid "$target" --serve "127.0.0.1:$port" --interval 1s </dev/null >/dev/null 2>&1 &
    local agent=$!
    started+=("$agent")
    for _ in $(seq 100); do
        python3 -c "import socket;socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
        sleep 0.1
    done
    python3 - "$name" "$agent" "$port" "$IDLE" "$SCRAPES" <<'PY'
import os, socket, statistics, sys, time
name, agent, port, idle, scrapes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def threads(): return len(os.listdir(f"/proc/{agent}/task"))
def rss_mib():
    with open(f"/proc/{agent}/statm") as f: return int(f.read().split()[1]) * 4096 / 2**20
def scrape():
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), 30)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200"), data[:40]
    return (time.perf_counter() - t) * 1000
time.sleep(1)
t0, r0 = threads(), rss_mib()
calm = [scrape() for _ in range(scrapes)]
conns = []
for _ in range(idle):
    try: conns.append(socket.create_connection(("127.0.0.1", port), 2))
    except OSError: break
time.sleep(1)
t1, r1 = threads(), rss_mib()
lat = []
for _ in range(scrapes):
    try: lat.append(scrape())
    except Exception as e: lat.append(float("inf"))
t2 = threads()
print(f"{name:<8} threads {t0:>4} -> {max(t1, t2):>4} with {len(conns)} idle conns | RSS {r0:6.1f} -> {r1:6.1f} MiB | "
      f"scrape ms calm median {statistics.median(calm):6.2f} | flood median {statistics.median(lat):7.2f} worst {max(lat):8.2f}")
PY
    kill "$agent" "$target" 2>/dev/null || true
    wait "$agent" "$target" 2>/dev/null || true
}

if [ -n "$anchor" ] && [ -x "$anchor" ]; then
    measure anchor "$anchor"
else
    echo "no anchor binary (set ANCHOR=path to compare)"
fi
measure ours "$ours"
