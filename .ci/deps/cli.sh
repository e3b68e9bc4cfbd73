#!/usr/bin/env bash
# What the CLI's conformance and hygiene tests need: python xmlschema (the
# JUnit report against Jenkins' XSD), bash/zsh/fish (shell completions), Go
# (`go tool pprof -top` on the pprof export, also in trace.sh), pandas (the
# CSV it writes, quoted fields and an index column, read by `analyze`).
set -euo pipefail
need=()
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import xmlschema' 2>/dev/null || need+=(python3-pip)
command -v zsh >/dev/null || need+=(zsh)
command -v fish >/dev/null || need+=(fish)
command -v go >/dev/null || need+=(golang-go)
if [ ${#need[@]} -gt 0 ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}"
fi
python3 -c 'import xmlschema' 2>/dev/null \
  || pip install --quiet --break-system-packages xmlschema \
  || pip install --quiet xmlschema
python3 -c 'import xmlschema'
python3 -c 'import pandas' 2>/dev/null \
  || pip install --quiet --break-system-packages pandas \
  || pip install --quiet pandas
python3 -c 'import pandas'
