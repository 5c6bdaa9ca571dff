#!/usr/bin/env bash
# http_tenancy.sh: a conversation belongs to the key that created it (issue
# 17 item 3). Another key gets 404 "no such session" — not 403, so ids
# cannot be probed — on every session route: GET, DELETE, the event stream,
# a chat posting into it (JSON, SSE and the OpenAI facade's X-Session-Id).
# Operators read a session only once it was handed off to people.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
ALICE=$("$FD" keys create --scope chat --name alice --json | jq -r .key)
BOB=$("$FD" keys create --scope chat --name bob --json | jq -r .key)
OPER=$("$FD" keys create --scope operator --name ana --json | jq -r .key)
ADMIN=$("$FD" keys create --scope admin --name root --json | jq -r .key)

"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
req() { local m=$1 p=$2; shift 2; curl -s --max-time 5 -o "$T/b" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
jb() { jq -e "$1" "$T/b" > /dev/null; }
J=(-H 'Content-Type: application/json')
A=(-H "Authorization: Bearer $ALICE")
B=(-H "Authorization: Bearer $BOB")
O=(-H "Authorization: Bearer $OPER")
R=(-H "Authorization: Bearer $ADMIN")
msg() { jq -cn --arg m "$1" --arg s "$2" '{message:$m,session_id:$s}'; }

s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"my email is jo@example.com, how long do I have to report defective boxes?"}')
SID=$(jq -r .session_id "$T/b")
check "alice starts a session" bash -c "[ $s = 200 ] && [ -n '$SID' ]"

# ---- every session route, as bob ------------------------------------------------
s=$(req GET "/v1/sessions/$SID" "${B[@]}")
check "bob: GET 404 no such session" bash -c "[ $s = 404 ] && jq -e '.error.code==\"not_found\" and .error.message==\"no such session\"' '$T/b' >/dev/null"
check "bob: the email is not in what he gets" bash -c "! grep -q 'jo@example' '$T/b'"
jq -c 'del(.error.request_id)' "$T/b" > "$T/theirs"
req GET /v1/sessions/never-existed-xyz "${B[@]}" > /dev/null
check "bob's 404 is the same as for an id that does not exist" \
  bash -c "[ \"\$(cat '$T/theirs')\" = \"\$(jq -c 'del(.error.request_id)' '$T/b')\" ]"
check "bob: DELETE 404" test "$(req DELETE "/v1/sessions/$SID" "${B[@]}")" = 404
check "bob: events 404" test "$(req GET "/v1/sessions/$SID/events" "${B[@]}")" = 404
check "bob: rating 404" test "$(req POST "/v1/sessions/$SID/rating" "${J[@]}" "${B[@]}" -d '{"score":1}')" = 404
check "an operator cannot rate it (403)" test "$(req POST "/v1/sessions/$SID/rating" "${J[@]}" "${O[@]}" -d '{"score":1}')" = 403
s=$(req POST "/v1/sessions/$SID/rating" "${J[@]}" "${A[@]}" -d '{"score":6}')
check "alice: a score outside 1..5 is 422 naming score" bash -c "[ $s = 422 ] && jq -e '.error.field==\"score\"' '$T/b' > /dev/null"
s=$(req POST "/v1/sessions/$SID/rating" "${J[@]}" "${A[@]}" -d '{"score":4,"comment":"quick"}')
check "alice rates her own conversation: 200" bash -c "[ $s = 200 ] && jq -e '.rated and .score==4' '$T/b' > /dev/null"
check "bob: chat into it 404" test "$(req POST /v1/chat "${J[@]}" "${B[@]}" -d "$(msg 'what did I say?' "$SID")")" = 404
check "bob: chat/stream into it 404" test "$(req POST /v1/chat/stream "${J[@]}" "${B[@]}" -d "$(msg 'hello' "$SID")")" = 404
check "bob: /v1/chat/completions with X-Session-Id 404" \
  test "$(req POST /v1/chat/completions "${J[@]}" "${B[@]}" -H "X-Session-Id: $SID" -d '{"messages":[{"role":"user","content":"hi"}]}')" = 404
check "an operator: GET 404 (not handed off)" test "$(req GET "/v1/sessions/$SID" "${O[@]}")" = 404
check "an operator cannot delete" test "$(req DELETE "/v1/sessions/$SID" "${O[@]}")" = 403

