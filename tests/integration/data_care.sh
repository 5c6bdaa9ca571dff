#!/usr/bin/env bash
# data_care.sh: a customer's data under their control (issue 17): export
# and erasure of one end user's conversations (API, admin scope, and CLI),
# everything that hangs on them gone in one transaction, other users
# untouched, and the audit log of administrative actions.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
ADMIN=$("$FD" keys create --scope admin --name root --json | jq -r .key)
CHAT=$("$FD" keys create --scope chat --name site --json | jq -r .key)
INGEST=$("$FD" keys create --scope ingest --name docs --json | jq -r .key)
DB="$FRONTDESK_DATA_DIR/frontdesk.db"
q() { sqlite3 "$DB" "$1"; }

"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
req() { local m=$1 p=$2; shift 2; curl -s -o "$T/b" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
jb() { jq -e "$1" "$T/b" > /dev/null; }
A=(-H "Authorization: Bearer $ADMIN")
C=(-H "Authorization: Bearer $CHAT")
J=(-H 'Content-Type: application/json')
chat() { req POST /v1/chat "${J[@]}" "${C[@]}" -d "$(jq -cn --arg m "$1" --arg u "$2" --arg s "$3" '{message:$m,user:$u,session_id:$s}')"; }

chat "my email is ann@example.com, how much is delivery to sentosa?" cust-42 s-a1 > /dev/null
chat "and on saturday?" cust-42 s-a1 > /dev/null
chat "I want to speak to a real person" cust-42 s-a2 > /dev/null
chat "do you sell pizza boxes?" cust-7 s-b1 > /dev/null
check "three users' sessions stored" test "$(q "select count(*) from sessions where id in ('s-a1','s-a2','s-b1')")" = 3

# ---- export ----------------------------------------------------------------------------
check "export needs the admin scope" test "$(req GET /v1/users/cust-42/export "${C[@]}")" = 403
s=$(req GET /v1/users/cust-42/export "${A[@]}")
check "export: 200, both sessions of the user with their turns" bash -c "[ $s = 200 ] && jq -e '.user==\"cust-42\" and (.sessions|length)==2 and (.sessions|map(.turns|length)|add)==6' '$T/b' >/dev/null"
check "export: what the customer wrote is there" grep -q 'ann@example.com' "$T/b"
check "export: no other user's conversation" bash -c "! grep -q 'pizza boxes' '$T/b'"

# ---- erasure -------------------------------------------------------------------------------
check "erase needs the admin scope" test "$(req DELETE /v1/users/cust-42 "${C[@]}")" = 403
s=$(req DELETE /v1/users/cust-42 "${A[@]}")
check "erase: 200, 2 sessions" bash -c "[ $s = 200 ] && jq -e '.erased_sessions==2' '$T/b' >/dev/null"
check "erase: the sessions and their turns are gone" test "$(q "select count(*) from turns where session_id in ('s-a1','s-a2')")" = 0
check "erase: their analytics events and handoffs too" test "$(q "select (select count(*) from analytics_events where session_id in ('s-a1','s-a2')) + (select count(*) from handoffs where session_id in ('s-a1','s-a2'))")" = 0
check "erase: the email is nowhere in the store" test "$(q "select count(*) from turns where text like '%ann@example.com%'")" = 0
check "erase: the other user is untouched" test "$(q "select count(*) from turns where session_id='s-b1'")" = 2
s=$(req GET /v1/users/cust-42/export "${A[@]}")
check "export after erasure: no sessions" bash -c "[ $s = 200 ] && jq -e '(.sessions|length)==0' '$T/b' >/dev/null"
check "a session id of the erased user is not found" test "$(req GET /v1/sessions/s-a1 "${C[@]}")" = 404

# ---- an upload and a delete are audited -----------------------------------------------------
req POST '/v1/documents?id=notes/audit.md' -H "Authorization: Bearer $INGEST" -H 'Content-Type: text/markdown' --data-binary $'# Audit\n\nAudited.\n' > /dev/null
req DELETE /v1/documents/notes/audit.md -H "Authorization: Bearer $INGEST" > /dev/null
check "the audit log has no route to edit it" test "$(req DELETE /v1/audit "${A[@]}")" = 404
kill -TERM $PID; wait $PID; PID=

# ---- the CLI ---------------------------------------------------------------------------------
"$FD" export --user cust-7 --out "$T/cust7.json" 2> /dev/null
check "cli export: a private file with the user's one session" bash -c "[ \$(stat -c %a '$T/cust7.json') = 600 ] && jq -e '(.sessions|length)==1' '$T/cust7.json' >/dev/null"
"$FD" export --user cust-7 --out "$T/cust7.json" > /dev/null 2>&1
check "cli export never overwrites a file" test $? != 0
"$FD" export > /dev/null 2> "$T/err"
check "cli export without --user: usage" bash -c "[ $? != 0 ] && grep -q -- '--user' '$T/err'"
"$FD" erase --user cust-7 --json > "$T/erase.json"; rc=$?
check "cli erase: 1 session" bash -c "[ $rc = 0 ] && jq -e '.erased_sessions==1' '$T/erase.json' >/dev/null"
# ---- store.redact_pii: the reply uses the whole message, the store keeps none of it ----------
FRONTDESK_STORE_REDACT_PII=true "$FD" ask --json --session red-1 \
  "my email is bob@example.com and my phone is +65 9123 4567, how much is delivery to sentosa?" > "$T/red.json"
check "redaction: the message is answered as usual" jq -e '.route=="knowledge" and (.answer|length>0)' "$T/red.json"
check "redaction: the stored message has neither the email nor the phone" \
  bash -c "t=\$(sqlite3 '$DB' \"select text from turns where session_id='red-1' and role='user'\"); [[ \$t == *'[redacted]'* ]] && [[ \$t != *bob@example.com* ]] && [[ \$t != *9123* ]]"
check "redaction: nor the session's remembered question" \
  bash -c "! sqlite3 '$DB' \"select slots from sessions where id='red-1'\" | grep -q 'bob@example'"
# ---- retention: conversations idle past retention.turns_days go whole ---------------------
"$FD" ask --session old-1 "how much is delivery to sentosa?" > /dev/null 2>&1
"$FD" ask --session new-1 "how much is delivery to sentosa?" > /dev/null 2>&1
q "update sessions set updated_at = updated_at - 40*86400 where id='old-1'; update analytics_events set at = at - 400*86400 where session_id='new-1'"
"$FD" retention > "$T/ret0.out" 2> "$T/ret0.err"
check "retention off by default: nothing deleted, and said so" bash -c "grep -q 'no retention configured' '$T/ret0.err' && [ \$(sqlite3 '$DB' \"select count(*) from sessions where id='old-1'\") = 1 ]"
FRONTDESK_RETENTION_TURNS_DAYS=30 FRONTDESK_RETENTION_EVENTS_DAYS=365 "$FD" retention --json > "$T/ret.json"
check "retention: the idle conversation went, with its turns" \
  bash -c "jq -e '.sessions==1 and .events>=1' '$T/ret.json' >/dev/null && [ \$(sqlite3 '$DB' \"select count(*) from turns where session_id='old-1'\") = 0 ]"
check "retention: the recent one stays" test "$(q "select count(*) from turns where session_id='new-1'")" = 2
q "update sessions set updated_at = updated_at - 40*86400 where id='new-1'"
FRONTDESK_RETENTION_TURNS_DAYS=30 "$FD" serve --port 0 > "$T/serve2.out" 2> "$T/serve2.log" &
PID=$!
for _ in $(seq 200); do grep -q 'retention: 1 conversations' "$T/serve2.log" 2>/dev/null && break; sleep 0.05; done
check "the server applies retention at start" test "$(q "select count(*) from sessions where id='new-1'")" = 0
kill -TERM $PID; wait $PID; PID=
"$FD" audit --json > "$T/audit.json"
check "audit log: keys, exports, erasures, the upload and the delete, by who" \
  jq -se 'map(.action) as $a | ($a|index("key.create")) and ($a|index("user.export")) and ($a|index("user.erase")) and ($a|index("document.add")) and ($a|index("document.delete")) and (map(select(.action=="user.erase"))|length)==2 and (map(select(.actor=="cli"))|length)>=3' "$T/audit.json"
finish
