#!/usr/bin/env bash
# Python frames and attach (issue 11): tests use pyenv's CPython 3.8-3.13
# builds (with their headers, for the C extension test), gcc, a static libc
# (libc6-dev) for the static-binary refusal, strace for the already-traced
# refusal and setpriv (util-linux) for the other-user refusal; the
# benchmark compares with PyPI memray.
set -euo pipefail
apt-get install -y --no-install-recommends gcc libc6-dev strace util-linux
python3 -m pip install --quiet memray
