#!/usr/bin/env bash
# accounting.sh: invoices of orders taken in chat reach the accounting system
# exactly once (issue 15), against tests/support/fake_accounting.py, a real
# HTTP server on 127.0.0.1 shaped like Xero's API that enforces expiring
# access tokens, rotating refresh tokens, a per-minute limit, and dedupes by
# Idempotency-Key. Faults: 500s, an API down for a while, a server killed
# (SIGKILL) between the order's commit and the invoice's delivery, and
# killed while the API was answering; the token rotated across a restart.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
FAKE=${FD_SOURCE_DIR}/tests/support/fake_accounting.py
python3 "$FAKE" > "$T/fake.port" 2> "$T/fake.log" &
FPID=$!
for _ in $(seq 100); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
F="http://127.0.0.1:$(cat "$T/fake.port")"
PID=
trap 'kill -9 $PID $FPID 2>/dev/null; wait $FPID 2>/dev/null; rm -rf "$T"' EXIT
export FRONTDESK_ACCOUNTING_URL=$F FRONTDESK_ACCOUNTING_TOKEN_URL=$F/connect/token \
  FRONTDESK_ACCOUNTING_CLIENT_ID=test-client FRONTDESK_ACCOUNTING_CLIENT_SECRET=test-secret \
  FRONTDESK_ACCOUNTING_TENANT_ID=tenant-1 FRONTDESK_ACCOUNTING_RETRY_BASE_MS=100 \
  FRONTDESK_ACCOUNTING_TIMEOUT_MS=2000 FRONTDESK_ACCOUNTING_RATE_PER_MIN=100000 \
  FRONTDESK_LIMITS_SESSION_PER_MIN=6000 \
  FRONTDESK_WEBHOOKS_URL=$F/hooks FRONTDESK_WEBHOOKS_SECRET=hook-secret \
  FRONTDESK_DIALOG_NOW=2026-12-09T10:00
ctl() { curl -s -X POST "$F/_control" -d "$1" > /dev/null; }
state() { curl -s "$F/_state"; }
db() { sqlite3 "$FRONTDESK_DATA_DIR/frontdesk.db" "$1"; }
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
KEY=$("$FD" keys create --scope chat --name shop --json | jq -r .key)

start() {
  "$FD" serve --port 0 > "$T/serve.out" 2>> "$T/serve.log" &
  PID=$!
  for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
}
say() {
  curl -s --max-time 10 -o "$T/b" -X POST "$U/v1/chat" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $KEY" -d "$(jq -cn --arg m "$2" --arg s "$1" '{message:$m,session_id:$s}')"
}
order() { # order SESSION: the seed conversation, placed; prints the order id
  say "$1" "I want to order 100 PB-1201"; say "$1" "Canadian Pizza Pasir Ris"
  say "$1" "deliver on friday morning"; say "$1" "yes"; jq -r '.order.id' "$T/b"
}
wait_for() { # wait_for SECONDS 'SHELL CONDITION' (evaluated anew each time)
  local end=$((SECONDS + $1))
  while [ $SECONDS -lt "$end" ]; do eval "$2" && return 0; sleep 0.1; done; eval "$2"
}
invoices() { state | jq '.invoices|length'; }

# ---- connecting ---------------------------------------------------------------------------
check "status before connecting: not connected" bash -c "'$FD' accounting status --json | jq -e '.configured and (.connected|not)' >/dev/null"
check "a bad code is refused with the reason" bash -c "! '$FD' accounting connect --code nope 2>&1 | grep -q connected"
check "connect with the code" bash -c "'$FD' accounting connect --code good-code | grep -q connected"
check "the key file is 0600" test "$(stat -c %a "$FRONTDESK_DATA_DIR/accounting.key")" = 600
RT=$(state | jq -r .refresh)
check "the refresh token is stored encrypted, not in clear" \
  test "$(db "SELECT instr(refresh_enc, CAST('$RT' AS BLOB)) FROM accounting_tokens")" = 0

