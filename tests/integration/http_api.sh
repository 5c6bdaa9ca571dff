#!/usr/bin/env bash
# http_api.sh: `frontdesk serve` on 127.0.0.1 through real HTTP (curl):
# every endpoint of this slice, auth and scopes, each error status, rate
# limits with Retry-After, escaping of hostile input, reload and drain.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
CHAT=$("$FD" keys create --scope chat --name it --json | jq -r .key)
INGEST=$("$FD" keys create --scope ingest --json | jq -r .key)
OPER=$("$FD" keys create --scope operator --name ana --json | jq -r .key)
ADMIN=$("$FD" keys create --scope admin --name root --json | jq -r .key)
export FRONTDESK_LIMITS_SESSION_PER_MIN=10 FRONTDESK_LOG_LEVEL=info

"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
U="http://127.0.0.1:$PORT"
# req METHOD PATH [curl args...]: body to $T/b, status on stdout, headers to $T/h
req() { local m=$1 p=$2; shift 2; curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
jb() { jq -e "$1" "$T/b" > /dev/null; }
J=(-H 'Content-Type: application/json')
A=(-H "Authorization: Bearer $CHAT")

# ---- health and documents for tools ----------------------------------------------
check "healthz 200" test "$(req GET /healthz)" = 200
check "readyz: store ok, index loaded" bash -c "[ $(req GET /readyz) = 200 ] && jq -e '.store==\"ok\" and .index==\"loaded\"' '$T/b' >/dev/null"
req GET /metrics > /dev/null
check "metrics in Prometheus text" grep -q '^# TYPE frontdesk_http_requests_total counter' "$T/b"
check "metrics: the C library's heap, held and free" bash -c "grep -q '^frontdesk_heap_bytes{state=\"in_use\"} [0-9]' '$T/b' && grep -q '^frontdesk_heap_bytes{state=\"free\"} [0-9]' '$T/b'"
check "openapi is OpenAPI 3.1 JSON with /v1/chat" bash -c "[ $(req GET /openapi.json) = 200 ] && jq -e '.openapi==\"3.1.0\" and (.paths|has(\"/v1/chat\"))' '$T/b' >/dev/null"

# No member twice in one object (a second "parameters" silently replaced the
# first), and every $ref points at something that exists.
python3 - "$T/b" > "$T/oa.out" 2>&1 <<'PYEOF'
import json, sys
def pairs(ps):
    keys = [k for k, _ in ps]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise SystemExit("duplicate members: %s" % sorted(dup))
    return dict(ps)
doc = json.load(open(sys.argv[1]), object_pairs_hook=pairs)
def refs(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "$ref":
                yield v
            else:
                yield from refs(v)
    elif isinstance(o, list):
        for v in o:
            yield from refs(v)
def resolve(r):
    node = doc
    for part in r.lstrip("#/").split("/"):
        if part not in node:
            raise SystemExit("dangling $ref " + r)
        node = node[part]
    return node
for r in refs(doc):
    resolve(r)
# every {name} in a path is declared as a path parameter of each operation,
# and every operation has an operationId (what redocly lint asks)
import re
for path, item in doc["paths"].items():
    for method, op in item.items():
        if not isinstance(op, dict):
            continue
        if "operationId" not in op:
            raise SystemExit("no operationId: %s %s" % (method, path))
        params = [resolve(p["$ref"]) if "$ref" in p else p for p in op.get("parameters", []) + item.get("parameters", [])]
        declared = {p["name"] for p in params if p.get("in") == "path"}
        for name in re.findall(r"{([^}]+)}", path):
            if name not in declared:
                raise SystemExit("path parameter {%s} undeclared: %s %s" % (name, method, path))
PYEOF
check "openapi: no duplicate members, every \$ref resolves, path parameters declared, operationIds ($(head -c 200 "$T/oa.out"))" test ! -s "$T/oa.out"
check "openapi: Idempotency-Key on the chat, stream and completions routes" jq -e '[.paths["/v1/chat","/v1/chat/stream","/v1/chat/completions"].post.parameters|map(."$ref")|index("#/components/parameters/IdempotencyKey")]|all(. != null)' "$T/b"
check "security headers" bash -c "grep -qi '^X-Content-Type-Options: nosniff' '$T/h' && grep -qi '^Content-Security-Policy' '$T/h' && grep -qi '^X-Frame-Options: DENY' '$T/h' && grep -qi '^Referrer-Policy' '$T/h'"
check "a request id is generated" grep -qi '^X-Request-Id: [0-9a-f]' "$T/h"
req GET /healthz -H 'X-Request-Id: abc-123' > /dev/null
check "a sane request id is echoed" grep -qi '^X-Request-Id: abc-123' "$T/h"

# ---- chat --------------------------------------------------------------------------
check "no key: 401" test "$(req POST /v1/chat "${J[@]}" -d '{"message":"hi"}')" = 401
check "bad key: 401" test "$(req POST /v1/chat "${J[@]}" -H 'Authorization: Bearer fdk_nope' -d '{"message":"hi"}')" = 401
check "wrong scope: 403" test "$(req POST /v1/chat "${J[@]}" -H "Authorization: Bearer $INGEST" -d '{"message":"hi"}')" = 403
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"How long do I have to report defective boxes?"}')
check "chat 200 with the ask --json fields plus cached and request_id" bash -c "[ $s = 200 ] && jq -e '.answered and (.citations|length>0) and .cached==false and (.request_id|length>0) and has(\"session_id\") and has(\"grounded\") and has(\"degraded\")' '$T/b' >/dev/null"
SID=$(jq -r .session_id "$T/b")
check "415 without a JSON content type" test "$(req POST /v1/chat "${A[@]}" -d '{"message":"hi"}')" = 415
check "400 on broken JSON" bash -c "[ $(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":') = 400 ] && jq -e '.error.code==\"invalid_json\"' '$T/b' >/dev/null"
check "422 without message, naming the field" bash -c "[ $(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{}') = 422 ] && jq -e '.error.field==\"message\"' '$T/b' >/dev/null"
check "422 when message is not a string" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":5}')" = 422
long=$(head -c 2500 /dev/zero | tr '\0' 'a')
check "422 on a 2,500-character message" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -d "{\"message\":\"$long\"}")" = 422
head -c 70000 /dev/zero | tr '\0' 'a' > "$T/big"
check "413 on a 70 KB body" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary @"$T/big")" = 413
longuser=$(printf 'u%.0s' $(seq 300))
check "422 on a 300-byte user id, naming the field" bash -c "[ $(req POST /v1/chat "${J[@]}" "${A[@]}" -d "{\"message\":\"hi\",\"user\":\"$longuser\"}") = 422 ] && jq -e '.error.field==\"user\"' '$T/b' >/dev/null"
check "422 on a bad session id (SQL-looking)" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -d "{\"message\":\"hi\",\"session_id\":\"1' OR '1'='1\"}")" = 422
check "405 on GET /v1/chat, with Allow: POST" bash -c "[ $(req GET /v1/chat "${A[@]}") = 405 ] && grep -qi '^Allow: POST' '$T/h'"
check "404 on an unknown path" bash -c "[ $(req GET /v1/nope "${A[@]}") = 404 ] && jq -e '.error.code==\"not_found\"' '$T/b' >/dev/null"

