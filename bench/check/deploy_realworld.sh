#!/usr/bin/env bash
# `leakwatch check` on deployment files nobody here wrote: the systemd units
# shipped by Debian packages on this machine (/lib/systemd/system, plus
# php8.2-fpm, uwsgi, gunicorn and puma installed for their units and pool
# files), and the Dockerfiles, compose files, Kubernetes manifests and Helm
# charts inside registry packages (npm: dockerode-compose, generator-jvm;
# PyPI wheels: apache-airflow-providers-cncf-kubernetes, dask-kubernetes).
# Prints findings per file kind and per file, and writes every finding to
# $WORK/findings.txt for review by hand (bench/check/REVIEW.md).
#
# Usage: bench/check/deploy_realworld.sh [WORKDIR]  (default /tmp/lw-deploy-real)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/lw-deploy-real}
mkdir -p "$WORK/npm" "$WORK/pypi" "$WORK/debian"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p leakwatch
LW="$CARGO_TARGET_DIR/release/leakwatch"

for p in php8.2-fpm uwsgi gunicorn puma; do
  dpkg -s "$p" >/dev/null 2>&1 || apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$p" >/dev/null
done
# Units and worker settings as Debian ships them.
rm -rf "$WORK/debian" && mkdir -p "$WORK/debian/units" "$WORK/debian/etc"
cp -L /lib/systemd/system/*.service "$WORK/debian/units/" 2>/dev/null || true
cp -rL /etc/php/*/fpm/pool.d "$WORK/debian/etc/php-fpm-pool.d" 2>/dev/null || true
cp -rL /usr/share/doc/uwsgi/examples "$WORK/debian/etc/uwsgi-examples" 2>/dev/null || true

for p in dockerode-compose@1.4.0 generator-jvm@1.18.99; do
  name=${p%@*}
  [ -d "$WORK/npm/$name" ] && continue
  mkdir -p "$WORK/npm/$name"
  (cd "$WORK/npm" && npm pack --silent "$p" >/dev/null && tar -xzf "$name"-*.tgz -C "$name")
done
for p in apache-airflow-providers-cncf-kubernetes==8.0.0 dask-kubernetes==2024.1.0; do
  name=${p%==*}
  [ -d "$WORK/pypi/$name" ] && continue
  (cd "$WORK/pypi" && pip download -q --no-deps --only-binary :all: "$p" \
    && unzip -q -o "$(ls -t ./*.whl | head -1)" -d "$name")
done

set +e
"$LW" check "$WORK/debian" "$WORK/npm" "$WORK/pypi" \
  --select memory-limit-missing,heap-cap-mismatch,workers-not-recycled,no-restart-policy,no-liveness-probe \
  --format json -o "$WORK/deploy.json"
code=$?
"$LW" check "$WORK/debian" "$WORK/npm" "$WORK/pypi" \
  --select memory-limit-missing,heap-cap-mismatch,workers-not-recycled,no-restart-policy,no-liveness-probe \
  > "$WORK/findings.txt" 2>&1
set -e
if [ "$code" -ge 2 ]; then echo "error or lost files (exit $code)"; fi
python3 - "$WORK/deploy.json" "$WORK" <<'PY'
import json, os, sys
from collections import Counter, defaultdict
r = json.load(open(sys.argv[1])); work = sys.argv[2]
def kind(p):
    b = os.path.basename(p).lower()
    if "dockerfile" in b: return "dockerfile"
    if b.endswith(".service") or "/units/" in p: return "systemd"
    if "pool.d" in p or b.endswith(".ini"): return "worker config"
    if "compose" in p or "/npm/dockerode" in p: return "compose"
    return "kubernetes/yaml"
per_file = defaultdict(list)
for f in r["findings"]:
    per_file[f["path"]].append(f["rule"])
files = []
for root in ("debian", "npm", "pypi"):
    for d, _, fs in os.walk(os.path.join(work, root)):
        for f in fs:
            p = os.path.join(d, f)
            b = f.lower()
            if b.endswith((".yaml", ".yml", ".service", ".ini", ".conf")) or "dockerfile" in b:
                files.append(p)
by_kind = defaultdict(lambda: [0, 0, 0])
for p in files:
    k = kind(p); by_kind[k][0] += 1
    n = len(per_file.get(p, []))
    by_kind[k][1] += n; by_kind[k][2] += n > 0
print(f"{'kind':<18} {'files':>6} {'findings':>9} {'per file':>9} {'files flagged':>14}")
for k, (n, f, flagged) in sorted(by_kind.items()):
    print(f"{k:<18} {n:>6} {f:>9} {f/max(n,1):>9.2f} {flagged:>14}")
print("by rule:", dict(Counter(f["rule"] for f in r["findings"])))
print(f"skipped: {len(r['summary']['skipped'])} ({dict(Counter(s['reason'] for s in r['summary']['skipped']))})")
PY
echo "findings written to $WORK/findings.txt"
