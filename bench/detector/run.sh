#!/usr/bin/env bash
# The detector on generated series it was not tuned on, side by side with
# two rules SREs write (the corpus's "> 50 MB/h over the last hour" and
# Prometheus' predict_linear(mem[6h], 4h) > limit), all on the same files.
#
# 1. The library scores every series (crates/leakwatch-core/tests/heldout.rs)
#    and writes it as a CSV with labels.tsv (label, the library's verdict and
#    the two rules' verdicts).
# 2. `leakwatch analyze --json` judges every written CSV, as a user would;
#    its verdicts must be the library's, and are scored the same way.
#
#   bench/detector/run.sh                 # fresh seeds 19001-19020
#   SPLIT=fresh_21001 bench/detector/run.sh # seeds 21001-21020 (the same detector, judged once)
#   SPLIT=fresh_17001 bench/detector/run.sh # seeds 17001-17020 (retired)
#   SPLIT=fresh_15001 bench/detector/run.sh # seeds 15001-15020 (retired)
#   SPLIT=fresh_13001 bench/detector/run.sh # seeds 13001-13020 (retired)
#   SPLIT=fresh bench/detector/run.sh     # seeds 9001-9020 (retired)
#   SPLIT=fresh_11001 bench/detector/run.sh # seeds 11001-11020 (retired)
#   SPLIT=seen_7001 bench/detector/run.sh # seeds 7001-7020 (retired)
#   SPLIT=seen_once bench/detector/run.sh # seeds 5001-5020 (retired)
#   SPLIT=held_out bench/detector/run.sh  # seeds 3001-3020
#   SPLIT=validation bench/detector/run.sh
set -euo pipefail
SPLIT=${SPLIT:-fresh_19001}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p leakwatch --manifest-path "$repo/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/leakwatch
# The library's run prints its table; its goal assertions may fail (the
# figures are what this reports), so its status is shown, not fatal.
set +e
LEAKWATCH_BENCH_OUT=$work cargo test --release -q -p leakwatch-core \
    --manifest-path "$repo/Cargo.toml" --test heldout -- \
    --ignored --exact "${SPLIT}_seeds" --nocapture 2>&1 \
    | grep -E '^(==|leakwatch|naive|predict|median|  )' | grep -v '^test '
lib_status=${PIPESTATUS[0]}
set -e
# Only the fresh_19001 split asserts (F1, false alarms; the delay is printed).
echo "library goals (F1 >= 0.977, no false alarm; 19001-19020 only): $([ "$lib_status" = 0 ] && echo met || echo NOT met)"

# Every CSV through the CLI: exit 1 = leak, 0 = no leak, anything else an error.
start=$(date +%s.%N)
tail -n +2 "$work/labels.tsv" | while IFS=$'\t' read -r file label _family _seed _crop _limit _split lib _first _naive _predict; do
    set +e
    "$bin" analyze --json "$work/$file" > "$work/$file.json" 2> "$work/$file.err"
    code=$?
    set -e
    case $code in
        1) cli=leak ;;
        0) cli=ok ;;
        *) echo "ERROR $file: exit $code: $(head -c 300 "$work/$file.err")" >&2; cli=error ;;
    esac
    printf '%s\t%s\t%s\t%s\n' "$file" "$label" "$lib" "$cli"
done > "$work/cli.tsv"
end=$(date +%s.%N)

python3 - "$work/cli.tsv" "$work/labels.tsv" "$start" "$end" <<'PY'
import sys
cli = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
labels = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])][1:]
def score(name, pairs):
    tp = sum(1 for lab, v in pairs if lab == "leak" and v == "leak")
    fp = sum(1 for lab, v in pairs if lab == "ok" and v == "leak")
    fn = sum(1 for lab, v in pairs if lab == "leak" and v != "leak")
    tn = sum(1 for lab, v in pairs if lab == "ok" and v != "leak")
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{name:34} precision {p:.3f} recall {r:.3f} F1 {f1:.3f} false alarms {fp:>3}/{fp + tn}")
print(f"== `leakwatch analyze` on {len(cli)} written CSVs ({float(sys.argv[4]) - float(sys.argv[3]):.1f} s)")
score("leakwatch analyze (CLI)", [(c[1], c[3]) for c in cli])
score("leakwatch library", [(l[1], l[7]) for l in labels])
score("naive > 50 MB/h", [(l[1], l[9]) for l in labels])
score("predict_linear(6h, 4h) > limit", [(l[1], l[10]) for l in labels])
differ = [c for c in cli if c[2] != c[3]]
print(f"CLI verdicts differing from the library's: {len(differ)}")
for c in differ[:20]:
    print("  ", *c)
sys.exit(1 if differ or any(c[3] == "error" for c in cli) else 0)
PY
