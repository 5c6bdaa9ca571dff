#!/usr/bin/env bash
# keys.sh: keys create, list, revoke, rotate through the real binary; the
# secret is printed once and never reaches the database; bad input fails
# with a usage error or a JSON error naming the field.
. "$(dirname "$0")/lib.bash"

DB=$FRONTDESK_DATA_DIR/frontdesk.db
sql() { sqlite3 "$DB" "$@"; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

j=$("$FD" keys create --scope chat,ingest --name "pos terminal" --ttl-days 30 --json)
rc=$?
check "create --json succeeds" [ $rc -eq 0 ]
k1=$(jq -r .key <<<"$j")
id1=$(jq -r .id <<<"$j")
p1=$(jq -r .prefix <<<"$j")
check "key is fdk_ + 43 base64url characters" grep -Eq '^fdk_[A-Za-z0-9_-]{43}$' <<<"$k1"
check "prefix is the key's first 12 characters" [ "$p1" = "${k1:0:12}" ]
check "scopes come back as a list" [ "$(jq -c .scopes <<<"$j")" = '["chat","ingest"]' ]
check "expiry is 30 days out" jq -e '(.expires_at - .created_at) > 2591990 and (.expires_at - .created_at) < 2592010' <<<"$j" >/dev/null
check "the store keeps SHA-256 of the key" [ "$(sql "SELECT hash FROM api_keys WHERE id = $id1")" = "$(sha "$k1")" ]

k2=$("$FD" keys create --scope admin 2>"$T/err")
check "plain create prints only the key on stdout" grep -Eq '^fdk_[A-Za-z0-9_-]{43}$' <<<"$k2"
check "plain create says it is shown once" grep -q "only this once" "$T/err"
check "two keys differ" [ "$k1" != "$k2" ]

l=$("$FD" keys list --json)
check "list shows both keys" [ "$(jq '.keys | length' <<<"$l")" = 2 ]
check "list never prints a secret" [ "$(jq '[.keys[] | has("key")] | any' <<<"$l")" = false ]
check "list JSON has no key text" bash -c '! grep -qF -- "${1:4}" <<<"$2" && ! grep -qF -- "${3:4}" <<<"$2"' _ "$k1" "$l" "$k2"
t=$("$FD" keys list)
check "text list has no key text" bash -c '! grep -qF -- "${1:4}" <<<"$2"' _ "$k1" "$t"
check "text list shows the name and prefix" grep -q "$p1.*pos terminal" <<<"$t"

# rotate by prefix: a new key, the old one kept for the overlap
r=$("$FD" keys rotate "$p1" --overlap-hours 2 --json)
rc=$?
check "rotate succeeds" [ $rc -eq 0 ]
k3=$(jq -r .key <<<"$r")
id3=$(jq -r .id <<<"$r")
check "rotate prints a new key" [ -n "$k3" -a "$k3" != "$k1" ]
check "successor keeps name and scopes" [ "$(jq -r '.name + "|" + (.scopes | join(","))' <<<"$r")" = "pos terminal|chat,ingest" ]
check "old key records its successor" [ "$(sql "SELECT rotated_to FROM api_keys WHERE id = $id1")" = "$id3" ]
check "old key valid for 2 more hours" [ "$(sql "SELECT valid_until - strftime('%s','now') BETWEEN 7100 AND 7300 FROM api_keys WHERE id = $id1")" = 1 ]
check "old key listed as rotating" [ "$("$FD" keys list --json | jq -r --argjson id "$id1" '.keys[] | select(.id == $id) | .status')" = rotating ]
"$FD" keys rotate --json "$id1" >/dev/null 2>"$T/err"; rc=$?
check "a key rotates only once" [ $rc -eq 1 ]
check "second rotation is a conflict" [ "$(jq -r .error.code "$T/err")" = conflict ]

# revoke by id and by prefix
id2=$(sql "SELECT id FROM api_keys WHERE hash = '$(sha "$k2")'")
out=$("$FD" keys revoke "$id2")
check "revoke by id succeeds" [ $? -eq 0 ]
check "revoked_at set" [ "$(sql "SELECT revoked_at > 0 FROM api_keys WHERE id = $id2")" = 1 ]
"$FD" keys revoke --json "${k3:0:12}" >/dev/null
check "revoke by prefix" [ "$(sql "SELECT revoked_at > 0 FROM api_keys WHERE id = $id3")" = 1 ]
check "list shows revoked" [ "$("$FD" keys list --json | jq '[.keys[] | select(.status == "revoked")] | length')" = 2 ]

# The secrets never reach the database (or its WAL).
for k in "$k1" "$k2" "$k3"; do
    check "secret ${k:0:12}... not in the db files" bash -c '! cat "$1"* | grep -aqF -- "${2:4}"' _ "$DB" "$k"
done
check "hashes are in the db file (the grep can find things)" bash -c 'cat "$1"* | grep -aqF -- "$2"' _ "$DB" "$(sha "$k1")"

# bad input
"$FD" keys create --scope wizard >/dev/null 2>"$T/err"; rc=$?
check "unknown scope is a usage error" [ $rc -eq 2 ]
check "unknown scope is named" grep -q "wizard" "$T/err"
"$FD" keys create --json --scope chat,wizard >/dev/null 2>"$T/err"; rc=$?
check "unknown scope with --json exits 2" [ $rc -eq 2 ]
check "JSON error names the field" [ "$(jq -r .error.field "$T/err")" = scope ]
check "JSON error code is invalid" [ "$(jq -r .error.code "$T/err")" = invalid ]
"$FD" keys create >/dev/null 2>&1; rc=$?
check "create without --scope is a usage error" [ $rc -eq 2 ]
"$FD" keys create --scope chat --ttl-days -3 >/dev/null 2>&1; rc=$?
check "negative ttl is a usage error" [ $rc -eq 2 ]
"$FD" keys create --scope chat --ttl-days soon >/dev/null 2>&1; rc=$?
check "non-numeric ttl is a usage error" [ $rc -eq 2 ]
"$FD" keys create --scope chat --name "$(printf 'n%.0s' {1..80})" >/dev/null 2>&1; rc=$?
check "overlong name is a usage error" [ $rc -eq 2 ]
"$FD" keys rotate 1 --overlap-hours -1 >/dev/null 2>&1; rc=$?
check "negative overlap is a usage error" [ $rc -eq 2 ]
"$FD" keys revoke --json 99999 >/dev/null 2>"$T/err"; rc=$?
check "revoking an unknown id fails" [ $rc -eq 1 ]
check "unknown id is not_found" [ "$(jq -r .error.code "$T/err")" = not_found ]
"$FD" keys revoke --json "fdk_NOPENOPE" >/dev/null 2>"$T/err"; rc=$?
check "unknown prefix is not_found" [ "$(jq -r .error.code "$T/err")" = not_found ]
"$FD" keys revoke --json "1 OR 1=1" >/dev/null 2>"$T/err"; rc=$?
check "junk id is invalid" [ "$(jq -r .error.code "$T/err")" = invalid ]
"$FD" keys revoke >/dev/null 2>&1; rc=$?
check "revoke without a target is a usage error" [ $rc -eq 2 ]
"$FD" keys frobnicate >/dev/null 2>&1; rc=$?
check "unknown keys command is a usage error" [ $rc -eq 2 ]
check "nothing was created by the bad calls" [ "$(sql 'SELECT count(*) FROM api_keys')" = 3 ]
check "help lists keys" grep -q "keys" <<<"$("$FD" help)"
finish