# ---- alice still has all of it -------------------------------------------------------
s=$(req GET "/v1/sessions/$SID" "${A[@]}")
check "alice: GET 200, one exchange, nothing bob sent" bash -c "[ $s = 200 ] && jq -e '(.turns|length)==2' '$T/b' >/dev/null"
check "alice: chat into it 200" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -d "$(msg 'and how do I report it?' "$SID")")" = 200

# ---- a session id chosen by bob that alice already has is not a way in ----------------
s=$(req POST /v1/chat "${J[@]}" "${B[@]}" -d "$(msg 'hi' bobs-own)")
check "bob may name a new session" bash -c "[ $s = 200 ] && jq -e '.session_id==\"bobs-own\"' '$T/b' >/dev/null"
check "alice cannot read bob's" test "$(req GET /v1/sessions/bobs-own "${A[@]}")" = 404

# ---- handed off: operators read it through the handoff ---------------------------------
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d "$(msg 'I want to talk to a real person' "$SID")")
check "alice asks for a person" bash -c "[ $s = 200 ] && jq -e '.escalation.ticket|startswith(\"HD-\")' '$T/b' >/dev/null"
TK=$(jq -r .escalation.ticket "$T/b")
# An image alice sends the agent is hers and the operators' only.
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' > "$T/img.png"
s=$(req POST "/v1/sessions/$SID/attachments" -H 'Content-Type: image/png' --data-binary "@$T/img.png" "${A[@]}")
IMG=$(jq -r .id "$T/b")
check "alice sends the agent an image" test "$s" = 201
check "bob: the image 404" test "$(req GET "/v1/sessions/$SID/attachments/$IMG" "${B[@]}")" = 404
check "bob: an image into her conversation 404" \
  test "$(req POST "/v1/sessions/$SID/attachments" -H 'Content-Type: image/png' --data-binary "@$T/img.png" "${B[@]}")" = 404
check "an operator reads the image (handed off)" test "$(req GET "/v1/sessions/$SID/attachments/$IMG" "${O[@]}")" = 200
# The console's routes are the operators': a chat key is refused as on the
# other handoff routes, and an internal note never reaches the customer.
check "an operator writes an internal note" test "$(req POST "/v1/handoffs/$TK/notes" "${J[@]}" "${O[@]}" -d '{"text":"internal: check her last three orders"}')" = 201
check "chat keys: the handoff, its notes, search, typing and the queue are 403" \
  bash -c "for p in /v1/handoffs/$TK /v1/handoffs/$TK/notes '/v1/handoffs?q=boxes' /v1/handoffs/events; do [ \$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' '${B[@]:0:1}' '${B[@]:1:1}' \"$U\$p\") = 403 ] || exit 1; done; [ \$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST '${A[@]:0:1}' '${A[@]:1:1}' $U/v1/handoffs/$TK/typing) = 403 ]"
req GET "/v1/sessions/$SID" "${A[@]}" > /dev/null
check "alice's session does not show the note" bash -c "grep -q 'real person' '$T/b' && ! grep -q 'internal: check' '$T/b'"
req GET "/v1/sessions/$SID" "${O[@]}" > /dev/null
check "nor does the session as operators read it (notes come with the handoff)" bash -c "! grep -q 'internal: check' '$T/b'"
check "an operator: GET 200 once handed off" test "$(req GET "/v1/sessions/$SID" "${O[@]}")" = 200
check "an admin: GET 200 once handed off" test "$(req GET "/v1/sessions/$SID" "${R[@]}")" = 200
check "bob still 404" test "$(req GET "/v1/sessions/$SID" "${B[@]}")" = 404
check "alice: DELETE 200" test "$(req DELETE "/v1/sessions/$SID" "${A[@]}")" = 200
check "the handoff and its note went with the conversation" test "$(req GET "/v1/handoffs/$TK/notes" "${O[@]}")" = 404
check "a note on a deleted conversation: 404" test "$(req POST "/v1/handoffs/$TK/notes" "${J[@]}" "${O[@]}" -d '{"text":"x"}')" = 404

kill -TERM $PID
wait $PID; rc=$?
check "SIGTERM: exit 0" test "$rc" = 0
finish
