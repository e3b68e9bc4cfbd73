#!/usr/bin/env bash
# What the foundation's tests need: Python 3, Node and a C compiler to run the
# example programs under `leakwatch run`, and wrk for the soak-gate test.
set -euo pipefail
need=()
command -v python3 >/dev/null || need+=(python3)
command -v node >/dev/null || need+=(nodejs)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v wrk >/dev/null || need+=(wrk)
command -v setpriv >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}"
fi