# hostile strings come back escaped, never as markup
req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"<script>alert(1)</script> do you deliver to Sentosa?","user":"<img src=x onerror=alert(1)>"}' > /dev/null
check "no raw <script> in any response" bash -c "! grep -q '<script>' '$T/b'"
req POST /v1/chat "${J[@]}" "${A[@]}" -d "{\"message\":\"'; DROP TABLE sessions; --\"}" > /dev/null
check "SQL in a message is just text" test "$(req GET "/v1/sessions/$SID" "${A[@]}")" = 200

# ---- sessions -----------------------------------------------------------------------
req POST /v1/chat "${J[@]}" "${A[@]}" -d "{\"message\":\"and on Saturday?\",\"session_id\":\"$SID\"}" > /dev/null
check "GET session returns its turns" bash -c "[ $(req GET /v1/sessions/$SID "${A[@]}") = 200 ] && jq -e '(.turns|length)==4' '$T/b' >/dev/null"
check "DELETE session" test "$(req DELETE "/v1/sessions/$SID" "${A[@]}")" = 200
check "then 404" test "$(req GET "/v1/sessions/$SID" "${A[@]}")" = 404

# ---- search and documents ------------------------------------------------------------
check "search" bash -c "[ $(req GET '/v1/search?q=sentosa+delivery&k=3' "${A[@]}") = 200 ] && jq -e '(.results|length)==3' '$T/b' >/dev/null"
check "search without q: 422" test "$(req GET /v1/search "${A[@]}")" = 422
check "search with a bad mode: 422" test "$(req GET '/v1/search?q=x&mode=magic' "${A[@]}")" = 422
check "documents need the ingest scope" test "$(req GET /v1/documents "${A[@]}")" = 403
s=$(req GET /v1/documents -H "Authorization: Bearer $INGEST")
check "documents list" bash -c "[ $s = 200 ] && jq -e '(.documents|length)>200' '$T/b' >/dev/null"

