#!/usr/bin/env bash
# Held-out set 40: Ruby gems and PHP libraries and applications from public
# GitHub repositories that Debian does not package (every Debian population of
# Ruby and PHP code having been used by sets 1-39). The list,
# bench/check/heldout_github_set40.tsv (name, owner/repo, commit, language,
# lines), was drawn at random (seed "set40github"; how, in
# heldout_github_candidates.tsv) and fixed (and committed) before `check` was
# first run on any of its trees.
#
# Needs no network: it checks trees already extracted, one subdirectory per
# name under TREES, each every file of the repository at the listed commit
# (a checkout, not `git archive`, whose export-ignore attributes drop the
# tests of six of these trees), e.g.
#   git clone -q https://github.com/OWNER/REPO TREES/NAME &&
#   git -C TREES/NAME checkout -q COMMIT && rm -rf TREES/NAME/.git
# Checks each tree whole, and writes every finding to
# $WORK/findings-<name>.txt for review by hand (bench/check/REVIEW.md), as
# heldout_ruby_php.sh does. A missing tree is reported and skipped.
#
# Set 41 (heldout_github_set41.tsv) continues the same walk, fixed and committed the same way;
# Set 42 (heldout_github_set42.tsv) continues it again, and set 43 (heldout_github_set43.tsv) once more.
# LIST picks the list (default set 40's).
#
# Usage: [LW=leakwatch] [LIST=bench/check/heldout_github_set43.tsv]
#        bench/check/heldout_github.sh TREES [WORKDIR]
#        (default WORKDIR: /tmp/leakwatch-heldout40-work)
set -euo pipefail
cd "$(dirname "$0")/../.."
TREES=${1:?usage: heldout_github.sh TREES [WORKDIR]}
WORK=${2:-/tmp/leakwatch-heldout40-work}
LIST=${LIST:-bench/check/heldout_github_set40.tsv}
mkdir -p "$WORK"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
# LW=path/to/leakwatch checks with that binary (an older build, to compare).
if [ -z "${LW:-}" ]; then
  cargo build -q --release --offline -p leakwatch
  LW="$CARGO_TARGET_DIR/release/leakwatch"
fi

# shellcheck source=bench/check/check_tree.sh
. bench/check/check_tree.sh
check_tree_header
total_lines=0; total_findings=0
while IFS=$'\t' read -r name repo commit lang lines; do
  case "$name" in '#'* | name | '') continue ;; esac
  dir="$TREES/$name"
  if [ ! -d "$dir" ]; then echo "$name: not found at $dir ($repo $commit)"; continue; fi
  check_tree "$name" "$dir"
  total_lines=$((total_lines + CHECKED_LINES)); total_findings=$((total_findings + CHECKED_FINDINGS))
done < "$LIST"
echo "total: $total_findings findings in $total_lines lines"
echo "findings written to $WORK/findings-*.txt"