# ---- the seed order, invoiced once ---------------------------------------------------------
start
R1=$(order a)
check "order placed" bash -c "[[ '$R1' =~ ^HP- ]]"
check "its invoice reaches the API within 5 s" wait_for 5 '[ "$(invoices)" = 1 ]'
check "the invoice: reference, contact, lines, tenant" bash -c "curl -s $F/_state | jq -e '.invoices[0].Reference==\"$R1\" and .invoices[0].Contact.ContactID==\"xc-canadian-pizza\" and .invoices[0].LineItems[0].Quantity==2 and .invoices[0].LineItems[0].ItemCode==\"PB-1201\"' >/dev/null"
# the delivery fee (S$42 of goods, under S$250) is a line of its own, with
# no item code, and the invoice's lines add up to the order's subtotal
check "the delivery fee: a line without an item code; the lines add up to the order" bash -c "curl -s $F/_state | jq -e '(.invoices[0].LineItems[1]|.Description==\"Delivery fee\" and .UnitAmount==18 and (has(\"ItemCode\")|not)) and ([.invoices[0].LineItems[]|.Quantity*.UnitAmount]|add)==60' >/dev/null"
check "the order follows: invoiced" wait_for 3 "[ \"\$(db \"SELECT status FROM orders WHERE ref='$R1'\")\" = invoiced ]"
check "the outbox row is delivered with the API's id" test "$(db "SELECT state||' '||external_id FROM outbox WHERE kind='invoice'")" = "delivered inv-1"
check "/metrics counts it" bash -c "curl -s $U/metrics | grep -q '^frontdesk_outbox_delivered_total{kind=\"invoice\"} 1'"

# ---- 500s: retried with backoff ------------------------------------------------------------
ctl '{"fail": 3, "fail_status": 500}'
R2=$(order b)
check "after three 500s the invoice arrives" wait_for 10 '[ "$(invoices)" = 2 ]'
check "attempts recorded: 4" test "$(db "SELECT attempts FROM outbox o JOIN orders d ON d.id=o.order_id WHERE d.ref='$R2'")" = 4

# ---- the access token expires: refreshed, the refresh token rotated -------------------------
ctl '{"access_ttl": 1, "expire_all": true}'
GEN0=$("$FD" accounting status --json | jq .rotations)
sleep 1.2
R3=$(order c)
check "an expired token is refreshed and the invoice arrives" wait_for 10 '[ "$(invoices)" = 3 ]'
GEN1=$("$FD" accounting status --json | jq .rotations)
check "the rotated refresh token was stored" test "$GEN1" -gt "$GEN0"
check "the API refused no refresh token of ours" test "$(state | jq .refused_refresh)" = 0

# ---- SIGKILL between the order's commit and the delivery -------------------------------------
ctl '{"down": true, "access_ttl": 1800}'
R4=$(order d)
sleep 0.3
kill -9 $PID; wait $PID 2>/dev/null
check "the order was kept though its invoice was not sent" test "$(db "SELECT count(*) FROM orders WHERE ref='$R4'")" = 1
ctl '{"down": false}'
start
check "after restart the invoice arrives" wait_for 15 "curl -s $F/_state | jq -e '[.invoices[]|select(.Reference==\"$R4\")]|length==1' >/dev/null"
check "the token rotated across the restart still works" test "$(state | jq .refused_refresh)" = 0

# ---- SIGKILL while the API is answering: the resend is recognised ---------------------------------
ctl '{"hang": 1, "hang_s": 3}'
R5=$(order e)
wait_for 5 "curl -s $F/_state | jq -e '[.invoices[]|select(.Reference==\"$R5\")]|length==1' >/dev/null"
kill -9 $PID; wait $PID 2>/dev/null
D0=$(state | jq .duplicates)
start
check "resent after restart with the same Idempotency-Key" wait_for 15 "[ \"\$(db \"SELECT state FROM outbox o JOIN orders d ON d.id=o.order_id WHERE d.ref='$R5'\")\" = delivered ]"
check "the API saw a duplicate and made no second invoice" bash -c "[ \$(curl -s $F/_state | jq .duplicates) -gt $D0 ] && curl -s $F/_state | jq -e '[.invoices[]|select(.Reference==\"$R5\")]|length==1' >/dev/null"

