#!/usr/bin/env bash
# http_attachments.sh: images from the customer to the agent (issue 14).
# POST /v1/sessions/{id}/attachments while a person has (or is about to
# have) the conversation: PNG, JPEG, GIF and WebP known by their bytes,
# anything else 415 whatever the request says, a size cap (413), nothing
# while the assistant has it (409). The image is a customer turn the
# agent's queue counts; the owner and operators read it back, another key
# gets 404 as for a session that does not exist; it goes with the session.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
ALICE=$("$FD" keys create --scope chat --name alice --json | jq -r .key)
BOB=$("$FD" keys create --scope chat --name bob --json | jq -r .key)
OPER=$("$FD" keys create --scope operator --name ops --json | jq -r .key)
echo 'agent-password' | "$FD" agents add ana > /dev/null

# Small images of each kind, and what must be refused.
python3 - "$T" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
def chunk(t, b): return struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b) & 0xffffffff)
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 2, 0, 0, 0)) + \
      chunk(b'IDAT', zlib.compress(b'\x00\xff\x00\x00')) + chunk(b'IEND', b'')
open(d + '/a.png', 'wb').write(png)
open(d + '/a.jpg', 'wb').write(b'\xff\xd8\xff\xe0\x00\x10JFIF\x00' + b'\x00' * 40 + b'\xff\xd9')
open(d + '/a.gif', 'wb').write(b'GIF89a\x01\x00\x01\x00\x00\x00\x00;')
open(d + '/a.webp', 'wb').write(b'RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00')
open(d + '/a.svg', 'wb').write(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
open(d + '/a.html', 'wb').write(b'<html><script>alert(1)</script></html>')
open(d + '/big.png', 'wb').write(png + b'\x00' * 5000)
PY

export FRONTDESK_SERVER_MAX_ATTACHMENT_BYTES=4096
"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
req() { local m=$1 p=$2; shift 2; curl -s --max-time 10 -o "$T/b" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
jb() { jq -e "$1" "$T/b" > /dev/null; }
J=(-H 'Content-Type: application/json')
A=(-H "Authorization: Bearer $ALICE")
B=(-H "Authorization: Bearer $BOB")
O=(-H "Authorization: Bearer $OPER")
up() { local file=$1 type=$2; shift 2; req POST "/v1/sessions/$SID/attachments" -H "Content-Type: $type" --data-binary "@$T/$file" "$@"; }

req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"what is your minimum order?"}' > /dev/null
SID=$(jq -r .session_id "$T/b")
s=$(up a.png image/png "${A[@]}")
check "while the assistant has the conversation: 409" bash -c "[ $s = 409 ] && jq -e '.error.code==\"conflict\"' '$T/b' > /dev/null"

req POST /v1/chat "${J[@]}" "${A[@]}" -d "$(jq -cn --arg s "$SID" '{message:"I want to talk to a real person",session_id:$s}')" > /dev/null
TK=$(jq -r .escalation.ticket "$T/b")
check "handed off ($TK)" bash -c "[[ '$TK' == HD-* ]]"

s=$(up a.png image/png "${A[@]}")
check "a PNG while waiting for a person: 201 with its id, type, size and url" \
  bash -c "[ $s = 201 ] && jq -e '.id>0 and .type==\"image/png\" and .bytes==$(stat -c %s "$T/a.png") and ((.id|tostring) as \$i | .url|endswith(\"/attachments/\"+\$i))' '$T/b' > /dev/null"
PNG_ID=$(jq -r .id "$T/b")
s=$(up a.jpg image/png "${A[@]}")
check "the type is read from the bytes (a JPEG sent as image/png is a JPEG)" bash -c "[ $s = 201 ] && jq -e '.type==\"image/jpeg\"' '$T/b' > /dev/null"
check "a GIF (sent as application/octet-stream)" bash -c "[ $(up a.gif application/octet-stream "${A[@]}") = 201 ] && jq -e '.type==\"image/gif\"' '$T/b' > /dev/null"
check "a WebP" bash -c "[ $(up a.webp image/webp "${A[@]}") = 201 ] && jq -e '.type==\"image/webp\"' '$T/b' > /dev/null"
s=$(up a.svg image/svg+xml "${A[@]}")
check "an SVG (script inside): 415" bash -c "[ $s = 415 ] && jq -e '.error.code==\"unsupported_media_type\"' '$T/b' > /dev/null"
check "HTML claiming to be a PNG: 415" test "$(up a.html image/png "${A[@]}")" = 415
check "JSON as the body: 415" test "$(up a.png application/json "${A[@]}")" = 415
check "no Content-Type: 415" \
  test "$(req POST "/v1/sessions/$SID/attachments" -H 'Content-Type:' --data-binary "@$T/a.png" "${A[@]}")" = 415
s=$(up big.png image/png "${A[@]}")
check "larger than server.max_attachment_bytes: 413" bash -c "[ $s = 413 ] && jq -e '.error.code==\"too_large\" and (.error.message|test(\"4096\"))' '$T/b' > /dev/null"
s=$(req POST "/v1/sessions/$SID/attachments" -H 'Content-Type: image/png' "${A[@]}")
check "an empty body: 422" bash -c "[ $s = 422 ] && jq -e '.error.field==\"body\"' '$T/b' > /dev/null"
check "GET on the collection: 405" test "$(req GET "/v1/sessions/$SID/attachments" "${A[@]}")" = 405

# ---- who may read it ------------------------------------------------------------------
code=$(curl -s --max-time 10 -o "$T/got" -D "$T/h" -w '%{http_code}' "${A[@]}" "$U/v1/sessions/$SID/attachments/$PNG_ID")
check "the owner reads it back: the same bytes, its type, nosniff" \
  bash -c "[ $code = 200 ] && cmp -s '$T/got' '$T/a.png' && grep -qi '^content-type: image/png' '$T/h' && grep -qi '^x-content-type-options: nosniff' '$T/h'"
check "an operator reads it (the conversation was handed off)" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "${O[@]}" "$U/v1/sessions/$SID/attachments/$PNG_ID")" = 200
TOKEN=$(curl -s "${J[@]}" -d '{"name":"ana","password":"agent-password"}' "$U/v1/agents/login" | jq -r .token)
check "a signed-in agent reads it" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$U/v1/sessions/$SID/attachments/$PNG_ID")" = 200
s=$(req GET "/v1/sessions/$SID/attachments/$PNG_ID" "${B[@]}")
check "another key: 404 no such session (not 403)" bash -c "[ $s = 404 ] && jq -e '.error.message==\"no such session\"' '$T/b' > /dev/null"
check "  and it cannot add one: 404" test "$(up a.png image/png "${B[@]}")" = 404
check "an operator cannot add one (the customer's only): 403" test "$(up a.png image/png "${O[@]}")" = 403
check "no key: 401" test "$(req GET "/v1/sessions/$SID/attachments/$PNG_ID")" = 401
check "an id that does not exist: 404" test "$(req GET "/v1/sessions/$SID/attachments/99999" "${A[@]}")" = 404
check "an id that is not a number: 404" test "$(req GET "/v1/sessions/$SID/attachments/x1" "${A[@]}")" = 404

