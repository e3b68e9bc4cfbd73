#!/usr/bin/env bash
# Python frames and attach (issue 11): tests use pyenv's CPython 3.8-3.13
# builds (with their headers, for the C extension test), gcc, a static libc
# (libc6-dev) for the static-binary refusal, strace for the already-traced
# refusal and setpriv (util-linux) for the other-user refusal; the
# benchmark compares with PyPI memray. Only what is missing is installed:
# an `apt-get install` of present packages still configures any other
# package left half-installed on the machine, and fails with it.
set -euo pipefail
need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
command -v strace >/dev/null 2>&1 || need+=(strace)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
fi
python3 -c 'import memray' >/dev/null 2>&1 || python3 -m pip install --quiet memray
