#!/usr/bin/env bash
# run.sh: runs the benchmarks against a Release build and prints their JSON.
#   bench/run.sh [BUILD_DIR]     (default: build)
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/.."
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# commit: $(git rev-parse --short HEAD)"
"$B/bench/bench_search" --chunks 10000 --chunks 100000
"$B/bench/bench_dialog" --kb examples/packaging-supplier --rounds 5
"$B/frontdesk" eval guard --json --set data/guard/guard_holdout.tsv
INTENT=../shared/data/intent
if [ -f "$INTENT/banking77/train.tsv" ]; then
  "$B/frontdesk" eval intent --json --train "$INTENT/banking77/train.tsv" --test "$INTENT/banking77/test.tsv"
  "$B/frontdesk" eval intent --json --train "$INTENT/clinc150/train.tsv" --val "$INTENT/clinc150/val.tsv" \
    --test "$INTENT/clinc150/test.tsv"
fi
SHARED=../shared/data/retrieval/scifact
if [ -f "$SHARED/corpus.jsonl" ]; then
  for m in bm25 dense hybrid; do
    "$B/frontdesk" eval retrieval --json --mode $m --corpus "$SHARED/corpus.jsonl" \
      --queries "$SHARED/queries.jsonl" --qrels "$SHARED/qrels/test.tsv"
  done
fi