# Another session of alice's: its id space is its own.
req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"I want to talk to a real person"}' > /dev/null
SID2=$(jq -r .session_id "$T/b")
check "an attachment id read through another session: 404" \
  test "$(req GET "/v1/sessions/$SID2/attachments/$PNG_ID" "${A[@]}")" = 404

# ---- the agent's side: a customer turn the queue counts -----------------------------------
req GET "/v1/sessions/$SID" "${A[@]}" > /dev/null
check "the session has the image as a customer turn with its meta" \
  jb "[.turns[] | select(.meta.attachment.id==$PNG_ID)] | length==1 and .[0].role==\"user\" and .[0].text==\"(image)\""
req GET "/v1/handoffs/events" "${O[@]}" --max-time 2 > /dev/null
check "the agents' queue counts the images as unanswered customer messages" \
  bash -c "grep '^data: ' '$T/b' | sed 's/^data: //' | jq -se --arg tk '$TK' 'map(select(.ticket==\$tk)) | .[0].unanswered >= 5' > /dev/null"

n429=0
for _ in $(seq 10); do [ "$(up a.gif image/gif "${A[@]}")" = 429 ] && n429=$((n429 + 1)); done
check "a flood of images is limited (429 naming attachments)" \
  bash -c "[ $n429 -ge 1 ] && jq -e '.error.code==\"rate_limited\" and (.error.message|test(\"attachments\"))' '$T/b' > /dev/null"
check "  and does not eat the customer's messages" \
  test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -d "$(jq -cn --arg s "$SID" '{message:"are you there?",session_id:$s}')")" = 200

# ---- gone with the session ------------------------------------------------------------------
check "the owner deletes the conversation" test "$(req DELETE "/v1/sessions/$SID" "${A[@]}")" = 200
check "its images are gone (404)" test "$(req GET "/v1/sessions/$SID/attachments/$PNG_ID" "${A[@]}")" = 404
check "  from the store too" bash -c "[ \"\$(sqlite3 '$T/var/frontdesk.db' \"select count(*) from attachments where session_id='$SID'\")\" = 0 ]"
check "no image bytes reached the log" bash -c "! grep -q 'IHDR' '$T/serve.log'"

kill $PID 2>/dev/null
wait $PID 2>/dev/null
finish
