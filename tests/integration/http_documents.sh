#!/usr/bin/env bash
# http_documents.sh: POST /v1/documents and DELETE /v1/documents/{id} through
# real HTTP (curl): an upload answers chats at once, replace, raw bodies,
# CSV, delete, every error status, the upload cap, and uploads in parallel
# with chats.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
CHAT=$("$FD" keys create --scope chat --name it --json | jq -r .key)
INGEST=$("$FD" keys create --scope ingest --json | jq -r .key)
export FRONTDESK_SERVER_MAX_UPLOAD_BYTES=100000 FRONTDESK_LOG_LEVEL=info
# What an upload killed mid-way leaves behind (issue 17 item 9).
mkdir -p "$FRONTDESK_DATA_DIR/uploads/.staging/faq"
echo 'half an upload' > "$FRONTDESK_DATA_DIR/uploads/.staging/faq/killed.md"

"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
U="http://127.0.0.1:$PORT"
# req METHOD PATH [curl args...]: body to $T/b, status on stdout, headers to $T/h
req() { local m=$1 p=$2; shift 2; curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
jb() { jq -e "$1" "$T/b" > /dev/null; }
not() { ! "$@"; }
J=(-H 'Content-Type: application/json')
A=(-H "Authorization: Bearer $CHAT")
I=(-H "Authorization: Bearer $INGEST")
# upload ID CONTENT [extra JSON fields]: the JSON form
upload() { req POST /v1/documents "${J[@]}" "${I[@]}" -d "$(jq -cn --arg id "$1" --arg c "$2" "{id:\$id,content:\$c}${3:+ + $3}")"; }
# search_has Q ID: the search for Q returns the document ID
search_has() { req GET "/v1/search?q=$(jq -rn --arg q "$1" '$q|@uri')&k=5" "${A[@]}" > /dev/null && jq -e --arg d "$2" '.results|map(.document)|index($d)' "$T/b" > /dev/null; }
# chat_cites Q ID: a chat about Q cites ID
chat_cites() { req POST /v1/chat "${J[@]}" "${A[@]}" -d "$(jq -cn --arg m "$1" '{message:$m}')" > /dev/null && jq -e --arg d "$2" '.citations|map(.document)|index($d)' "$T/b" > /dev/null; }

DOC=faq/tuas-returns.md
Q="When does the Tuas warehouse accept pallet returns?"

# ---- upload, search, chat --------------------------------------------------------
check "a killed upload's staging file is cleaned at start" \
  test ! -e "$FRONTDESK_DATA_DIR/uploads/.staging/faq/killed.md"
check "not there before the upload" not search_has "Tuas pallet returns" "$DOC"
s=$(upload "$DOC" $'# Tuas pallet returns\n\nOur Tuas warehouse accepts pallet returns on Fridays only.\n')
check "upload: 201, not replaced, id and chunks" bash -c "[ $s = 201 ] && jq -e '.id==\"$DOC\" and .replaced==false and .chunks==1 and .title==\"Tuas pallet returns\" and .kb_version>1' '$T/b' >/dev/null"
V1=$(jq .kb_version "$T/b")
check "search finds the new document" search_has "Tuas pallet returns" "$DOC"
check "chat cites the new document" chat_cites "$Q" "$DOC"
check "and answers from it" jb '.answer|test("Fridays")'
check "the copy is kept under uploads/ as 0600" bash -c "[ \"\$(stat -c %a '$FRONTDESK_DATA_DIR/uploads/$DOC')\" = 600 ]"
check "no staging leftovers" bash -c "[ -z \"\$(find '$FRONTDESK_DATA_DIR/uploads/.staging' -type f)\" ]"
req GET /v1/documents "${I[@]}" > /dev/null
check "listed by GET /v1/documents" jb ".documents|map(.id)|index(\"$DOC\")"

# ---- replace ----------------------------------------------------------------------
s=$(upload "$DOC" $'# Tuas pallet returns\n\nOur Tuas warehouse accepts pallet returns on Mondays only.\n' '{tag:"faq",title:"Pallet returns at Tuas"}')
check "same id again: 200, replaced, new version" bash -c "[ $s = 200 ] && jq -e '.replaced==true and .kb_version>$V1 and .title==\"Pallet returns at Tuas\"' '$T/b' >/dev/null"
V2=$(jq .kb_version "$T/b")
chat_cites "$Q" "$DOC" > /dev/null
check "chat answers from the new content" jb '.answer|test("Mondays") and (test("Fridays")|not)'
req GET /v1/documents "${I[@]}" > /dev/null
check "tag and title stored" jb ".documents|map(select(.id==\"$DOC\"))|.[0]|.tag==\"faq\" and .title==\"Pallet returns at Tuas\""
s=$(upload "$DOC" $'# Tuas pallet returns\n\nOur Tuas warehouse accepts pallet returns on Mondays only.\n' '{tag:"faq",title:"Pallet returns at Tuas"}')
check "identical re-upload: 200, replaced, version unchanged" bash -c "[ $s = 200 ] && jq -e '.replaced==true and .kb_version==$V2' '$T/b' >/dev/null"

# ---- raw bodies ---------------------------------------------------------------------
s=$(req POST '/v1/documents?id=notes/zebra.md&tag=notes' "${I[@]}" -H 'Content-Type: text/markdown; charset=utf-8' --data-binary $'# Zebra crates\n\nZebra-striped crates ship from Jurong every Wednesday.\n')
check "raw text/markdown with ?id=: 201" bash -c "[ $s = 201 ] && jq -e '.id==\"notes/zebra.md\"' '$T/b' >/dev/null"
check "raw upload is searchable" search_has "zebra striped crates" notes/zebra.md
s=$(req POST '/v1/documents?id=notes/plain' "${I[@]}" -H 'Content-Type: text/plain' --data-binary $'Quokka tape rolls are sold in packs of 36.\n')
check "raw text/plain, id without an extension: 201" test "$s" = 201
s=$(req POST '/v1/documents?id=price-list.csv' "${I[@]}" -H 'Content-Type: text/csv' --data-binary $'sku,name,price\nQX1,Quasar carton,1.20\nQX2,Quasar tube,2.40\n')
check "CSV upload: 201, one document per row" bash -c "[ $s = 201 ] && jq -e '.documents==2 and .chunks==2' '$T/b' >/dev/null"
check "CSV rows searchable" search_has "quasar tube" "price-list.csv#QX2"
s=$(upload site/about.html '<html><head><title>About us</title></head><body><p>We were founded in 1987 in Tuas.</p></body></html>')
check "HTML via JSON, format from the extension: 201" bash -c "[ $s = 201 ] && jq -e '.title==\"About us\"' '$T/b' >/dev/null"

# ---- delete -------------------------------------------------------------------------
s=$(req DELETE "/v1/documents/$DOC" "${I[@]}")
check "delete: 200 with the new version" bash -c "[ $s = 200 ] && jq -e '.deleted==true and .id==\"$DOC\" and .kb_version>$V1' '$T/b' >/dev/null"
check "search no longer finds it" not search_has "Tuas pallet returns" "$DOC"
check "chat no longer cites it" not chat_cites "$Q" "$DOC"
check "its copy is gone" test ! -e "$FRONTDESK_DATA_DIR/uploads/$DOC"
check "delete again: 404" test "$(req DELETE "/v1/documents/$DOC" "${I[@]}")" = 404
check "an encoded slash is the same id" test "$(req DELETE /v1/documents/notes%2Fzebra.md "${I[@]}")" = 200
check "deleting a CSV removes its rows" bash -c "[ $(req DELETE /v1/documents/price-list.csv "${I[@]}") = 200 ] && jq -e '.documents==2' '$T/b' >/dev/null"
check "GET on a document path: 405, Allow: DELETE" bash -c "[ $(req GET /v1/documents/x.md "${I[@]}") = 405 ] && grep -qi '^Allow: DELETE' '$T/h'"
check "PUT /v1/documents: 405, Allow: GET, POST" bash -c "[ $(req PUT /v1/documents "${I[@]}") = 405 ] && grep -qi '^Allow: GET, POST' '$T/h'"

# ---- errors ---------------------------------------------------------------------------
check "no key: 401" test "$(req POST /v1/documents "${J[@]}" -d '{"id":"a.md","content":"x"}')" = 401
check "no key, delete: 401" test "$(req DELETE /v1/documents/site/about.html)" = 401
check "chat-scope key: 403" test "$(req POST /v1/documents "${J[@]}" "${A[@]}" -d '{"id":"a.md","content":"# A\n\nx"}')" = 403
check "chat-scope key cannot delete: 403" test "$(req DELETE /v1/documents/site/about.html "${A[@]}")" = 403
check "missing id: 422 naming id" bash -c "[ $(req POST /v1/documents "${J[@]}" "${I[@]}" -d '{"content":"hello"}') = 422 ] && jq -e '.error.field==\"id\"' '$T/b' >/dev/null"
check "id ../etc/passwd: 422" test "$(upload ../etc/passwd hello)" = 422
check "id /abs: 422" test "$(upload /abs.md hello)" = 422
check "id with a space: 422" test "$(upload 'a b.md' hello)" = 422
check "id of 201 characters: 422" test "$(upload "$(head -c 198 /dev/zero | tr '\0' a).md" hello)" = 422
check "raw upload without ?id=: 422" test "$(req POST /v1/documents "${I[@]}" -H 'Content-Type: text/plain' --data-binary hello)" = 422
check "missing content: 422" test "$(req POST /v1/documents "${J[@]}" "${I[@]}" -d '{"id":"a.md"}')" = 422
check "empty content: 422" test "$(upload a.md '')" = 422
check "whitespace-only content: 422" test "$(upload a.md $'  \n\n ')" = 422
s=$(upload a.md hi '{format:"odt"}')
check "unknown format: 422 naming format" bash -c "[ $s = 422 ] && jq -e '.error.field==\"format\"' '$T/b' >/dev/null"
check "no format and no extension: 422" test "$(upload readme hi)" = 422
check "bad tag: 422" test "$(upload a.md hi '{tag:"no spaces please"}')" = 422
check "content not a string: 422" test "$(req POST /v1/documents "${J[@]}" "${I[@]}" -d '{"id":"a.md","content":5}')" = 422
printf 'caf\xe9 au lait\n' > "$T/latin1"
s=$(req POST '/v1/documents?id=latin1.txt' "${I[@]}" -H 'Content-Type: text/plain' --data-binary @"$T/latin1")
check "invalid UTF-8: 400 invalid_utf8" bash -c "[ $s = 400 ] && jq -e '.error.code==\"invalid_utf8\"' '$T/b' >/dev/null"
check "broken JSON: 400" test "$(req POST /v1/documents "${J[@]}" "${I[@]}" -d '{"id":')" = 400
check "unsupported content type: 415" test "$(req POST '/v1/documents?id=a.odt' "${I[@]}" -H 'Content-Type: application/vnd.oasis.opendocument.text' --data-binary hello)" = 415
check "form-encoded body: 415" test "$(req POST '/v1/documents?id=a.txt' "${I[@]}" -d hello)" = 415
check "a CSV with only its header: 422" test "$(req POST '/v1/documents?id=empty.csv' "${I[@]}" -H 'Content-Type: text/csv' --data-binary $'a,b\n')" = 422
check "id nesting under a document: 409" test "$(upload site/about.html/x.md '# X')" = 409
head -c 200000 /dev/zero | tr '\0' 'a' > "$T/big"
check "200 KB raw upload over a 100000-byte cap: 413" bash -c "[ $(req POST '/v1/documents?id=big.txt' "${I[@]}" -H 'Content-Type: text/plain' --data-binary @"$T/big") = 413 ] && jq -e '.error.code==\"too_large\"' '$T/b' >/dev/null"
jq -cn --rawfile c "$T/big" '{id:"big.txt",content:$c}' > "$T/big.json"
check "200 KB JSON upload: 413" test "$(req POST /v1/documents "${J[@]}" "${I[@]}" --data-binary @"$T/big.json")" = 413
head -c 90000 /dev/zero | tr '\0' 'b' | fold -w 80 > "$T/mid"
check "90 KB upload under the cap: 201" test "$(req POST '/v1/documents?id=mid.txt' "${I[@]}" -H 'Content-Type: text/plain' --data-binary @"$T/mid")" = 201
head -c 70000 /dev/zero | tr '\0' 'a' > "$T/chatbig"
check "other routes keep server.max_body_bytes (70 KB chat: 413)" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary @"$T/chatbig")" = 413
req GET /v1/documents "${I[@]}" > /dev/null
check "failed uploads stored nothing" jb '.documents|map(.id)|(index("a.md") or index("readme") or index("big.txt") or index("latin1.txt") or index("empty.csv"))|not'

