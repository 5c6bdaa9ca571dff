#!/usr/bin/env bash
# run.sh: runs the benchmarks against a Release build and prints their JSON.
#   bench/run.sh [BUILD_DIR]     (default: build)
set -euo pipefail
B=${1:-build}
cd "$(dirname "$0")/.."
echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# commit: $(git rev-parse --short HEAD)"
"$B/bench/bench_search" --chunks 10000 --chunks 100000
SHARED=../shared/data/retrieval/scifact
if [ -f "$SHARED/corpus.jsonl" ]; then
  for m in bm25 dense hybrid; do
    "$B/frontdesk" eval retrieval --json --mode $m --corpus "$SHARED/corpus.jsonl" \
      --queries "$SHARED/queries.jsonl" --qrels "$SHARED/qrels/test.tsv"
  done
fi
