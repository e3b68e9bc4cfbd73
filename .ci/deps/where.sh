#!/usr/bin/env bash
# What `leakwatch where`'s tests and benchmark need: OpenJDK 17 (java, javac;
# jcmd for the fallback) for the JVM service the tests compile, Go (the
# standard library only: no module proxy) and Node for the Go and Node
# services, Ruby and Python 3 for the `where -- CMD` tests, setpriv
# (util-linux) to run a process as another user, and wrk for bench/where.
# Idempotent.
set -euo pipefail
need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v go >/dev/null 2>&1 || need+=(golang-go)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v ruby >/dev/null 2>&1 || need+=(ruby)
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}"
fi