# ---- the API's rate limit: 429 + Retry-After respected ------------------------------------------
ctl '{"rate": 1, "rate_window": 3}'
sleep 0.1
N0=$(invoices)
R6=$(order f); R7=$(order g)
check "over the limit: one waits (429) and arrives after Retry-After" wait_for 20 "[ \"\$(invoices)\" = $((N0 + 2)) ]"
ctl '{"rate": 0}'

# ---- the API down for a while: orders go on, invoices catch up -------------------------------------
ctl '{"down": true}'
R8=$(order h); R9=$(order i)
check "orders keep being taken while it is down" bash -c "[[ '$R8' =~ ^HP- && '$R9' =~ ^HP- ]]"
sleep 1
ctl '{"down": false}'
check "the invoices catch up" wait_for 30 "[ \$(sqlite3 '$FRONTDESK_DATA_DIR/frontdesk.db' \"SELECT count(*) FROM outbox WHERE state='delivered' AND kind='invoice'\") = 9 ]"
check "every order invoiced exactly once" bash -c "curl -s $F/_state | jq -e '[.invoices[].Reference]|(length==9) and (unique|length==9)' >/dev/null"

# ---- a refusal dead-letters; retry and drop by hand ---------------------------------------------------
ctl '{"fail": 1, "fail_status": 400}'
R10=$(order j)
check "a 400 dead-letters the invoice and fails the order" wait_for 10 "[ \"\$(db \"SELECT status FROM orders WHERE ref='$R10'\")\" = failed ]"
check "outbox list shows it with the API's reason" bash -c "'$FD' outbox list --state dead | grep -q 'injected failure'"
ID=$(db "SELECT o.id FROM outbox o JOIN orders d ON d.id=o.order_id WHERE d.ref='$R10'")
check "outbox retry" bash -c "'$FD' outbox retry $ID | grep -q retried"
check "retried: delivered" wait_for 10 "[ \"\$(db \"SELECT state FROM outbox WHERE id=$ID\")\" = delivered ]"
check "retry of a delivered row is refused" bash -c "! '$FD' outbox retry $ID 2>/dev/null"
check "outbox retry with no id: usage" bash -c "'$FD' outbox retry 2>/dev/null; [ \$? = 2 ]"
check "outbox drop of an unknown row: error" bash -c "! '$FD' outbox drop 99999 2>/dev/null"

# ---- webhooks: signed, retried, one per event --------------------------------------------------------
hooks() { state | jq "[.hooks[]|select($1)]|length"; }
check "order.created for every order, signed" bash -c "[ \$(curl -s $F/_state | jq '[.hooks[]|select(.type==\"order.created\" and .valid)]|length') = 10 ]"
check "order.invoiced after delivery, with the invoice id" bash -c "curl -s $F/_state | jq -e '[.hooks[]|select(.type==\"order.invoiced\" and .data.id==\"$R1\" and .data.invoice_id==\"inv-1\")]|length==1' >/dev/null"
check "order.failed for the dead-lettered one" bash -c "curl -s $F/_state | jq -e '[.hooks[]|select(.type==\"order.failed\" and .data.id==\"$R10\")]|length==1' >/dev/null"
check "no handoff.opened before any handoff" test "$(hooks '.type=="handoff.opened"')" = 0
ctl '{"hook_fail": 2}'
say k "I want to order 50 PB-1201"; say k "Burger Palace Orchard"
check "handoff.opened arrives after two 500s" wait_for 10 "[ \$(curl -s $F/_state | jq '[.hooks[]|select(.type==\"handoff.opened\" and .valid)]|length') = 1 ]"
check "no event twice" bash -c "curl -s $F/_state | jq -e '[.hooks[].id]|length==(unique|length)' >/dev/null"

kill $PID 2>/dev/null; wait $PID 2>/dev/null
[ -n "${FD_KEEP_LOG:-}" ] && cp "$T/serve.log" "$FD_KEEP_LOG"
finish