# ---- concurrency: 5 uploads in parallel while chats keep answering ---------------------------
pids=()
for i in 1 2 3 4 5; do
  curl -s -o "$T/up$i.json" -w '%{http_code}' -X POST "$U/v1/documents" "${J[@]}" "${I[@]}" \
    -d "$(jq -cn --arg id "par/doc$i.md" --arg c "# Parallel $i"$'\n\n'"Depot number $i opens at $((6 + i)) am." '{id:$id,content:$c}')" > "$T/up$i.code" &
  pids+=($!)
done
for i in $(seq 10); do
  curl -s -o /dev/null -w '%{http_code}\n' -X POST "$U/v1/chat" "${J[@]}" "${A[@]}" \
    -d '{"message":"How long do I have to report defective boxes?"}' >> "$T/chats.codes" &
  pids+=($!)
done
wait "${pids[@]}"
check "5 parallel uploads: all 201" bash -c "cat '$T'/up?.code | tr -d '\n' | grep -qx '201201201201201'"
check "chats during uploads: all 200" bash -c "[ \$(grep -c '^200$' '$T/chats.codes') = 10 ]"
req GET /v1/documents "${I[@]}" > /dev/null
check "all 5 listed afterwards" jb '[.documents[].id|select(startswith("par/doc"))]|length==5'
all_found() { for i in 1 2 3 4 5; do search_has "depot number $i" "par/doc$i.md" || return 1; done; }
check "each is searchable" all_found

