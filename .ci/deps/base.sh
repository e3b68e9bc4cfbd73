#!/usr/bin/env bash
# What the foundation's tests need: Python 3, Node and a C compiler to run the
# example programs under `leakwatch run`.
set -euo pipefail
need=()
command -v python3 >/dev/null || need+=(python3)
command -v node >/dev/null || need+=(nodejs)
command -v cc >/dev/null || need+=(gcc libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}"
fi
