#!/usr/bin/env bash
# copy_store.sh: `frontdesk copy-store --to URL|FILE` (issue 16: moving one
# machine's SQLite store to the PostgreSQL that replicas share). A store
# with documents, keys, agents and conversations is copied into an empty
# PostgreSQL database: every table has the same rows; a server on the copy
# answers with the old key and continues the old conversation, and new rows
# get new ids (the sequences moved past the copied ones). A non-empty
# destination, a failed commit and bad arguments each leave the destination
# as it was. The copy comes back to a SQLite file intact.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/pg.bash"

PID=
trap 'kill -9 $PID 2>/dev/null; pg_kill 2>/dev/null; rm -rf "$T"' EXIT
pg_start "$T" || { fail "PostgreSQL starts"; finish; }

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
KEY=$("$FD" keys create --scope chat --name shop --json | jq -r .key)
echo 'correct horse 42' | "$FD" agents add ana > /dev/null 2>&1
export FRONTDESK_LIMITS_SESSION_PER_MIN=1000 FRONTDESK_LIMITS_KEY_PER_MIN=1000
A=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
start() { # start LOG [env...]: a server, its URL in U
  env "${@:2}" "$FD" serve --port 0 > "$T/$1.out" 2> "$T/$1.log" &
  PID=$!
  for _ in $(seq 300); do grep -q 'http://' "$T/$1.out" 2> /dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/$1.out" | tr -d :)"
}
# The conversation belongs to the key that started it (issue 17): started
# over HTTP with the key, on the SQLite store.
start lite
SID=$(curl -s "${A[@]}" -d '{"message":"Do you deliver on Sundays?"}' "$U/v1/chat" | jq -r .session_id)
curl -s -o /dev/null "${A[@]}" -d "{\"message\":\"and on saturdays?\",\"session_id\":\"$SID\"}" "$U/v1/chat"
kill "$PID"; wait "$PID" 2> /dev/null; PID=
DB=$FRONTDESK_DATA_DIR/frontdesk.db
tables=$(sqlite3 "$DB" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
counts() { # counts sqlite FILE | counts pg URL: "table rows" lines
  for t in $tables; do
    if [ "$1" = sqlite ]; then echo "$t $(sqlite3 "$2" "SELECT count(*) FROM $t")"
    else echo "$t $(psql -X -qAt "$2" -c "SELECT count(*) FROM $t")"; fi
  done
}
counts sqlite "$DB" > "$T/src.counts"
total=$(awk '{s+=$2} END {print s}' "$T/src.counts")

# ---- SQLite -> PostgreSQL --------------------------------------------------------
URL=$(pg_createdb shop)
"$FD" copy-store --to "$URL" --json > "$T/copy.json" 2> "$T/copy.err"; rc=$?
check "copy into an empty PostgreSQL database: exit 0" test $rc = 0
check "the JSON counts every row copied ($total)" test "$(jq .rows "$T/copy.json")" = "$total"
check "the JSON lists every table" test "$(jq '.tables|length' "$T/copy.json")" = "$(echo $tables | wc -w)"
counts pg "$URL" > "$T/pg.counts"
check "every table has the same number of rows" cmp -s "$T/src.counts" "$T/pg.counts"
check "the turns are the same, in order" bash -c "[ \"\$(sqlite3 '$DB' 'SELECT session_id, seq, role, text FROM turns ORDER BY id')\" = \"\$(psql -X -qAt '$URL' -F'|' -c 'SELECT session_id, seq, role, text FROM turns ORDER BY id')\" ]"

# A server on the copy: the old key, the old conversation, new rows.
start pg FRONTDESK_STORE_URL="$URL" FRONTDESK_DATA_DIR="$T/replica"
code=$(curl -s -o "$T/sess.json" -w '%{http_code}' "${A[@]}" "$U/v1/sessions/$SID")
check "the copied key reads its copied conversation (got $code)" test "$code" = 200
check "the conversation has its 4 turns" test "$(jq '.turns|length' "$T/sess.json")" = 4
code=$(curl -s -o "$T/chat.json" -w '%{http_code}' "${A[@]}" \
  -d "{\"message\":\"what are your opening hours?\",\"session_id\":\"$SID\"}" "$U/v1/chat")
check "the conversation goes on on PostgreSQL (got $code)" test "$code" = 200
check "new turns got ids past the copied ones" test "$(psql -X -qAt "$URL" -c "SELECT count(DISTINCT id) = count(*) AND max(id) > $(sqlite3 "$DB" 'SELECT max(id) FROM turns') FROM turns")" = t
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"name":"ana","password":"correct horse 42"}' "$U/v1/agents/login")
check "the copied agent signs in (got $code)" test "$code" = 200
kill "$PID"; wait "$PID" 2> /dev/null; PID=

# ---- refusals leave the destination as it was -----------------------------------------
counts pg "$URL" > "$T/before.counts"
"$FD" copy-store --to "$URL" --json > /dev/null 2> "$T/again.err"; rc=$?
check "a non-empty destination: exit 1, code conflict" bash -c "[ $rc = 1 ] && jq -e '.error.code==\"conflict\"' '$T/again.err' > /dev/null"
counts pg "$URL" > "$T/after.counts"
check "a non-empty destination is left as it was" cmp -s "$T/before.counts" "$T/after.counts"

URL2=$(pg_createdb failing)
FRONTDESK_FAULTS=store.commit "$FD" copy-store --to "$URL2" > /dev/null 2> "$T/fault.err"; rc=$?
check "a commit that fails: exit 1 with the reason" bash -c "[ $rc = 1 ] && grep -q 'store.commit' '$T/fault.err'"
check "a commit that fails leaves the destination empty" test "$(psql -X -qAt "$URL2" -c 'SELECT (SELECT count(*) FROM documents) + (SELECT count(*) FROM turns) + (SELECT count(*) FROM api_keys)')" = 0

"$FD" copy-store > /dev/null 2> "$T/usage"; rc=$?
check "no --to: usage, exit 2" bash -c "[ $rc = 2 ] && grep -q 'usage: frontdesk copy-store' '$T/usage'"
"$FD" copy-store --to "$DB" > /dev/null 2> "$T/self"; rc=$?
check "--to the store itself: refused" bash -c "[ $rc = 1 ] && grep -q 'the store itself' '$T/self'"
"$FD" --data "$T/nothing" copy-store --to "$T/x.db" > /dev/null 2> "$T/none"; rc=$?
check "no source store: refused, nothing created" bash -c "[ $rc = 1 ] && grep -q 'no store at' '$T/none' && [ ! -e '$T/x.db' ]"

# ---- PostgreSQL -> SQLite --------------------------------------------------------------
FRONTDESK_STORE_URL=$URL "$FD" copy-store --to "$T/back.db" > /dev/null 2>&1; rc=$?
check "back to a SQLite file: exit 0" test $rc = 0
check "the SQLite copy is intact" test "$(sqlite3 "$T/back.db" 'PRAGMA integrity_check')" = ok
counts sqlite "$T/back.db" > "$T/back.counts"
check "the SQLite copy has every row of PostgreSQL" cmp -s "$T/after.counts" "$T/back.counts"
finish