# ---- the OpenAPI document describes both endpoints --------------------------------------------
req GET /openapi.json > /dev/null
check "openapi: POST /v1/documents and DELETE /v1/documents/{id}" jb '(.paths["/v1/documents"]|has("post") and has("get")) and (.paths["/v1/documents/{id}"]|has("delete"))'
check "access log has no document text" bash -c "! grep -q 'Mondays' '$T/serve.log'"

# ---- chunks gone from the store before the reload (issue 17, items 1-2) --------------------
# `frontdesk rm` on the live data dir deletes the chunks while the server's
# snapshot still ranks them: search and chat answer from the snapshot,
# which holds the text it indexed (format 2), until the reload drops them.
"$FD" rm par/doc3.md > /dev/null 2>&1
s=$(req GET "/v1/search?q=$(jq -rn '"depot number 3"|@uri')&k=5" "${A[@]}")
check "search meeting a deleted chunk: 200" test "$s" = 200
check "every result still has text" jb '.results|all((.snippet|type=="string") and (.section|type=="string"))'
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"what is depot number 3?"}')
check "chat meeting a deleted chunk: 200, not 422" test "$s" = 200
kill -HUP $PID
gone=
for _ in $(seq 50); do
  req GET "/v1/search?q=$(jq -rn '"depot number 3"|@uri')&k=5" "${A[@]}" > /dev/null
  jq -e '.results|map(.document)|index("par/doc3.md")|not' "$T/b" > /dev/null && gone=1 && break
  sleep 0.1
