#!/usr/bin/env bash
# What `leakwatch diff` / `snapshot` tests need: Node (present on the machine
# image; installed here if missing) for V8 heap snapshots and the inspector,
# Go from Debian (stdlib only) for pprof fixtures, and OpenJDK 17 (javac,
# java, jcmd, jmap) for the HPROF heap-dump tests. Idempotent.
set -euo pipefail
need=()
command -v go >/dev/null 2>&1 || need+=(golang-go)
command -v node >/dev/null 2>&1 || need+=(nodejs)
for tool in javac jcmd jmap; do
  command -v "$tool" >/dev/null 2>&1 || { need+=(openjdk-17-jdk-headless); break; }
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}"
fi
go version
node --version
java -version 2>&1 | head -n 1
