#!/usr/bin/env bash
# cli_kb.sh: ingest, re-ingest, search, rm and every bad-input case through
# the real binary.
. "$(dirname "$0")/lib.bash"

KB=$T/kb
mkdir -p "$KB/policies"
cat > "$KB/policies/refunds.md" <<'MD'
---
title: Refunds for defective goods
tag: policy
---
# Refunds

## Defective goods
Report defective goods within 7 days of delivery with photos. We issue a
credit note or a refund to the original payment method within 14 days.

## Change of mind
Unopened cartons may be returned within 30 days; a 15% restocking fee applies.
MD
cat > "$KB/delivery.html" <<'HTML'
<html><head><title>Delivery areas</title><style>.x{color:red}</style>
<script>var secret = "do-not-index";</script></head>
<body><h1>Delivery</h1><p>We deliver to Sentosa on weekdays for a S$25 surcharge.</p>
<p>Orders above S$300 ship free &amp; fast.</p></body></html>
HTML
cat > "$KB/products.csv" <<'CSV'
code,name,size,unit_price_sgd
PB-1203,Pizza box kraft,12-inch,48.00
PB-1003,Pizza box kraft,10-inch,42.50
"CUP-P08","Paper cup, single wall",8oz,30.00
CSV
printf 'Opening hours: Monday to Friday, 9am to 6pm.\n' > "$KB/hours.txt"
mkdir -p "$KB/fr"
cat > "$KB/fr/livraison.md" <<'MD'
# Livraison

Nous livrons à Sentosa le mardi et le jeudi. Les livraisons du samedi
coûtent un supplément de 25 S$ et ne sont pas possibles sur l'île.
MD
printf '\xff\xfe bad bytes' > "$KB/broken.md"
: > "$KB/empty.txt"

out=$("$FD" ingest "$KB" 2>"$T/err")
rc=$?
check "ingest succeeds despite bad files" [ $rc -eq 0 ]
check "summary counts documents" grep -q "7 documents added" <<<"$out"
check "invalid UTF-8 file is named in a warning" grep -q "broken.md" "$T/err"
check "empty file is named in a warning" grep -q "empty.txt" "$T/err"

j=$("$FD" search --json --mode bm25 defective photos)
check "search finds the refund policy" [ "$(jq -r '.results[0].title' <<<"$j")" = "Refunds for defective goods" ]
check "section is the heading path" [ "$(jq -r '.results[0].section' <<<"$j")" = "Refunds > Defective goods" ]
check "snippet highlights the match" grep -q '\*\*photos\*\*' <<<"$(jq -r '.results[0].snippet' <<<"$j")"
check "result has document, chunk and score" jq -e '.results[0] | (.document and .chunk and .score)' <<<"$j" >/dev/null

j=$("$FD" search --json --k 3 "12-inch pizza box price")
check "product row found by size" [ "$(jq -r '.results[0].document' <<<"$j")" = "kb/products.csv#PB-1203" ]
j=$("$FD" search --json --mode hybrid sentosa surcharge)
check "HTML text indexed" [ "$(jq -r '.results[0].title' <<<"$j")" = "Delivery areas" ]
j=$("$FD" search --json do-not-index)
check "script contents are not indexed" [ "$(jq '.results | length' <<<"$j")" = 0 ]
j=$("$FD" search --json --mode bm25 --lang fr sentosa)
check "language filter keeps French docs" [ "$(jq -r '[.results[].document] | unique | join(",")' <<<"$j")" = "kb/fr/livraison.md" ]
j=$("$FD" search --json --mode bm25 "livraison le samedi")
check "French stemming matches livraisons/livraison" [ "$(jq -r '.results[0].document' <<<"$j")" = "kb/fr/livraison.md" ]
check "French doc language detected" [ "$("$FD" docs --json | jq -r --arg k "kb/fr/livraison.md" '.documents[] | select(.key == $k) | .lang')" = fr ]
j=$("$FD" search --json --tag policy restocking fee)
check "tag filter keeps policy docs" [ "$(jq -r '[.results[].title] | unique | .[0]' <<<"$j")" = "Refunds for defective goods" ]

v1=$("$FD" stats --json | jq .kb_version)
out=$("$FD" ingest --json "$KB" 2>/dev/null)
check "re-ingest of the same files changes nothing" [ "$(jq .unchanged <<<"$out")" = 7 ] 
check "unchanged re-ingest keeps the version" [ "$("$FD" stats --json | jq .kb_version)" = "$v1" ]

sed -i 's/7 days/10 days/' "$KB/policies/refunds.md"
sed -i '/PB-1003/d' "$KB/products.csv"
out=$("$FD" ingest --json "$KB" 2>/dev/null)
check "edited file counts as changed" [ "$(jq .changed <<<"$out")" = 1 ]
check "row gone from the CSV is removed" [ "$(jq .removed <<<"$out")" = 1 ]
check "version bumped" [ "$(jq .kb_version <<<"$out")" -gt "$v1" ]
j=$("$FD" search --json --mode bm25 report defective goods photos days)
check "new content is searchable" grep -q "within 10" <<<"$(jq -r '.results[0].snippet' <<<"$j")"

