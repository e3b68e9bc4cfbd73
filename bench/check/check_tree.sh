# Sourced by realworld.sh and heldout_ruby_php.sh: checks one tree with
# $LW into $WORK, stops the script on a crash or an error (exit 2), prints
# one table row (tree files lines findings per_kLOC skipped partial exit) and
# writes the findings as text to $WORK/findings-NAME.txt for review.
# After it returns, CHECKED_LINES and CHECKED_FINDINGS hold the tree's counts.

check_tree_header() {
  printf '%-26s %6s %9s %9s %9s %8s %7s %5s\n' tree files lines findings per_kLOC skipped partial exit
}

check_tree() { # name dir
  local name=$1 dir=$2 code
  set +e
  "$LW" check "$dir/" --format json -o "$WORK/$name.json" 2>"$WORK/$name.stderr"
  code=$?
  set -e
  if [ "$code" -ge 2 ] || grep -q panicked "$WORK/$name.stderr"; then
    echo "CRASH or error on $name (exit $code):"; cat "$WORK/$name.stderr"; exit 1
  fi
  read -r CHECKED_LINES CHECKED_FINDINGS < <(python3 - "$WORK/$name.json" "$name" "$code" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = r["summary"]
n = len(r["findings"]); lines = s["lines_checked"]
print(f'{sys.argv[2]:<26} {s["files_checked"]:>6} {lines:>9} {n:>9} {1000*n/max(lines,1):>9.3f} {len(s["skipped"]):>8} {len(s["parse_errors"]):>7} {sys.argv[3]:>5}', file=sys.stderr)
print(lines, n)
PY
)
  "$LW" check "$dir/" > "$WORK/findings-$name.txt" 2>&1 || true
}
