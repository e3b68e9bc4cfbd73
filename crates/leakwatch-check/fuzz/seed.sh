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

# Deployment files: the first byte picks the kind (see
# fuzz_targets/deploy_files.rs: 0 yaml, 1 dockerfile, 2 systemd, 3 ini,
# 4 gunicorn, 5 pm2, 6 ruby server, 7 procfile).
mkdir -p corpus/deploy_files
j=0
while IFS= read -r -d '' f; do
  case "$f" in
    *.yaml|*.yml|*manifest*) b='\x00' ;;
    *Dockerfile*) b='\x01' ;;
    *.service) b='\x02' ;;
    *.ini|*.conf) b='\x03' ;;
    *gunicorn*) b='\x04' ;;
    *ecosystem*) b='\x05' ;;
    *puma.rb|*unicorn.rb) b='\x06' ;;
    *Procfile) b='\x07' ;;
    *) continue ;;
  esac
  j=$((j + 1))
  { printf "$b"; cat "$f"; } > "corpus/deploy_files/seed$j"
done < <(find ../tests/corpus-deploy -type f -print0)
echo "wrote $j deployment seeds"
