#!/usr/bin/env bash
# migrate.sh: `frontdesk migrate [--dry-run] [--json]` (issue 16): a dry run
# lists every pending migration and creates nothing; a run applies them and
# a second one has nothing to do; two replicas migrating one fresh store at
# once both succeed with one schema; a store from a newer frontdesk, or a
# file that is not a store, is refused with the reason and left as it was.
. "$(dirname "$0")/lib.bash"

DB=$FRONTDESK_DATA_DIR/frontdesk.db
LATEST=$("$FD" migrate --dry-run --json | jq .latest)
check "dry run on a new data dir: every migration pending" test "$("$FD" migrate --dry-run --json | jq '.pending|length')" = "$LATEST"
check "dry run: each pending migration says what it adds" bash -c "'$FD' migrate --dry-run --json | jq -e '.pending|all(.adds|length>0)' >/dev/null"
check "dry run: no store created" test ! -e "$DB"
"$FD" migrate --dry-run > "$T/dry.txt"
check "dry run, text: says nothing changed" grep -q 'dry run: nothing changed' "$T/dry.txt"

"$FD" migrate --json > "$T/run.json"; rc=$?
check "migrate: exit 0" test $rc = 0
check "migrate: applied every migration" test "$(jq .applied "$T/run.json")" = "$LATEST"
check "migrate: the store is at the latest version" test "$(sqlite3 "$DB" 'PRAGMA user_version')" = "$LATEST"
check "migrate again: nothing to do" test "$("$FD" migrate --json | jq '[.applied, (.pending|length)]|@csv')" = '"0,0"'
"$FD" migrate > "$T/again.txt"
check "migrate again, text: up to date" grep -q 'up to date' "$T/again.txt"

# Two replicas starting at once on one fresh store: each migration re-reads
# the version inside its write transaction, so neither applies one twice.
D2=$T/var2
mkdir -p "$D2"
"$FD" --data "$D2" migrate --json > "$T/a.json" 2>&1 &
A=$!
"$FD" --data "$D2" migrate --json > "$T/b.json" 2>&1 &
B=$!
wait $A; ra=$?
wait $B; rb=$?
check "two at once: both exit 0" test "$ra$rb" = 00
check "two at once: the migrations applied once between them" test "$(( $(jq .applied "$T/a.json") + $(jq .applied "$T/b.json") ))" = "$LATEST"
check "two at once: one schema, intact" test "$(sqlite3 "$D2/frontdesk.db" 'PRAGMA user_version; PRAGMA integrity_check' | tr '\n' ' ')" = "$LATEST ok "

# A store from a newer frontdesk: refused, untouched.
sqlite3 "$D2/frontdesk.db" "PRAGMA user_version = $((LATEST + 1))"
"$FD" --data "$D2" migrate --json > /dev/null 2> "$T/err"; rc=$?
check "a newer store: exit 1 with code bad_format" bash -c "[ $rc = 1 ] && jq -e '.error.code==\"bad_format\" and (.error.message|test(\"newer\"))' '$T/err' >/dev/null"
check "a newer store: left at its version" test "$(sqlite3 "$D2/frontdesk.db" 'PRAGMA user_version')" = $((LATEST + 1))

# A file that is not a store.
D3=$T/var3
mkdir -p "$D3"
head -c 4096 /dev/urandom > "$D3/frontdesk.db"
cp "$D3/frontdesk.db" "$T/garbage.copy"
"$FD" --data "$D3" migrate > /dev/null 2> "$T/err3"; rc=$?
check "not a store: exit 1 with the reason" bash -c "[ $rc = 1 ] && grep -q 'schema version' '$T/err3'"
check "not a store: the file is unchanged" cmp -s "$D3/frontdesk.db" "$T/garbage.copy"

"$FD" migrate --bogus > /dev/null 2> "$T/usage"; rc=$?
check "an unknown option: usage, exit 2" bash -c "[ $rc = 2 ] && grep -q 'usage: frontdesk migrate' '$T/usage'"
finish
