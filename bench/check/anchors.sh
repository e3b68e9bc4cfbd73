#!/usr/bin/env bash
# Side by side on the labelled corpus (crates/leakwatch-check/tests/corpus):
# leakwatch check vs ruff (--select ALL), pylint, eslint 9 (recommended +
# react-hooks, + eslint-plugin-listeners and eslint-plugin-clean-timer),
# go vet, staticcheck, RuboCop (Debian rubocop, every cop enabled) and PHPMD
# (Debian phpmd, every rule set; Debian has neither phpstan nor psalm) with
# `php -l` checking that every PHP corpus file parses. Benchmark only: installs its anchors under
# $WORK (default /tmp/lw-anchors), never in CI.
#
# An anchor "catches" a labelled leaky line only when it flags that exact line
# with a rule whose reason is a leak (the mapping is in anchor_score.py next
# to this script and printed with the table). A false positive is a
# leak-related flag on a line that is not labelled leaky. Style findings are
# ignored: they do not claim a leak.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${1:-/tmp/lw-anchors}
CORPUS="$ROOT/crates/leakwatch-check/tests/corpus"
OUT="$WORK/out"
mkdir -p "$WORK/node" "$OUT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

# --- install anchors (idempotent) ---
# Each tool checked on its own: perf.sh shares the venv and installs ruff only.
[ -x "$WORK/venv/bin/python" ] || python3 -m venv "$WORK/venv"
[ -x "$WORK/venv/bin/ruff" ] || "$WORK/venv/bin/pip" install -q ruff
[ -x "$WORK/venv/bin/pylint" ] || "$WORK/venv/bin/pip" install -q pylint
if [ ! -x "$WORK/node/node_modules/.bin/eslint" ]; then
  (cd "$WORK/node" && npm init -y >/dev/null && npm install --silent eslint@9 @eslint/js@9 globals \
    eslint-plugin-react-hooks typescript-eslint typescript)
  (cd "$WORK/node" && npm install --silent eslint-plugin-listeners) || echo "eslint-plugin-listeners did not install"
  (cd "$WORK/node" && npm install --silent eslint-plugin-clean-timer) || echo "eslint-plugin-clean-timer did not install"
fi
command -v go >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq golang-go >/dev/null || true
command -v staticcheck >/dev/null || command -v go-staticcheck >/dev/null \
  || apt-get -o DPkg::Lock::Timeout=600 install -y -qq go-staticcheck >/dev/null || true
STATICCHECK=$(command -v staticcheck || command -v go-staticcheck || true)
command -v rubocop >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq rubocop >/dev/null || true
command -v phpmd >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq phpmd php-cli >/dev/null || true

# --- leakwatch ---
(cd "$ROOT" && cargo build -q --release -p leakwatch)
"$CARGO_TARGET_DIR/release/leakwatch" check "$CORPUS" --format json -o "$OUT/leakwatch.json" 2>/dev/null

# --- Python anchors ---
PY=$(find "$CORPUS" -name '*.py' | sort)
"$WORK/venv/bin/ruff" check --isolated --select ALL --output-format json $PY > "$OUT/ruff.json" 2>/dev/null
"$WORK/venv/bin/pylint" --output-format=json --disable=import-error $PY > "$OUT/pylint.json" 2>/dev/null

# --- eslint ---
cat > "$WORK/node/eslint.config.mjs" <<'JS'
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";
let listeners = null, cleanTimer = null;
try { listeners = (await import("eslint-plugin-listeners")).default; } catch {}
try { cleanTimer = (await import("eslint-plugin-clean-timer")).default; } catch {}
const plugins = { "react-hooks": reactHooks };
const rules = { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "warn" };
if (listeners) { plugins.listeners = listeners; Object.assign(rules, {
  "listeners/no-missing-remove-event-listener": "error",
  "listeners/matching-remove-event-listener": "error",
  "listeners/no-inline-function-event-listener": "error" }); }
if (cleanTimer) { plugins["clean-timer"] = cleanTimer; rules["clean-timer/assign-timer-id"] = "error"; }
export default [
  js.configs.recommended,
  { files: ["**/*.js"], languageOptions: { sourceType: "script", globals: { ...globals.browser, ...globals.node } } },
  ...tseslint.configs.recommended.map((c) => ({ ...c, files: ["**/*.ts", "**/*.tsx"] })),
  { files: ["**/*.ts", "**/*.tsx"], languageOptions: { parserOptions: { ecmaFeatures: { jsx: true } },
    globals: { ...globals.browser, ...globals.node } } },
  { plugins, rules },
];
JS
# eslint's flat config only covers files under its own directory: lint a copy.
rm -rf "$WORK/node/corpus" && cp -r "$CORPUS" "$WORK/node/corpus"
(cd "$WORK/node" && ./node_modules/.bin/eslint --no-ignore -f json corpus > "$OUT/eslint.json" 2>"$OUT/eslint.stderr")

# --- Go anchors: each corpus file as its own package in a scratch module ---
GOWORK="$WORK/gomod"; rm -rf "$GOWORK"; mkdir -p "$GOWORK"
(cd "$GOWORK" && printf 'module corpus\n\ngo 1.19\n' > go.mod)
: > "$OUT/govet.txt"; : > "$OUT/staticcheck.json"; : > "$OUT/go-map.txt"
for f in $(find "$CORPUS" -name '*.go' | sort); do
  pkg="p$(echo "$f" | md5sum | cut -c1-8)"
  mkdir -p "$GOWORK/$pkg"; cp "$f" "$GOWORK/$pkg/x.go"
  echo "$pkg $f" >> "$OUT/go-map.txt"
  if command -v go >/dev/null; then
    (cd "$GOWORK" && go vet "./$pkg" >> "$OUT/govet.txt" 2>&1)
  fi
  if [ -n "$STATICCHECK" ]; then
    (cd "$GOWORK" && "$STATICCHECK" -f json "./$pkg" >> "$OUT/staticcheck.json" 2>/dev/null)
  fi
done

# --- Ruby: RuboCop with every cop enabled (this RuboCop has no --enable-all) ---
RB=$(find "$CORPUS" -name '*.rb' | sort)
if command -v rubocop >/dev/null; then
  printf 'AllCops:\n  EnabledByDefault: true\n  NewCops: enable\n  SuggestExtensions: false\n' > "$WORK/rubocop.yml"
  rubocop --config "$WORK/rubocop.yml" --format json $RB > "$OUT/rubocop.json" 2>"$OUT/rubocop.stderr"
fi

# --- PHP: php -l (syntax) and PHPMD with every rule set ---
PHP=$(find "$CORPUS" -name '*.php' | sort)
: > "$OUT/php-lint.txt"
for f in $PHP; do php -l "$f" >> "$OUT/php-lint.txt" 2>&1; done
if command -v phpmd >/dev/null; then
  phpmd "$(echo $PHP | tr ' ' ',')" json cleancode,codesize,controversial,design,naming,unusedcode \
    > "$OUT/phpmd.json" 2>/dev/null
fi

python3 "$HERE/anchor_score.py" "$CORPUS" "$OUT" "$WORK/node/corpus"
