#!/usr/bin/env bash
# eval_answers.sh: `frontdesk eval answers --kb DIR ...`: several knowledge
# bases in one run, each ingested into its own temporary store, reported per
# set with 95% intervals and "answered wrong" apart from "declined"; bad
# arguments and files get clear errors. The floors are regression fences on
# two development KBs (eval/README.md), not the targets.
. "$(dirname "$0")/lib.bash"

K=${FD_SOURCE_DIR:?}/eval/kb
jqe() { jq -e "$@" > /dev/null; }
mkdir -p "$T/tmp"
TMPDIR="$T/tmp" "$FD" eval answers --kb "$K/dental-clinic" --kb "$K/boutique-fr" --oracle --json > "$T/e.json" 2> "$T/e.err"
check "two KBs: exit 0" test $? = 0
check "two sets, named after their folders" jqe '[.sets[].set]==["dental-clinic","boutique-fr"]' "$T/e.json"
check "each with cases, dialogs, intervals" \
  jqe 'all(.sets[]; .cases>40 and .dialog_turns_correct.n>10 and (.correct.ci95|length)==2 and .correct.ci95[0]<=.correct.rate and .correct.rate<=.correct.ci95[1])' "$T/e.json"
check "answered wrong is counted apart from declined" \
  jqe 'all(.sets[]; .answered_wrong.k == .wrong_source + .missing_fact + .answered_unanswerable)' "$T/e.json"
check "a vocabulary audit per set" jqe 'all(.sets[]; .vocab_questions_unknown>0.3)' "$T/e.json"
check "stage by stage: retrieval, ranking, decision AUC, the picker given the source" \
  jqe 'all(.sets[]; .stages.retrieval_recall3_doc.n>30 and .stages.retrieval_recall3_doc.rate>0.8 and .stages.decision_auc>0.5 and .stages.picker_given_source.n>30 and .stages.chosen_when_retrieved.k<=.stages.chosen_when_retrieved.n)' "$T/e.json"
check "right answers that quote a whole table are counted (dental-clinic's fee tables)" \
  jqe 'all(.sets[]; .correct_with_whole_table <= .correct.k) and .sets[0].correct_with_whole_table > 0' "$T/e.json"
check "pooled totals" jqe '.total.correct.n == ([.sets[].answerable]|add)' "$T/e.json"
jq -c '.sets[]|{set,correct:.correct.rate,declined:.declined_unanswerable.rate,wrong:.answered_wrong.rate}' "$T/e.json"
check "floor: dental-clinic correct >= 0.30, unanswerable declined >= 0.80" \
  jqe '.sets[0].correct.rate>=0.30 and .sets[0].declined_unanswerable.rate>=0.80' "$T/e.json"
check "the temporary stores are gone" bash -c "[ -z \"\$(ls -A '$T/tmp')\" ]"

"$FD" eval answers --kb "$T/nothing-here" > "$T/o" 2> "$T/err"
check "a KB folder without cases: exit 2 with a message" bash -c "[ $? = 2 ] && grep -q 'no cases.jsonl' '$T/err'"
"$FD" eval answers --kb "$K/dental-clinic" --cases "$T/missing.jsonl" > "$T/o" 2> "$T/err"
check "a missing case file: an error naming it" bash -c "[ $? != 0 ] && grep -q 'missing.jsonl' '$T/err'"
printf '{"question": 3}\n' > "$T/bad.jsonl"
"$FD" eval answers --kb "$K/dental-clinic" --cases "$T/bad.jsonl" > "$T/o" 2> "$T/err"
check "a malformed case: an error with its line" bash -c "[ $? != 0 ] && grep -q 'bad.jsonl:1' '$T/err'"
finish
