#!/usr/bin/env bash
# What the `--html` tests need: Debian's Chromium, which renders each page
# headless (a screenshot that must not be blank, a script that must run).
# The pages themselves need nothing: they are self-contained.
set -euo pipefail
if ! [ -x /usr/bin/chromium ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium
fi
/usr/bin/chromium --version 2>/dev/null || true
