#!/usr/bin/env bash
# Issue 16's real-code measurement taken literally: `leakwatch check` over
# every Debian Ruby and PHP *library* tree that the earlier reviews
# extracted (not held out: rules were fixed on these trees), findings per
# 1,000 lines by language, and a seeded random sample of up to 40 Ruby and
# PHP code findings for review by hand (bench/check/REVIEW.md, "Debian's
# Ruby and PHP libraries with the rules of ...").
#
# Trees: realworld.sh's nine Ruby/PHP trees under RW, and the ruby-* and
# php-* package trees of held-out sets 33, 34 and 37 (heldout_ruby_php.sh
# -s 33|34|37 extracts them) under SETS/leakwatch-heldout{33,34,37}.
#
# Usage: [LW=leakwatch] bench/check/debian_libraries.sh [RW] [SETS] [WORK]
#   (defaults: /tmp/leakwatch-realworld /tmp /tmp/leakwatch-debian-libraries)
set -euo pipefail
cd "$(dirname "$0")/../.."
RW=${1:-/tmp/leakwatch-realworld}
SETS=${2:-/tmp}
WORK=${3:-/tmp/leakwatch-debian-libraries}
mkdir -p "$WORK/out"
if [ -z "${LW:-}" ]; then
  cargo build -q --release --offline -p leakwatch
  LW="${CARGO_TARGET_DIR:-target}/release/leakwatch"
fi
: > "$WORK/trees.txt"
for t in rack sinatra activesupport sidekiq guzzle laravel symfony-http-foundation symfony-console symfony-messenger; do
  [ -e "$RW/$t" ] && echo "rw:$t $RW/$t" >> "$WORK/trees.txt"
done
for s in 33 34 37; do
  for d in "$SETS/leakwatch-heldout$s"/tree-*/; do
    n=$(basename "$d"); n=${n#tree-}
    case $n in ruby-*|php-*) echo "set$s:$n ${d%/}" >> "$WORK/trees.txt" ;; esac
  done
done
echo "$(wc -l < "$WORK/trees.txt") trees" >&2
while read -r id dir; do
  f="$WORK/out/${id//:/_}"
  rc=0
  "$LW" check "$dir/" --format json -o "$f.json" 2>"$f.stderr" || rc=$?
  echo "$rc" > "$f.rc"
  if [ "$rc" -gt 1 ] || grep -q panicked "$f.stderr"; then echo "crash or error: $id (exit $rc)" >&2; fi
done < "$WORK/trees.txt"
WORK=$WORK python3 - <<'PY'
import collections, json, os, random
work = os.environ["WORK"]
def lines(d, ext):
    n = 0
    for root, dirs, fs in os.walk(d, followlinks=True):
        dirs[:] = [x for x in dirs if x not in ("vendor", "node_modules")]
        for f in fs:
            if f.endswith(ext):
                try:
                    with open(os.path.join(root, f), "rb") as h:
                        n += h.read().count(b"\n")
                except OSError:
                    pass
    return n
tot = collections.Counter()
code = []
for line in open(f"{work}/trees.txt"):
    tid, d = line.split()
    r = json.load(open(f"{work}/out/{tid.replace(':', '_')}.json"))
    tot["lines ruby"] += lines(d, ".rb")
    tot["lines php"] += lines(d, ".php")
    for x in r["findings"]:
        ext = os.path.splitext(x["path"])[1]
        lang = {".rb": "ruby", ".php": "php"}.get(ext, "other")
        tot[lang] += 1
        if lang != "other":
            code.append((tid, os.path.relpath(x["path"], d), x["line"], x["rule"], lang))
code.sort()
sample = random.Random("debian-libraries-2026-12-07").sample(code, min(40, len(code)))
with open(f"{work}/sample.tsv", "w") as o:
    o.write("n\ttree\tfile\tline\trule\tlang\n")
    for i, t in enumerate(sample, 1):
        o.write("\t".join(map(str, (i,) + t)) + "\n")
for name, lang in (("Ruby", "ruby"), ("PHP", "php")):
    n, kloc = tot[lang], tot[f"lines {lang}"] / 1000
    print(f"{name}: {tot[f'lines {lang}']:,} lines, {n} findings, {n / max(kloc, 0.001):.3f} per kLOC")
print(f"other findings (JS, deployment): {tot['other']}; sample of {len(sample)} in {work}/sample.tsv")
PY