# ---- handoffs: a person takes over, the bot stays silent, then hands back ----------
O=(-H "Authorization: Bearer $OPER")
req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"I want to speak to a real person please"}' > /dev/null
HS=$(jq -r .session_id "$T/b"); TICKET=$(jq -r .escalation.ticket "$T/b")
check "escalation opens a ticket" test "${TICKET:0:3}" = HD-
check "handoffs need the operator scope" test "$(req GET /v1/handoffs "${A[@]}")" = 403
req GET '/v1/handoffs?status=open' "${O[@]}" > /dev/null
HID=$(jq -r --arg s "$HS" '.handoffs[]|select(.session_id==$s)|.id' "$T/b")
check "the open handoff is listed with its summary" jb "(.handoffs|map(select(.ticket==\"$TICKET\"))|.[0].summary|test(\"real person\"))"
check "a bad status filter is 422" test "$(req GET '/v1/handoffs?status=x' "${O[@]}")" = 422
# The customer's live line: an SSE stream of the session's events.
curl -sN --max-time 8 "${A[@]}" "$U/v1/sessions/$HS/events" > "$T/events" 2>/dev/null &
EVPID=$!
check "events of an unknown session: 404" test "$(req GET /v1/sessions/nope/events "${A[@]}")" = 404
check "events without a key: 401" test "$(req GET "/v1/sessions/$HS/events")" = 401
check "replying before claiming is 409" test "$(req POST /v1/handoffs/$HID/messages "${J[@]}" "${O[@]}" -d '{"message":"hi"}')" = 409
check "claim, by the ticket the customer was given ($TICKET)" bash -c "[ $(req POST /v1/handoffs/$TICKET/claim "${O[@]}") = 200 ] && jq -e '.status==\"claimed\" and .operator==\"ana\" and .id==$HID' '$T/b' >/dev/null"
check "a second claim is 409" test "$(req POST /v1/handoffs/$HID/claim "${O[@]}")" = 409
req POST /v1/chat "${J[@]}" "${A[@]}" -d "{\"message\":\"hello? how much is delivery?\",\"session_id\":\"$HS\"}" > /dev/null
check "while claimed the bot stays silent" jb '.route=="human" and (.citations|length)==0'
check "operator reply" test "$(req POST /v1/handoffs/$HID/messages "${J[@]}" "${O[@]}" -d '{"message":"Hi, this is Ana. Delivery is S$18 below S$250."}')" = 200
for _ in $(seq 40); do grep -q 'Delivery is S\$18' "$T/events" && break; sleep 0.1; done
check "the operator's reply reaches the customer's live stream" grep -q '^event: message' "$T/events"
grep -A1 '^event: message' "$T/events" | grep '^data:' | sed 's/^data: //' > "$T/ev.json"
check "...with its text and turn number" jq -e '.role=="operator" and (.text|contains("Delivery is S$18")) and .seq>0' "$T/ev.json"
check "the stream told the state: waiting, then human" bash -c "grep -A1 '^event: state' '$T/events' | grep -o '\"state\":\"[a-z]*\"' | tr '\n' ' ' | grep -q 'waiting.*human'"
check "operator message without text is 422" test "$(req POST /v1/handoffs/$HID/messages "${J[@]}" "${O[@]}" -d '{}')" = 422
req GET "/v1/sessions/$HS" "${A[@]}" > /dev/null
check "the customer's session shows the operator's reply" jb '.state=="human" and (.turns|map(select(.role=="operator"))|length)==1'
check "resolve" test "$(req POST /v1/handoffs/$HID/resolve "${O[@]}")" = 200
for _ in $(seq 40); do grep -q '"state":"bot"' "$T/events" && break; sleep 0.1; done
check "resolve reaches the stream as state bot" grep -q '"state":"bot"' "$T/events"
kill $EVPID 2>/dev/null
check "resolving twice is 409" test "$(req POST /v1/handoffs/$HID/resolve "${O[@]}")" = 409
check "unknown handoff is 404" test "$(req POST /v1/handoffs/999999/claim "${O[@]}")" = 404
check "unknown ticket is 404, a malformed one too" bash -c "[ $(req POST /v1/handoffs/HD-999999/claim "${O[@]}") = 404 ] && [ $(req POST /v1/handoffs/HD-x/claim "${O[@]}") = 404 ]"
req POST /v1/chat "${J[@]}" "${A[@]}" -d "{\"message\":\"how long do I have to report defects?\",\"session_id\":\"$HS\"}" > /dev/null
check "after resolve the bot answers again" jb '.route=="knowledge" and .answered'

