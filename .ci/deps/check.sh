#!/usr/bin/env bash
# Dependencies of `leakwatch check`'s tests: a C compiler, which the
# tree-sitter grammar crates need at build time, and python3 with jsonschema
# and rfc3987 (the URI format checkers) to validate the SARIF output against
# the SARIF 2.1.0 schema. The linters compared in bench/check/anchors.sh are
# benchmark-only and are not installed here.
set -euo pipefail
if ! command -v cc >/dev/null 2>&1; then
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq gcc libc6-dev
fi
if ! command -v python3 >/dev/null 2>&1; then
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3 python3-pip
fi
if ! python3 -c 'import jsonschema, rfc3987' >/dev/null 2>&1; then
  python3 -m pip install -q jsonschema rfc3987 \
    || python3 -m pip install -q --break-system-packages jsonschema rfc3987
fi
