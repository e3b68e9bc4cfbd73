#!/usr/bin/env bash
# What `leakwatch trace` tests need: C and C++ compilers to build the traced
# programs (rustc comes with the toolchain) and Go, whose `go tool pprof`
# cross-checks the pprof export.
set -euo pipefail
need=()
command -v gcc >/dev/null || need+=(gcc)
command -v g++ >/dev/null || need+=(g++)
command -v go >/dev/null || need+=(golang-go)
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update
  apt-get -o DPkg::Lock::Timeout=600 install -y "${need[@]}"
fi
