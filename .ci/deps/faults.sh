#!/usr/bin/env bash
# What the fault suite (crates/leakwatch/tests/faults.rs) needs: a C compiler
# for the hostile programs it traces, gzip for the crafted pprof profiles,
# mkfifo (coreutils) and Node for the heap snapshot cases. The fuzz runs
# (docs/security.md) are not part of CI; they need `cargo install cargo-fuzz`.
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v gzip >/dev/null || need+=(gzip)
command -v mkfifo >/dev/null || need+=(coreutils)
command -v node >/dev/null || need+=(nodejs)
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}"
fi
