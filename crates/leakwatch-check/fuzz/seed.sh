#!/usr/bin/env bash
# Seeds the fuzz corpus with the labelled test corpus; the first byte of each
# input picks the grammar (see fuzz_targets/check_source.rs).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/check_source
i=0
for f in ../tests/corpus/*/*; do
  case "$f" in
    *.py) b='\x00' ;; *.js) b='\x01' ;; *.ts) b='\x02' ;; *.tsx) b='\x03' ;; *.go) b='\x04' ;; *.java) b='\x05' ;; *) continue ;;
  esac
  i=$((i + 1))
  { printf "$b"; cat "$f"; } > "corpus/check_source/seed$i"
done
echo "wrote $i seeds"