# ---- canned replies: the knowledge base's canned.md, for the console ----------------------
s=$(req GET /v1/canned-replies "${O[@]}")
check "canned replies: the example's, in file order" bash -c "[ $s = 200 ] && jq -e '(.replies|length)==4 and .replies[0].shortcut==\"hello\" and (.replies[1]|.shortcut==\"delivery\" and .title==\"Delivery fees\" and (.text|test(\"S\\\\\$250\")))' '$T/b' > /dev/null"
check "canned replies with a chat key: 403" test "$(req GET /v1/canned-replies "${A[@]}")" = 403
check "canned replies without a key: 401" test "$(req GET /v1/canned-replies)" = 401
check "canned replies are GET only (405)" test "$(req POST /v1/canned-replies "${O[@]}")" = 405
mkdir -p "$T/canned-bad" "$T/canned-new"
printf '## /x\nfirst\n## /x\nagain\n' > "$T/canned-bad/canned.md"
"$FD" ingest "$T/canned-bad" > "$T/ingest-canned.out" 2>&1
check "a broken canned.md is skipped at ingest, naming its line" grep -q 'canned.md:3: /x is there twice' "$T/ingest-canned.out"
check "  and the console keeps the last good one" bash -c "[ $(req GET /v1/canned-replies "${O[@]}") = 200 ] && jq -e '(.replies|length)==4' '$T/b' > /dev/null"
printf '# Ours\n\n## /sorry Apology\nWe are sorry for the trouble.\n' > "$T/canned-new/canned.md"
"$FD" ingest "$T/canned-new" > /dev/null 2>&1
check "a new canned.md is served once ingested" bash -c "[ $(req GET /v1/canned-replies "${O[@]}") = 200 ] && jq -e '.replies==[{\"shortcut\":\"sorry\",\"title\":\"Apology\",\"text\":\"We are sorry for the trouble.\"}]' '$T/b' > /dev/null"
mkdir -p "$T/canned-orig" && cp "$EX/canned.md" "$T/canned-orig/"
"$FD" ingest "$T/canned-orig" > /dev/null 2>&1
check "  and the example's again (4 replies)" bash -c "[ $(req GET /v1/canned-replies "${O[@]}") = 200 ] && jq -e '(.replies|length)==4' '$T/b' > /dev/null"

# ---- the operator console: live queue, internal notes, typing, search -------------------
# sse FILE EVENT: the data of every EVENT in an SSE capture, one JSON per line
sse() { grep -A1 "^event: $2\$" "$1" | grep '^data: ' | sed 's/^data: //'; }
# until SECONDS CMD...: retries CMD every 0.1 s
until_ok() { local n=$(($1 * 10)); shift; for _ in $(seq $n); do "$@" && return 0; sleep 0.1; done; return 1; }
curl -sN --max-time 20 "${O[@]}" "$U/v1/handoffs/events" > "$T/queue" 2>/dev/null &
QPID=$!
until_ok 5 grep -q '^event: sync' "$T/queue"
check "the queue stream starts with a sync whose id is a time in ms" \
  bash -c "grep -B1 '^event: sync' '$T/queue' | head -1 | grep -qE '^id: [0-9]{13}$'"