"$FD" rm "$KB/hours.txt" >/dev/null
check "rm deletes a document" [ "$("$FD" docs --json | jq '.documents | length')" = 5 ]
"$FD" rm --json nope 2>"$T/err"; rc=$?
check "rm of an unknown document fails" [ $rc -ne 0 ]
check "rm error is JSON with a code" [ "$(jq -r .error.code "$T/err")" = not_found ]

"$FD" ingest "$T/missing-dir" 2>"$T/err"; rc=$?
check "missing path exits non-zero" [ $rc -ne 0 ]
check "missing path message names it" grep -q "missing-dir" "$T/err"
"$FD" search --json "" 2>"$T/err"; rc=$?
check "empty query is an error" [ $rc -ne 0 ]
"$FD" search --json "$(printf 'bad \xff query')" 2>"$T/err"; rc=$?
check "invalid UTF-8 query is an error" [ "$(jq -r .error.code "$T/err")" = invalid_utf8 ]
"$FD" search --k 0 box 2>/dev/null; rc=$?
check "bad --k is a usage error" [ $rc -eq 2 ]
"$FD" search --mode fuzzy box 2>/dev/null; rc=$?
check "bad --mode is a usage error" [ $rc -eq 2 ]
"$FD" frobnicate 2>/dev/null; rc=$?
check "unknown command is a usage error" [ $rc -eq 2 ]
FRONTDESK_INDEX_K1=banana "$FD" stats 2>"$T/err"; rc=$?
check "bad env config names the variable" grep -q FRONTDESK_INDEX_K1 "$T/err"

# A damaged snapshot is rebuilt, not trusted.
printf 'garbage' > "$FRONTDESK_DATA_DIR/index.snap"
j=$("$FD" search --json --mode bm25 sentosa 2>/dev/null)
check "corrupt snapshot is rebuilt" [ "$(jq -r '.results[0].title' <<<"$j")" = "Delivery areas" ]

# Interactive prompt (what make run opens) answers lines from stdin.
out=$(printf 'sentosa\n\n' | "$FD" search 2>/dev/null)
check "interactive search answers" grep -q "Delivery areas" <<<"$out"
# ---- config sample: a valid frontdesk.toml that means the defaults -------------------
"$FD" config sample > "$T/sample.toml"
check "config sample: strict TOML (Python's tomllib), no table twice" python3 -c "import tomllib,sys; tomllib.load(open(sys.argv[1],'rb'))" "$T/sample.toml"
"$FD" config > "$T/cfg.default"
"$FD" --config "$T/sample.toml" config > "$T/cfg.sample"
check "config sample: loading it changes nothing" cmp -s "$T/cfg.default" "$T/cfg.sample"
check "config sample: every key in it" test "$(grep -c '^[a-z_0-9]* = ' "$T/sample.toml")" = "$(wc -l < "$T/cfg.default")"
# ---- COMMAND --help: the usage on stdout, exit 0, nothing run -------------------------
V0=$("$FD" stats --json | jq .kb_version)
out=$("$FD" reindex --help); rc=$?
check "reindex --help: usage, exit 0" bash -c "[ $rc = 0 ] && grep -q '^usage: frontdesk reindex' <<< \"\$1\"" _ "$out"
check "reindex --help: nothing reindexed (no 'reindexed' line)" bash -c "! grep -q reindexed <<< \"\$1\"" _ "$out"
for cmd in keys eval report ingest migrate "orders list"; do
  out=$("$FD" $cmd --help 2>&1); rc=$?
  check "$cmd --help: usage on stdout, exit 0" bash -c "[ $rc = 0 ] && grep -q '^usage: frontdesk ${cmd%% *}' <<< \"\$1\"" _ "$out"
done
check "--help changed nothing" test "$("$FD" stats --json | jq .kb_version)" = "$V0"
# ---- ask: a blank question is a usage error; the API's error codes ---------------------
"$FD" ask "   " > /dev/null 2> "$T/err"; rc=$?
check "ask with a blank question: exit 1, says it is empty" bash -c "[ $rc = 1 ] && grep -q 'empty' '$T/err'"
"$FD" ask --json "$(head -c 5000 /dev/zero | tr '\0' a)" > /dev/null 2> "$T/err"; rc=$?
check "ask with a message over guard.max_chars: exit 1, code message_too_long as in the API" bash -c "[ $rc = 1 ] && jq -e '.error.code==\"message_too_long\" and .error.field==\"message\"' '$T/err' > /dev/null"
# ---- dialog.now: checked at start, not silently the clock --------------------------------
for v in 2026-13-01 2026-12-09T25:00 tomorrow 2026-12-09T10:00x; do
  FRONTDESK_DIALOG_NOW=$v "$FD" ask --json "hello" > /dev/null 2> "$T/err"; rc=$?
  check "dialog.now='$v': exit 1 naming dialog.now" bash -c "[ $rc = 1 ] && jq -e '.error.field==\"dialog.now\"' '$T/err' > /dev/null"
