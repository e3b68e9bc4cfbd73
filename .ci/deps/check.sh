#!/usr/bin/env bash
# Dependencies of `leakwatch check`'s tests: only a C compiler, which the
# tree-sitter grammar crates need at build time. The linters compared in
# bench/check/anchors.sh are benchmark-only and are not installed here.
set -euo pipefail
if ! command -v cc >/dev/null 2>&1; then
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq gcc libc6-dev
fi
