#!/usr/bin/env bash
# Lines per second of `leakwatch check` on a large real tree (Django from
# PyPI, ~180k lines of Python and JS), side by side with ruff and semgrep
# (local rule file) on the same tree. Median of 3 wall-clock runs each.
#
# Usage: bench/check/perf.sh [TREE]  (default: Django fetched by realworld.sh)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TREE=${1:-/tmp/leakwatch-realworld/Django}
VENV=${VENV:-/tmp/lw-anchors/venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[ -d "$TREE" ] || "$HERE/realworld.sh" >/dev/null
[ -x "$VENV/bin/ruff" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q ruff; }
[ -x "$VENV/bin/semgrep" ] || "$VENV/bin/pip" install -q semgrep || echo "semgrep not installable"
(cd "$ROOT" && cargo build -q --release -p leakwatch)
LW="$CARGO_TARGET_DIR/release/leakwatch"

RULES=$(mktemp --suffix=.yml)
cat > "$RULES" <<'YML'
rules:
  - id: open-without-with
    languages: [python]
    severity: WARNING
    message: open() outside a with block
    patterns:
      - pattern: $F = open(...)
      - pattern-not-inside: with ...
  - id: lru-cache-unbounded
    languages: [python]
    severity: WARNING
    message: unbounded lru_cache
    pattern: |
      @functools.lru_cache(maxsize=None)
      def $F(...): ...
  - id: set-interval-dropped
    languages: [javascript]
    severity: WARNING
    message: setInterval handle dropped
    pattern: setInterval(...);
YML

lines=$(find "$TREE/" -type f \( -name '*.py' -o -name '*.js' \) -print0 | xargs -0 cat | wc -l)
median() { python3 -c 'import sys; v=sorted(map(float, sys.argv[1:])); print(v[len(v)//2])' "$@"; }
timeit() { # label, command...
  local label=$1; shift
  local times=()
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    times+=("$(python3 -c "print($e-$s)")")
  done
  local m; m=$(median "${times[@]}")
  printf '%-34s %8.2f s %12.0f lines/s\n' "$label" "$m" "$(python3 -c "print($lines/$m)")"
}
echo "tree: $TREE ($lines lines of .py/.js), $(nproc) cores"
timeit "leakwatch check (10 rules)" "$LW" check "$TREE/" --format json
timeit "ruff check --select ALL" "$VENV/bin/ruff" check --isolated --select ALL --no-cache "$TREE/"
timeit "ruff check (default rules)" "$VENV/bin/ruff" check --isolated --no-cache "$TREE/"
if [ -x "$VENV/bin/semgrep" ]; then
  timeit "semgrep (3 local rules)" "$VENV/bin/semgrep" scan --metrics=off --disable-version-check --config "$RULES" "$TREE/"
fi
rm -f "$RULES"
