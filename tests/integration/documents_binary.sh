#!/usr/bin/env bash
# documents_binary.sh: PDF and DOCX documents end to end: `frontdesk ingest`
# of a folder holding them, then POST /v1/documents with the raw file and
# with JSON content_base64, answers citing them, every refusal (not a PDF,
# damaged, no text, the wrong id extension, bad base64) a JSON error that
# leaves the knowledge base as it was, and uploads read again at restart.
# The files are tests/data/binary/ (made by tests/ingest/test_binary.c).
. "$(dirname "$0")/lib.bash"

BIN=${FD_TEST_DATA:?}/binary
mkdir -p "$T/kb"
cp "$BIN/policies.pdf" "$T/kb/"
printf '# About us\n\nWe are a small shop in Leeds.\n' > "$T/kb/about.md"

# ---- the CLI -------------------------------------------------------------------------
out=$("$FD" ingest "$T/kb" 2>&1)
check "ingest takes the PDF beside the Markdown" grep -q "2 documents added" <<< "$out"
ans=$("$FD" ask --json "how much is next day delivery" 2>/dev/null)
check "a question answered from the PDF's table row" \
  jq -e '(.answer|test("Next day service: £9.95")) and (.citations[0].document|test("policies.pdf$"))' <<< "$ans" > /dev/null
check "and its section is the PDF's heading path" \
  jq -e '.citations[0].section == "Delivery and Returns > Delivery prices"' <<< "$ans" > /dev/null
ans=$("$FD" ask --json "what are your opening hours on saturday" 2>/dev/null)
check "a wrapped paragraph under a bold heading answers" jq -e '.answer|test("9am to 5pm")' <<< "$ans" > /dev/null
printf 'not a pdf at all' > "$T/kb/broken.pdf"
out=$("$FD" ingest "$T/kb" 2>&1)
check "a broken PDF in the folder is skipped with its reason" grep -q "broken.pdf: not a PDF" <<< "$out"
rm "$T/kb/broken.pdf"

# ---- the API ---------------------------------------------------------------------------
CHAT=$("$FD" keys create --scope chat --name it --json | jq -r .key)
INGEST=$("$FD" keys create --scope ingest --json | jq -r .key)
"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
U="http://127.0.0.1:$PORT"
req() { local m=$1 p=$2; shift 2; curl -s -o "$T/b" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
jb() { jq -e "$1" "$T/b" > /dev/null; }
I=(-H "Authorization: Bearer $INGEST")
A=(-H "Authorization: Bearer $CHAT" -H 'Content-Type: application/json')
DOCX_T='application/vnd.openxmlformats-officedocument.wordprocessingml.document'
chat() { req POST /v1/chat "${A[@]}" -d "$(jq -cn --arg m "$1" '{message:$m}')" > /dev/null; }

s=$(req POST "/v1/documents?id=terms/conditions.docx" "${I[@]}" -H "Content-Type: $DOCX_T" \
  --data-binary "@$BIN/conditions.docx")
check "raw DOCX upload: 201 with its title" bash -c "[ $s = 201 ] && jq -e '.title==\"Conditions de vente\" and .chunks>=1' '$T/b' >/dev/null"
chat "quel est le prix de la livraison express"
check "a French question answered from the DOCX table, header named" \
  jb '(.answer|test("Express: Délai 24 h, Prix 9,90 €")) and (.citations[0].document=="terms/conditions.docx")'

B64=$(base64 -w0 "$BIN/policies.pdf")
s=$(req POST /v1/documents "${I[@]}" -H 'Content-Type: application/json' \
  -d "{\"id\":\"shop/policies-copy.pdf\",\"content_base64\":\"$B64\",\"tag\":\"policy\"}")
check "JSON content_base64 PDF upload: 201" bash -c "[ $s = 201 ] && jq -e '.title==\"Shop policies\"' '$T/b' >/dev/null"
V=$(jq .kb_version "$T/b")

bad() { # bad NAME WANT_STATUS WANT_CODE curl-args...: refused, nothing changed
  local name=$1 want=$2 code=$3
  shift 3
  local s
  s=$(req POST "$@")
  check "$name: $want $code" bash -c "[ $s = $want ] && jq -e '.error.code==\"$code\" and (.error.message|length>0)' '$T/b' >/dev/null"
}
bad "raw bytes that are not a PDF" 422 invalid_document "/v1/documents?id=x.pdf" "${I[@]}" \
  -H 'Content-Type: application/pdf' --data-binary 'hello'
printf '%%PDF-1.7\n1 0 obj << /Type /Catalog >>\nstartxref\n9\n%%%%EOF\n' > "$T/junk.pdf"
bad "a damaged PDF" 422 invalid_document "/v1/documents?id=junk.pdf" "${I[@]}" \
  -H 'Content-Type: application/pdf' --data-binary "@$T/junk.pdf"
check "  its message names the file" jb '.error.message|test("junk.pdf")'
bad "a PDF under an id without .pdf" 422 invalid_field "/v1/documents?id=policies" "${I[@]}" \
  -H 'Content-Type: application/pdf' --data-binary "@$BIN/policies.pdf"
bad "a DOCX that is not a zip" 422 invalid_document "/v1/documents?id=t.docx" "${I[@]}" \
  -H "Content-Type: $DOCX_T" --data-binary 'PK nonsense'
bad "bad base64" 422 invalid_field /v1/documents "${I[@]}" -H 'Content-Type: application/json' \
  -d '{"id":"a.pdf","content_base64":"@@@not base64@@@"}'
bad "content and content_base64 both" 422 invalid_field /v1/documents "${I[@]}" \
  -H 'Content-Type: application/json' -d '{"id":"a.pdf","content":"x","content_base64":"eA=="}'
bad "content_base64 for Markdown" 422 invalid_field /v1/documents "${I[@]}" \
  -H 'Content-Type: application/json' -d '{"id":"a.md","content_base64":"eA=="}'
bad "an unknown format name" 422 invalid_field /v1/documents "${I[@]}" \
  -H 'Content-Type: application/json' -d '{"id":"a.doc","content":"x","format":"doc"}'
check "  the message lists pdf and docx" jb '.error.message|test("pdf or docx")'
req GET /v1/documents "${I[@]}" > /dev/null
check "the refused uploads left nothing behind" \
  jb '[.documents[].id] | (index("x.pdf") == null and index("junk.pdf") == null and index("t.docx") == null and index("policies") == null)'
check "  and no copies under uploads/" bash -c "[ ! -e '$FRONTDESK_DATA_DIR/uploads/x.pdf' ] && [ ! -e '$FRONTDESK_DATA_DIR/uploads/junk.pdf' ]"
check "the server is alive after them" bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' $U/healthz) = 200 ]"

# ---- restart: the uploaded files are read again --------------------------------------------
kill -TERM $PID
for _ in $(seq 100); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
U="http://127.0.0.1:$PORT"
chat "prix express ?"
check "after a restart the DOCX upload still answers" jb '.citations|map(.document)|index("terms/conditions.docx")'
req GET /v1/documents "${I[@]}" > /dev/null
check "both uploads listed after the restart" \
  jb '[.documents[].id] | (index("terms/conditions.docx") != null and index("shop/policies-copy.pdf") != null)'
finish
