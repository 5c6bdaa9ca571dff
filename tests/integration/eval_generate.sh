#!/usr/bin/env bash
# eval_generate.sh: `frontdesk eval generate` (issue 12): a question set made
# from any KB folder, in eval answers' format: heading and cloze questions
# citing their document, a share of sections cut from the copy whose
# questions become unanswerable, two-turn dialogs; the same seed gives the
# same set; an existing folder is never overwritten; a KB with nothing to
# ask about, or a bad option, is refused with the reason and leaves nothing.
. "$(dirname "$0")/lib.bash"
EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
G=$T/gen
"$FD" eval generate --kb "$EX" --out "$G" --json > "$T/g.json"; rc=$?
check "generate: exit 0" test $rc = 0
check "generate: cases, dialogs, docs and the KB's other files" bash -c "[ -s '$G/cases.jsonl' ] && [ -s '$G/dialogs.jsonl' ] && [ -d '$G/docs' ] && [ -f '$G/products.csv' ] && [ -f '$G/commerce.toml' ]"
N=$(wc -l < "$G/cases.jsonl")
U=$(jq -s 'map(select(.answerable|not))|length' "$G/cases.jsonl")
check "generate: the summary counts what was written ($N cases)" bash -c "[ \$(jq '.answerable + .unanswerable' '$T/g.json') = $N ] && [ \$(jq .dialogs '$T/g.json') = \$(wc -l < '$G/dialogs.jsonl') ]"
check "generate: a quarter or so unanswerable ($U of $N)" awk -v u="$U" -v n="$N" 'BEGIN{exit !(n >= 100 && u/n >= 0.15 && u/n <= 0.40)}'
check "generate: every answerable case expects a fact and cites a document of the copy" bash -c "jq -r 'select(.answerable)|(.expect_any|length>0|tostring)+\" \"+.source' '$G/cases.jsonl' | while read ok src; do [ \$ok = true ] && [ -f '$G/docs/'\$src ] || exit 1; done"
check "generate: each expected fact is in the cited document" bash -c "jq -r 'select(.answerable)|.source+\"\t\"+.expect_any[0]' '$G/cases.jsonl' | while IFS=\$'\t' read src f; do grep -qF -- \"\$f\" '$G/docs/'\$src || { echo \"\$src: \$f\"; exit 1; }; done"
check "generate: a left-out section's heading is gone from its document's copy, kept in the original" bash -c "jq -r 'select(.answerable|not)|.left_out_of+\"\t\"+.left_out_section' '$G/cases.jsonl' | sort -u | while IFS=\$'\t' read doc h; do grep -qE \"^#+ \$(printf '%s' \"\$h\" | sed 's/[][\\\\.*^\$()+?{}|/]/\\\\&/g')\\\$\" '$G/docs/'\$doc && exit 1; grep -qF -- \"\$h\" '$EX/docs/'\$doc || exit 1; done"
check "generate: dialogs of two turns, each expecting a fact" jq -se 'all(.[]; (.turns|length)==2 and all(.turns[]; (.expect_any|length)>0))' "$G/dialogs.jsonl"
check "generate: no case file of the KB copied into the set's docs" test ! -e "$G/docs/cases.jsonl"

"$FD" eval generate --kb "$EX" --out "$T/gen2" > /dev/null
check "the same seed: the same set" bash -c "cmp -s '$G/cases.jsonl' '$T/gen2/cases.jsonl' && diff -r '$G/docs' '$T/gen2/docs' > /dev/null"
"$FD" eval generate --kb "$EX" --out "$T/gen3" --seed 7 > /dev/null
check "another seed: another set" bash -c "! cmp -s '$G/cases.jsonl' '$T/gen3/cases.jsonl'"
"$FD" eval generate --kb "$EX" --out "$T/gen4" --leave-out 0 > /dev/null
check "--leave-out 0: every question answerable, the docs unchanged" bash -c "[ \$(jq -s 'map(select(.answerable|not))|length' '$T/gen4/cases.jsonl') = 0 ] && diff -r '$EX/docs' '$T/gen4/docs' > /dev/null"

# The set runs as it is.
"$FD" --data "$T/ev" eval answers --kb "$G" --json > "$T/ev.json" 2> /dev/null; rc=$?
check "eval answers --kb on the generated set: runs every case and dialog" bash -c "[ $rc = 0 ] && jq -e '.cases == $N and .dialog_turns_correct.n > 0' '$T/ev.json' > /dev/null"

# Refusals
cp "$G/cases.jsonl" "$T/before"
"$FD" eval generate --kb "$EX" --out "$G" > /dev/null 2> "$T/err"; rc=$?
check "an existing folder: exit 1 with the reason, nothing overwritten" bash -c "[ $rc = 1 ] && grep -q 'already exists' '$T/err' && cmp -s '$T/before' '$G/cases.jsonl'"
mkdir -p "$T/nofacts/docs"
printf '# Hello\n\nWe are nice people who like boxes.\n' > "$T/nofacts/docs/a.md"
"$FD" eval generate --kb "$T/nofacts" --out "$T/gen5" > /dev/null 2> "$T/err"; rc=$?
check "nothing to ask about: exit 1 with the reason, no folder left" bash -c "[ $rc = 1 ] && grep -q 'no question could be made' '$T/err' && [ ! -e '$T/gen5' ]"
"$FD" eval generate --kb "$EX" --out "$T/gen6" --leave-out 2 --json > /dev/null 2> "$T/err"; rc=$?
check "a bad --leave-out: exit 1, JSON error naming it" bash -c "[ $rc = 1 ] && jq -e '.error.field==\"leave-out\"' '$T/err' > /dev/null && [ ! -e '$T/gen6' ]"
"$FD" eval generate --kb "$T/nowhere" --out "$T/gen7" > /dev/null 2> "$T/err"; rc=$?
check "a KB folder that does not exist: exit 1" bash -c "[ $rc = 1 ] && grep -q 'not a folder' '$T/err'"
"$FD" eval generate --kb "$EX" > /dev/null 2>&1; rc=$?
check "no --out: usage, exit 2" test $rc = 2
finish
