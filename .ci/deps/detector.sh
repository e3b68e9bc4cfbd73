#!/usr/bin/env bash
# Packages the detector's tests need: a real Prometheus server (the binary
# only: analyze_prometheus_restarts.rs starts it on loopback) and python3 for
# the exporters and leaky programs the tests write.
set -euo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}"
fi
