#!/usr/bin/env bash
# backup.sh: `frontdesk backup FILE` and `frontdesk restore FILE` (issue 17,
# data care): an online copy taken while the server answers chats, private
# (0600), checked, never overwriting; a restore that brings back documents
# and conversations, refuses what is not an intact store, and changes
# nothing then.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
CHAT=$("$FD" keys create --scope chat --json | jq -r .key)
docs() { "$FD" stats --json | jq .documents; }
N0=$(docs)

"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
chat() { curl -s -o /dev/null -w '%{http_code}\n' -X POST "$U/v1/chat" -H "Authorization: Bearer $CHAT" -H 'Content-Type: application/json' -d "{\"message\":\"$1\",\"session_id\":\"$2\"}"; }
check "a conversation to keep" test "$(chat 'how much is delivery to sentosa?' keep-me)" = 200
# Chats keep coming while the backup runs: it is online.
( for i in $(seq 40); do chat "do you deliver on saturday? $i" "load-$i"; done > "$T/load.codes" ) &
LOAD=$!
"$FD" backup "$T/b1.db" > "$T/backup.out" 2>&1; rc=$?
wait $LOAD
check "backup while the server answers: exit 0" test "$rc" = 0
check "every chat during the backup: 200" bash -c "! grep -v '^200$' '$T/load.codes'"
check "the backup is private (0600)" test "$(stat -c %a "$T/b1.db")" = 600
check "the backup passes integrity_check" test "$(sqlite3 "$T/b1.db" 'PRAGMA integrity_check')" = ok
check "the backup holds the conversation" test "$(sqlite3 "$T/b1.db" "select count(*) from turns where session_id='keep-me'")" = 2
"$FD" backup "$T/b1.db" > /dev/null 2> "$T/err"
check "a backup never overwrites a file" bash -c "[ $? != 0 ] && grep -q 'already exists' '$T/err'"
kill -TERM $PID; wait $PID; PID=

"$FD" rm examples/packaging-supplier/docs/delivery-fees.md > /dev/null 2>&1 || "$FD" rm "$EX/docs/delivery-fees.md" > /dev/null 2>&1
check "a document removed after the backup" test "$(docs)" = $((N0 - 1))
echo 'not a database' > "$T/garbage.db"
"$FD" restore "$T/garbage.db" > /dev/null 2> "$T/err"
check "restoring a file that is not a store: refused with the reason" bash -c "[ $? != 0 ] && grep -q 'not an intact frontdesk store' '$T/err'"
check "... and nothing changed" test "$(docs)" = $((N0 - 1))
"$FD" restore "$T/b1.db" > "$T/restore.out" 2>&1
check "restore: exit 0" test $? = 0
check "restore: the document is back and searchable" bash -c "[ \$('$FD' stats --json | jq .documents) = $N0 ] && '$FD' search --json 'delivery fee sentosa' | jq -e '.results|map(.document)|any(endswith(\"delivery-fees.md\"))' >/dev/null"
check "restore: the conversation is back" test "$(sqlite3 "$FRONTDESK_DATA_DIR/frontdesk.db" "select count(*) from turns where session_id='keep-me'")" = 2
check "restore: the store is intact" test "$(sqlite3 "$FRONTDESK_DATA_DIR/frontdesk.db" 'PRAGMA integrity_check')" = ok
finish
