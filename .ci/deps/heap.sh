#!/usr/bin/env bash
# What `leakwatch diff` / `snapshot` tests need: Node (present on the machine
# image; installed here if missing) for V8 heap snapshots and the inspector,
# and Go from Debian (stdlib only) for pprof fixtures. Idempotent.
set -euo pipefail
need=()
command -v go >/dev/null 2>&1 || need+=(golang-go)
command -v node >/dev/null 2>&1 || need+=(nodejs)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}"
fi
go version
node --version