check "  and lists no resolved handoff" bash -c "! grep -q '^event: handoff' '$T/queue' || ! sse '$T/queue' handoff | jq -e 'select(.status==\"resolved\")' > /dev/null"
req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"I want a real person, call me on +65 8765-4321 about my crushed cartons"}' > /dev/null
HS2=$(jq -r .session_id "$T/b"); TICKET2=$(jq -r .escalation.ticket "$T/b"); HID2=$((10#${TICKET2#HD-}))
check "a new conversation reaches the queue stream as 'opened', without a reload" \
  until_ok 5 bash -c "sse '$T/queue' opened | jq -e 'select(.id==$HID2 and .status==\"open\" and .customer_messages==1 and .unanswered==1 and .waiting_since>0)' > /dev/null"
curl -sN --max-time 12 "${A[@]}" "$U/v1/sessions/$HS2/events" > "$T/ev2" 2>/dev/null &
EV2=$!
check "typing before the claim is 409" test "$(req POST /v1/handoffs/$HID2/typing "${O[@]}")" = 409
req POST /v1/handoffs/$HID2/claim "${O[@]}" > /dev/null
check "the claim reaches the queue stream" \
  until_ok 5 bash -c "sse '$T/queue' claimed | jq -e 'select(.id==$HID2 and .operator==\"ana\")' > /dev/null"
check "typing: 202 with how long it shows" bash -c "[ $(req POST /v1/handoffs/$TICKET2/typing "${O[@]}") = 202 ] && jq -e '.typing and .ttl_ms>=3000' '$T/b' > /dev/null"
check "the customer's stream says the agent is typing (an event without an id)" \
  until_ok 5 bash -c "grep -q '^event: typing' '$T/ev2' && ! grep -B1 '^event: typing' '$T/ev2' | grep -q '^id:'"
check "typing with a chat key: 403" test "$(req POST /v1/handoffs/$HID2/typing "${A[@]}")" = 403
check "typing is POST only (405)" bash -c "[ $(req GET /v1/handoffs/$HID2/typing "${O[@]}") = 405 ] && grep -qi '^Allow: POST' '$T/h'"

# internal notes: between agents, never to the customer
s=$(req POST /v1/handoffs/$HID2/notes "${J[@]}" "${O[@]}" -d '{"text":"VIP account: refund without asking for photos"}')
check "a note: 201 with its author" bash -c "[ $s = 201 ] && jq -e '.id>0 and .author==\"ana\" and .handoff_id==$HID2 and (.text|startswith(\"VIP\"))' '$T/b' > /dev/null"
check "the note reaches the queue stream (notes: 1)" \
  until_ok 5 bash -c "sse '$T/queue' note | jq -e 'select(.id==$HID2 and .notes==1)' > /dev/null"
check "GET /v1/handoffs/{id}: the handoff with its notes" \
  bash -c "[ $(req GET /v1/handoffs/$TICKET2 "${O[@]}") = 200 ] && jq -e '.id==$HID2 and .status==\"claimed\" and (.notes|length)==1 and .notes[0].author==\"ana\"' '$T/b' > /dev/null"
check "GET /v1/handoffs/{id}/notes: the notes alone" \
  bash -c "[ $(req GET /v1/handoffs/$HID2/notes "${O[@]}") = 200 ] && jq -e '(.notes|length)==1 and (has(\"status\")|not)' '$T/b' > /dev/null"
check "note, bad JSON: 400" test "$(req POST /v1/handoffs/$HID2/notes "${J[@]}" "${O[@]}" -d '{"text":')" = 400
check "note, not JSON: 415" test "$(req POST /v1/handoffs/$HID2/notes "${O[@]}" -H 'Content-Type: text/plain' -d 'hi')" = 415
s=$(req POST /v1/handoffs/$HID2/notes "${J[@]}" "${O[@]}" -d '{"note":"x"}')
check "note without text: 422 naming text" bash -c "[ $s = 422 ] && jq -e '.error.code==\"invalid_field\" and .error.field==\"text\"' '$T/b' > /dev/null"
check "note, text not a string: 422" test "$(req POST /v1/handoffs/$HID2/notes "${J[@]}" "${O[@]}" -d '{"text":42}')" = 422
s=$(req POST /v1/handoffs/$HID2/notes "${J[@]}" "${O[@]}" -d "{\"text\":\"$(head -c 2001 /dev/zero | tr '\0' a)\"}")
check "a note over 2000 bytes: 422, and not kept" bash -c "[ $s = 422 ] && [ \$(curl -s '${O[@]:0:1}' '${O[@]:1:1}' '$U/v1/handoffs/$HID2/notes' | jq '.notes|length') = 1 ]"
check "a note of exactly 2000 bytes is kept" test "$(req POST /v1/handoffs/$HID2/notes "${J[@]}" "${O[@]}" -d "{\"text\":\"$(head -c 2000 /dev/zero | tr '\0' b)\"}")" = 201
check "note on an unknown handoff: 404" test "$(req POST /v1/handoffs/999999/notes "${J[@]}" "${O[@]}" -d '{"text":"x"}')" = 404
check "GET an unknown handoff: 404" test "$(req GET /v1/handoffs/999999 "${O[@]}")" = 404
check "notes with a chat key: 403 (read and write)" bash -c "[ $(req POST /v1/handoffs/$HID2/notes "${J[@]}" "${A[@]}" -d '{"text":"x"}') = 403 ] && [ $(req GET /v1/handoffs/$HID2 "${A[@]}") = 403 ]"
check "notes without a key: 401" test "$(req GET /v1/handoffs/$HID2/notes)" = 401
check "DELETE on a handoff: 405" test "$(req DELETE /v1/handoffs/$HID2 "${O[@]}")" = 405
check "an unknown action: 404" test "$(req POST /v1/handoffs/$HID2/nope "${O[@]}")" = 404
req GET "/v1/sessions/$HS2" "${A[@]}" > /dev/null
check "the customer never sees a note (their session)" bash -c "! grep -q 'VIP' '$T/b' && ! grep -q 'bbbbbbbbbb' '$T/b'"

# the customer writes, the agent replies: the queue counts it
req POST /v1/chat "${J[@]}" "${A[@]}" -d "{\"message\":\"are you there?\",\"session_id\":\"$HS2\"}" > /dev/null
check "a customer message reaches the queue stream (2 messages, 2 unanswered)" \
  until_ok 5 bash -c "sse '$T/queue' message | jq -e 'select(.id==$HID2 and .customer_messages==2 and .unanswered==2)' > /dev/null"
req POST /v1/handoffs/$HID2/messages "${J[@]}" "${O[@]}" -d '{"message":"Yes, I am here."}' > /dev/null
check "the agent's reply reaches it as 'replied' (nothing unanswered, no wait)" \
  until_ok 5 bash -c "sse '$T/queue' replied | jq -e 'select(.id==$HID2 and .unanswered==0 and .waiting_since==null)' > /dev/null"
check "nor does the customer's stream carry a note" bash -c "until_ok 3 grep -q 'I am here' '$T/ev2'; ! grep -q 'VIP' '$T/ev2'"

# search: by what the customer wrote, the phone however typed, the ticket
check "search by customer text" bash -c "[ $(req GET '/v1/handoffs?q=CRUSHED+cartons' "${O[@]}") = 200 ] && jq -e '(.handoffs|map(.id)|index($HID2))!=null and (.handoffs[0].snippet|test(\"crushed cartons\"))' '$T/b' > /dev/null"
check "search by phone, written another way" bash -c "[ $(req GET '/v1/handoffs?q=87654321' "${O[@]}") = 200 ] && jq -e '.handoffs|length==1 and .[0].id==$HID2' '$T/b' > /dev/null"
check "search by ticket" bash -c "[ $(req GET "/v1/handoffs?q=$TICKET2" "${O[@]}") = 200 ] && jq -e '.handoffs[0].id==$HID2' '$T/b' > /dev/null"
check "search with limit=1: one result" bash -c "[ $(req GET '/v1/handoffs?q=person&limit=1' "${O[@]}") = 200 ] && jq -e '.handoffs|length==1' '$T/b' > /dev/null"
check "search finding nothing: an empty list" bash -c "[ $(req GET '/v1/handoffs?q=zzqqxx' "${O[@]}") = 200 ] && jq -e '.handoffs==[]' '$T/b' > /dev/null"
check "search, an empty q: 422 naming q" bash -c "[ $(req GET '/v1/handoffs?q=' "${O[@]}") = 422 ] && jq -e '.error.field==\"q\"' '$T/b' > /dev/null"
check "search, q over 200 bytes: 422" test "$(req GET "/v1/handoffs?q=$(head -c 201 /dev/zero | tr '\0' a)" "${O[@]}")" = 422
check "search, a bad limit (0, 101, abc): 422" bash -c "[ $(req GET '/v1/handoffs?q=a&limit=0' "${O[@]}") = 422 ] && [ $(req GET '/v1/handoffs?q=a&limit=101' "${O[@]}") = 422 ] && [ $(req GET '/v1/handoffs?q=a&limit=abc' "${O[@]}") = 422 ]"
check "search with a chat key: 403" test "$(req GET '/v1/handoffs?q=crushed' "${A[@]}")" = 403

# reconnecting with Last-Event-ID: what changed meanwhile comes again
LAST=$(grep '^id: ' "$T/queue" | tail -1 | cut -d' ' -f2)
kill $QPID 2>/dev/null
req POST /v1/handoffs/$HID2/resolve "${O[@]}" > /dev/null
curl -sN --max-time 3 "${O[@]}" -H "Last-Event-ID: $LAST" "$U/v1/handoffs/events" > "$T/queue2" 2>/dev/null
check "a reconnect with Last-Event-ID hears the resolve it missed" \
  bash -c "sse '$T/queue2' resolved | jq -e 'select(.id==$HID2)' > /dev/null"
curl -sN --max-time 2 "${O[@]}" "$U/v1/handoffs/events" > "$T/queue3" 2>/dev/null
check "  a new client does not (the resolved are not its queue)" bash -c "grep -q '^event: sync' '$T/queue3' && ! grep -q '\"id\":$HID2,' '$T/queue3'"
check "queue stream, a bad Last-Event-ID: 422" test "$(req GET /v1/handoffs/events "${O[@]}" -H 'Last-Event-ID: yesterday')" = 422
check "queue stream with a chat key: 403" test "$(req GET /v1/handoffs/events "${A[@]}")" = 403
check "queue stream without a key: 401" test "$(req GET /v1/handoffs/events)" = 401
kill $EV2 2>/dev/null

# ---- rate limit: 100 rapid messages in one session against 10/min ------------------------
n429=0; nra=0
for i in $(seq 100); do
  s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"hello","session_id":"burst-1"}')
  if [ "$s" = 429 ]; then n429=$((n429+1)); grep -qi '^Retry-After: [1-9]' "$T/h" && nra=$((nra+1)); fi
done
check "100 rapid requests against 10/min: $n429 refused (>= 90)" test "$n429" -ge 90
check "every 429 carries Retry-After ($nra)" test "$nra" = "$n429"
check "429 body is a JSON error" jb '.error.code=="rate_limited"'

# ---- metrics counted what happened ------------------------------------------------------
req GET /metrics > /dev/null
check "metrics count 429s" grep -q 'frontdesk_rate_limited_total{scope="session"}' "$T/b"
check "metrics count requests by route and status" grep -q 'frontdesk_http_requests_total{route="/v1/chat",method="POST",status="200"}' "$T/b"
check "metrics have stage latencies" grep -q 'frontdesk_pipeline_stage_seconds_bucket{stage="retrieve"' "$T/b"
check "metrics count stored turns and their batches" bash -c "grep -q '^frontdesk_commit_turns_total{result=\"stored\"} [1-9]' '$T/b' && grep -q '^frontdesk_commit_batches_total [1-9]' '$T/b'"
check "metrics count WAL checkpoints" grep -q '^frontdesk_wal_checkpoints_total{kind="passive",result="ok"} [0-9]' "$T/b"
check "access log has no message text" bash -c "! grep -q 'defective' '$T/serve.log'"
grep ' access: ' "$T/serve.log" | sed 's/^[^{]*//' > "$T/access.json"
check "access log: one JSON object per request" bash -c "[ \$(wc -l < '$T/access.json') -gt 20 ] && jq -se 'all(.event==\"access\" and (.status|type)==\"number\" and (.request_id|length)>0)' '$T/access.json' >/dev/null"
check "access log: client address truncated (127.0.0.0), never whole" bash -c "jq -se 'all(.ip==\"127.0.0.0\")' '$T/access.json' >/dev/null && ! grep -q '127\.0\.0\.1' '$T/access.json'"
check "access log: route templates, not ids" bash -c "[ -n '$SID' ] && ! grep -q '$SID' '$T/access.json'"

# ---- the decision trace, for admin keys ------------------------------------------------------------
s=$(req POST /v1/chat "${J[@]}" -H "Authorization: Bearer $ADMIN" -d '{"message":"How long do I have to report defective boxes?","trace":true}')
check "trace (admin): the decision with every candidate's evidence" bash -c "[ $s = 200 ] && jq -e '.decision.outcome and (.decision.candidates|length>0) and (.decision.candidates[0]|has(\"cov\") and has(\"ret\"))' '$T/b' >/dev/null"
check "trace needs an admin key: 403" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"hi","trace":true}')" = 403
check "trace must be a boolean: 422" test "$(req POST /v1/chat "${J[@]}" -H "Authorization: Bearer $ADMIN" -d '{"message":"hi","trace":"yes"}')" = 422
req POST /v1/chat "${J[@]}" "${A[@]}" -H 'Cache-Control: no-cache' -d '{"message":"How long do I have to report defective boxes?"}' > /dev/null
check "without trace: the decision, no candidates" jb '.decision.outcome and (.decision|has("candidates")|not)'