done
check "after the reload (SIGHUP) the removed document is gone from search" test -n "$gone"
# Replacing a document while others search it: bounded (40 replaces, 4 readers).
( for i in $(seq 40); do upload race/doc.md "$(printf '# Race depot\n\nThe race depot opens at %s o clock.\n' "$i")" > /dev/null; done ) &
up=$!
pids=()
for r in 1 2 3 4; do
  ( for i in $(seq 30); do
      curl -s -o /dev/null -w '%{http_code}\n' "$U/v1/search?q=race%20depot&k=5" "${A[@]}"
      curl -s -o /dev/null -w '%{http_code}\n' -X POST "$U/v1/chat" "${J[@]}" "${A[@]}" -d '{"message":"when does the race depot open?"}'
    done > "$T/race$r.codes" ) &
  pids+=($!)
done
wait $up "${pids[@]}"
check "server alive after replaces under search" kill -0 $PID
check "every search and chat during replaces: 200" bash -c "! grep -vh '^200$' '$T'/race?.codes"

kill -TERM $PID
wait $PID; rc=$?
check "SIGTERM: exit 0" test "$rc" = 0

# ---- a store that cannot commit: 503, and nothing changes ------------------------------------
if "$FD" version | grep -q "testing build"; then
  FRONTDESK_FAULTS=store.commit "$FD" serve --port 0 > "$T/serve2.out" 2> "$T/serve2.log" &
  PID=$!
  for _ in $(seq 200); do grep -q 'http://' "$T/serve2.out" 2>/dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve2.out" | tr -d :)"
  s=$(upload faults/x.md $'# Fault\n\nThis must not be stored.\n')
  check "failed commit: 503 with Retry-After" bash -c "[ $s = 503 ] && grep -qi '^Retry-After:' '$T/h'"
  req GET /v1/documents "${I[@]}" > /dev/null
  check "nothing stored" jb '.documents|map(.id)|index("faults/x.md")|not'
  check "no copy kept" test ! -e "$FRONTDESK_DATA_DIR/uploads/faults/x.md"
  kill -TERM $PID
  wait $PID; rc=$?
  check "fault server: exit 0" test "$rc" = 0

  # The index write fails after the commit (issue 17 item 6): 503, and the
  # retry must make the document searchable, not answer 200 and leave it out.
  FRONTDESK_FAULTS=snap.write:1 "$FD" serve --port 0 > "$T/serve3.out" 2> "$T/serve3.log" &
  PID=$!
  for _ in $(seq 200); do grep -q 'http://' "$T/serve3.out" 2>/dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve3.out" | tr -d :)"
  s=$(upload faults/late.md $'# Walrus pallets\n\nWalrus pallets ship from Changi every Thursday.\n')
  check "index write failed: 503 with Retry-After" bash -c "[ $s = 503 ] && grep -qi '^Retry-After:' '$T/h'"
  s=$(upload faults/late.md $'# Walrus pallets\n\nWalrus pallets ship from Changi every Thursday.\n')
  check "the retry: 200 or 201" bash -c "[ $s = 200 ] || [ $s = 201 ]"
  check "and the document is searchable" search_has "walrus pallets" faults/late.md
  kill -TERM $PID
  wait $PID; rc=$?
  check "fault server 2: exit 0" test "$rc" = 0

  # Re-indexing holds up no request thread (issue 17 item 4): three uploads
  # whose index builds take 1.5 s each, and meanwhile /healthz and a chat
  # answer at once (they waited up to 9.5 s behind uploads before).
  FRONTDESK_FAULTS=index.slow FRONTDESK_SERVER_THREADS=2 "$FD" serve --port 0 > "$T/serve4.out" 2> "$T/serve4.log" &
  PID=$!
  for _ in $(seq 200); do grep -q 'http://' "$T/serve4.out" 2>/dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve4.out" | tr -d :)"
  pids=()
  for i in 1 2 3; do
    ( upload "slow/doc$i.md" "$(printf '# Slow depot %s\n\nSlow depot %s opens at nine.\n' "$i" "$i")" > "$T/slow$i.code" ) &
    pids+=($!)
  done
  sleep 0.5
  t_health=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 "$U/healthz")
  t_chat=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 -X POST "$U/v1/chat" "${J[@]}" "${A[@]}" -d '{"message":"How long do I have to report defective boxes?"}')
  wait "${pids[@]}"
  check "while 3 slow uploads index: /healthz in ${t_health}s (< 0.5)" awk -v t="$t_health" 'BEGIN{exit !(t < 0.5)}'
  check "while 3 slow uploads index: a chat in ${t_chat}s (< 0.5)" awk -v t="$t_chat" 'BEGIN{exit !(t < 0.5)}'
  check "and the 3 uploads: 201 each" bash -c "cat '$T'/slow?.code | tr -d '\n' | grep -qx '201201201'"
  check "each slow upload is searchable" bash -c "for i in 1 2 3; do curl -s '$U/v1/search?q=slow+depot+'\$i'&k=5' -H 'Authorization: Bearer $CHAT' | grep -q \"slow/doc\$i.md\" || exit 1; done"
  kill -TERM $PID
  wait $PID; rc=$?
  check "slow-index server: exit 0" test "$rc" = 0
fi
finish