done
FRONTDESK_DIALOG_NOW=2026-12-09T10:00 "$FD" ask "hello" > /dev/null 2>&1
check "dialog.now='2026-12-09T10:00' is accepted" test $? = 0
FRONTDESK_DIALOG_NOW=2026-12-09 "$FD" ask "hello" > /dev/null 2>&1
check "dialog.now='2026-12-09' (a date alone) is accepted" test $? = 0
# ---- a mistyped --data: said, nothing created (issue 14) ---------------------------------
for cmd in docs stats "search boxes" "ask hello" reindex "rm x.md"; do
  "$FD" --data "$T/no-such-dir" $cmd > /dev/null 2> "$T/err"; rc=$?
  check "$cmd on a --data holding no knowledge base: exit 1, says so" bash -c "[ $rc = 1 ] && grep -q 'no knowledge base in' '$T/err'"
done
check "  and nothing was created there" test ! -e "$T/no-such-dir"
"$FD" --data "$T/no-such-dir" docs --json > /dev/null 2> "$T/err"
check "  --json: a JSON error, code not_found" jq -e '.error.code=="not_found"' "$T/err"
"$FD" --data "$T/new-kb" ingest "$T/kb" > /dev/null 2>&1
check "ingest still makes a new knowledge base" bash -c "'$FD' --data '$T/new-kb' docs | grep -q documents"
# ---- shell completion -------------------------------------------------------------------
"$FD" completion bash > "$T/comp.bash"
comp() { bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _frontdesk; echo "${COMPREPLY[*]}"' _ "$T/comp.bash" "$@"; }
check "completion: command names" grep -qw ingest <<< "$(comp frontdesk in)"
check "completion: a command's subcommands" test "$(comp frontdesk keys '')" = "create list revoke rotate"
check "completion: a command's options" grep -qw -- --mode <<< "$(comp frontdesk search --)"
check "completion: the command after a global option and its value" grep -qw stats <<< "$(comp frontdesk --data /tmp st)"
check "completion: values of --log-level" test "$(comp frontdesk --log-level de)" = debug
check "completion: help completes command names" grep -qw reindex <<< "$(comp frontdesk help re)"
check "completion zsh: through bashcompinit" bash -c '"$1" completion zsh | grep -q bashcompinit' _ "$FD"
"$FD" completion fish > /dev/null 2>&1; rc=$?
check "completion of an unknown shell: usage, exit 2" test $rc = 2
# ---- keys do not depend on how the folder was typed (issue 14) --------------------------
mkdir -p "$T/spell/shop/faq"
printf '# Returns\n\nReturns are accepted within 30 days.\n' > "$T/spell/shop/faq/returns.md"
printf '# Hours\n\nWe open at 9am.\n' > "$T/spell/shop/hours.md"
SP=(--data "$T/spell/var")
FDA=$(cd "$(dirname "$FD")" && pwd)/$(basename "$FD") # the binary, from another folder too
( cd "$T/spell" && "$FDA" "${SP[@]}" ingest shop > /dev/null 2>&1 && "$FDA" "${SP[@]}" ingest ./shop/ > /dev/null 2>&1 &&
  "$FDA" "${SP[@]}" ingest "$T/spell/shop" > /dev/null 2>&1 && "$FDA" "${SP[@]}" ingest shop/hours.md > /dev/null 2>&1 )
check "shop, ./shop/, an absolute path and a file alone: one copy of each document" \
  test "$("$FD" "${SP[@]}" docs --json | jq -r '[.documents[].key]|sort|join(",")')" = "shop/faq/returns.md,shop/hours.md"
"$FD" "${SP[@]}" ask --json "when do you open" > "$T/o.json" 2> /dev/null
check "a citation names shop/hours.md, no server path" jq -e '.citations[0].document == "shop/hours.md"' "$T/o.json"
rm "$T/spell/shop/faq/returns.md"
"$FD" "${SP[@]}" ingest --json "$T/spell/shop" > "$T/o.json" 2> /dev/null
check "a file deleted from the folder is removed on re-ingest" jq -e '.removed == 1' "$T/o.json"
check "  and is gone from the documents (its folder left empty)" test "$("$FD" "${SP[@]}" docs --json | jq '.documents|length')" = 1
mkdir -p "$T/spell/other/shop"
printf '# Hours\n\nOther hours.\n' > "$T/spell/other/shop/hours.md"
"$FD" "${SP[@]}" ingest "$T/spell/shop" "$T/spell/other/shop" > /dev/null 2> "$T/err"
check "two folders of one name: the second file of a key is skipped and said" grep -q "same document key 'shop/hours.md'" "$T/err"
# ---- widget.color is checked at start (it reaches a stylesheet) -------------------------
FRONTDESK_WIDGET_COLOR='red;}' "$FD" stats > /dev/null 2> "$T/err"; rc=$?
check "widget.color that is not #rgb/#rrggbb: a configuration error (exit 2) naming it" bash -c "[ $rc = 2 ] && grep -q 'widget.color must be #rgb or #rrggbb' '$T/err'"
finish