# ---- reload and drain ----------------------------------------------------------------------
mkdir -p "$T/more"; printf '# Parking\n\nVisitors can park at Tuas Warehouse for free for 30 minutes.\n' > "$T/more/parking.md"
"$FD" ingest "$T/more" > /dev/null 2>&1
kill -HUP $PID
for _ in $(seq 200); do grep -q 'reloaded' "$T/serve.log" && break; sleep 0.05; done
req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"can visitors park at the warehouse?"}' > /dev/null
check "SIGHUP: the new document answers" jb '.citations|map(.document)|any(endswith("parking.md"))'
kill -TERM $PID
wait $PID; rc=$?
check "SIGTERM: exit 0" test "$rc" = 0

# ---- server.protect_metrics: the service's insides behind an operator key --------------------
FRONTDESK_SERVER_PROTECT_METRICS=true "$FD" serve --port 0 > "$T/serve2.out" 2> "$T/serve2.log" &
PID=$!
for _ in $(seq 200); do grep -q 'http://' "$T/serve2.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve2.out" | tr -d :)"
check "protected: /metrics without a key is 401" test "$(req GET /metrics)" = 401
check "protected: /readyz without a key is 401" test "$(req GET /readyz)" = 401
check "protected: a chat key is 403" test "$(req GET /metrics "${A[@]}")" = 403
check "protected: an operator key reads /metrics" test "$(req GET /metrics "${O[@]}")" = 200
check "protected: /healthz stays open" test "$(req GET /healthz)" = 200
kill -TERM $PID
wait $PID; rc=$?
check "protected server: exit 0" test "$rc" = 0

# ---- an empty knowledge base starts, but says so ------------------------------------------------
FRONTDESK_DATA_DIR="$T/empty-data" "$FD" serve --port 0 > "$T/serve3.out" 2> "$T/serve3.log" &
PID=$!
for _ in $(seq 200); do grep -q 'http://' "$T/serve3.out" 2>/dev/null && break; sleep 0.05; done
check "empty store: the server starts and warns that every question will be declined" \
  grep -q 'knowledge base in .* is empty' "$T/serve3.log"
kill -TERM $PID
wait $PID
finish
