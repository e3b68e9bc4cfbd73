#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target for SECS seconds (default 60) with a
# 512 MB RSS limit, and prints one line per target: crate, target, exit
# status, inputs run, peak RSS (MB). Not part of .ci/run (see
# docs/security.md). Needs `cargo install cargo-fuzz`; stable Rust works with
# RUSTC_BOOTSTRAP=1. Without a sanitizer (-s none) the peak memory is the
# parser's own.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/fuzz}
SECS=${SECS:-60}
LOGS=${LOGS:-$ROOT/target/fuzz-logs}
mkdir -p "$LOGS"
status=0
for dir in crates/*/fuzz; do
  proj=$(basename "$(dirname "$dir")")
  cd "$ROOT/$dir" || continue
  [ -f seed.sh ] && bash seed.sh >/dev/null 2>&1
  if ! cargo fuzz build -s none -O > "$LOGS/build-$proj.log" 2>&1; then
    echo "$proj: build failed (see $LOGS/build-$proj.log)"; status=1; continue
  fi
  for t in $(cargo fuzz list); do
    mkdir -p "corpus/$t"
    seeds=(); [ -d "seeds/$t" ] && seeds=("seeds/$t")
    log="$LOGS/run-$proj-$t.log"
    cargo fuzz run -s none -O "$t" "corpus/$t" "${seeds[@]}" -- \
      -max_total_time="$SECS" -rss_limit_mb=512 -timeout=25 -print_final_stats=1 \
      > "$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || status=1
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    printf '%s\t%s\t%s\t%s\t%s\n' "$proj" "$t" "$rc" "${runs:-?}" "${rss:-?}"
  done
done
exit $status
