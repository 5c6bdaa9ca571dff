#!/usr/bin/env bash
# disk_full.sh: a 100% full disk (issue 17 item 7). The data dir lives on a
# small tmpfs that the test fills: read-only commands and the server still
# start and answer reads; writes get 503 with a code and Retry-After and
# lose nothing; once space returns, writes go on by themselves. Needs root
# (mount); without it the test says so and is skipped (exit 77).
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
MNT="$T/mnt"
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=24m tmpfs "$MNT" 2>/dev/null; then
  echo "skip: cannot mount a tmpfs here (needs root)"
  exit 77
fi
PID=
trap 'kill -9 $PID 2>/dev/null; umount "$MNT" 2>/dev/null; rm -rf "$T"' EXIT
export FRONTDESK_DATA_DIR="$MNT/var"
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
KEY=$("$FD" keys create --scope chat --name shop --json | jq -r .key)
A=(-H "Authorization: Bearer $KEY")
"$FD" --set limits.session_per_min=6000 serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
chat() { curl -s --max-time 10 -o "$T/b" -D "$T/h" -w '%{http_code}' -X POST "$U/v1/chat" "${A[@]}" \
  -H 'Content-Type: application/json' -d "{\"message\":\"$1\",\"session_id\":\"$2\"}"; }
check "before: a stored conversation" test "$(chat 'how long do I have to report defective boxes?' before)" = 200

kill $PID; wait $PID 2>/dev/null
dd if=/dev/zero of="$MNT/fill" bs=1M 2> /dev/null
check "the disk is full" test "$(df --output=avail "$MNT" | tail -1 | tr -d ' ')" = 0

check "read-only commands start: stats" bash -c "'$FD' stats | grep -q 'documents'"
check "read-only commands start: search" bash -c "'$FD' search refund | grep -q 'Refunds'"
check "read-only commands start: docs" bash -c "'$FD' docs | grep -q refunds-defective-goods"

"$FD" --set limits.session_per_min=6000 serve --port 0 > "$T/serve.out" 2>> "$T/serve.log" &
PID=$!
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
check "the server starts on a full disk" test "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")" = 200
check "reads answer: search" test "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "$U/v1/search?q=refund")" = 200
check "reads answer: the stored conversation" test "$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "$U/v1/sessions/before")" = 200
s=$(chat 'and how do I report it?' during)
check "a write gets 503 with a code and Retry-After" bash -c "[ $s = 503 ] && jq -e '.error.code' '$T/b' >/dev/null && grep -qi '^retry-after' '$T/h'"
check "the server is still up" test "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")" = 200

rm -f "$MNT/fill"
check "space back: writes go on by themselves" test "$(chat 'and how do I report it?' after)" = 200
check "nothing was half-written" test "$(sqlite3 "$FRONTDESK_DATA_DIR/frontdesk.db" 'PRAGMA integrity_check')" = ok
check "the conversation before is whole" test "$(sqlite3 "$FRONTDESK_DATA_DIR/frontdesk.db" "select count(*) from turns where session_id='before'")" = 2
kill $PID 2>/dev/null; wait $PID 2>/dev/null
finish
