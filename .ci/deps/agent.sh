#!/usr/bin/env bash
# Packages the agent's tests need: a real Prometheus server (only the binary;
# the tests start it themselves on loopback), a real Alertmanager for the
# alert payload, python3 and gcc for the test programs.
set -euo pipefail
need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${need[@]}"
fi
# The official Python client's OpenMetrics parser checks the agent's
# OpenMetrics exposition (promtool reads only the text format).
if ! python3 -c 'import prometheus_client' >/dev/null 2>&1; then
    python3 -m pip install -q --disable-pip-version-check prometheus-client
fi
