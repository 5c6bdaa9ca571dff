#!/usr/bin/env bash
# eval_retrieval.sh: `frontdesk eval retrieval` end to end on a tiny
# BEIR-format set whose answers are obvious, plus its input errors.
. "$(dirname "$0")/lib.bash"
M=${FD_TEST_DATA:?}/beir-mini
export TMPDIR=$T # eval's temporary index must be cleaned up: look for it here
for mode in bm25 dense hybrid; do
  j=$("$FD" eval retrieval --json --mode $mode --corpus "$M/corpus.jsonl" --queries "$M/queries.jsonl" --qrels "$M/qrels.tsv" 2>"$T/err")
  check "$mode: runs" [ $? -eq 0 ]
  check "$mode: judged queries only" [ "$(jq .queries <<<"$j")" = 3 ]
  check "$mode: mode echoed" [ "$(jq -r .mode <<<"$j")" = $mode ]
  check "$mode: recall@100 is 1" [ "$(jq '."recall@100"' <<<"$j")" = 1 ]
done
j=$("$FD" eval retrieval --json --mode bm25 --corpus "$M/corpus.jsonl" --queries "$M/queries.jsonl" --qrels "$M/qrels.tsv" 2>"$T/err")
check "bm25: every answer first (nDCG@10 = MRR@10 = 1)" [ "$(jq '[."ndcg@10", ."mrr@10"] == [1,1]' <<<"$j")" = true ]
check "bad corpus line is reported" grep -q "corpus.jsonl" "$T/err"
"$FD" eval retrieval --json --corpus "$M/corpus.jsonl" --queries "$M/queries.jsonl" --qrels "$T/none.tsv" 2>"$T/err"; rc=$?
check "missing qrels fails with a JSON error" [ $rc -ne 0 ] && [ "$(jq -r .error.code "$T/err")" = not_found ]
"$FD" eval retrieval --corpus "$M/corpus.jsonl" 2>/dev/null; rc=$?
check "missing arguments are a usage error" [ $rc -eq 2 ]
"$FD" eval nonsense 2>/dev/null; rc=$?
check "unknown eval kind is a usage error" [ $rc -eq 2 ]
check "no temporary directory left behind" [ -z "$(ls -d "${TMPDIR:-/tmp}"/frontdesk-eval.* 2>/dev/null | head -1)" ]
finish
