#!/usr/bin/env bash
# orders.sh: an order taken in chat over HTTP (issue 15): the seed
# conversation end to end, the order row and its invoice in the outbox,
# the same "yes" re-sent making no second order, a question mid-order
# answered and the order kept, changes and cancel before confirming, a
# customer we do not know handed to a person, status and tenancy of placed
# orders, and the orders API and CLI with their errors.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
ALICE=$("$FD" keys create --scope chat --name alice --json | jq -r .key)
BOB=$("$FD" keys create --scope chat --name bob --json | jq -r .key)
ORD=$("$FD" keys create --scope orders --name erp --json | jq -r .key)

# a person types slower than this test: the per-session limit is raised;
# the conversations happen on Wednesday 9 December 2026 at 10:00
export FRONTDESK_DIALOG_NOW=2026-12-09T10:00
"$FD" --set limits.session_per_min=6000 serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
req() { local m=$1 p=$2; shift 2; curl -s --max-time 10 -o "$T/b" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
J=(-H 'Content-Type: application/json')
A=(-H "Authorization: Bearer $ALICE")
B=(-H "Authorization: Bearer $BOB")
E=(-H "Authorization: Bearer $ORD")
say() { # say SESSION MESSAGE [key args]: posts, leaves the reply in $T/b
  local sid=$1 m=$2; shift 2
  req POST /v1/chat "${J[@]}" "${@:-${A[@]}}" -d "$(jq -cn --arg m "$m" --arg s "$sid" '{message:$m,session_id:$s}')"
}
db() { sqlite3 "$FRONTDESK_DATA_DIR/frontdesk.db" "$1"; }

# ---- the seed conversation ------------------------------------------------------------
s=$(say seed 'I want to order 100 12-inch pizza boxes')
check "order intent: asks which 12-inch box" bash -c "[ $s = 200 ] && jq -e '.route==\"order\" and (.answer|test(\"kraft\")) and (.answer|test(\"white\"))' '$T/b' >/dev/null"
say seed "the kraft ones" > /dev/null
check "kraft chosen: a draft line PB-1201 x 100, outlet asked" jq -e '.order.id==null and .order.lines[0].code=="PB-1201" and .order.lines[0].qty==100 and .order.lines[0].packs==2 and (.answer|test("outlet"))' "$T/b"
say seed "My outlet is Canadian Pizza Pasir Ris" > /dev/null
check "outlet resolved, date asked" jq -e '.order.outlet=="C1001/Pasir Ris" and (.answer|test("delivery date"))' "$T/b"
say seed "Deliver on Tuesday morning" > /dev/null
check "summary with every number from the catalog and a question" jq -e '(.answer|test("2 packs of 50 at S\\$21.00 = S\\$42.00")) and (.answer|test("total S\\$65.40")) and (.answer|test("Reply yes"))' "$T/b"
# delivery-fees.md: S$18 below S$250 of goods, its own line; GST on it too
check "the delivery fee is a line of the summary and of the order's total" jq -e '(.answer|test("Delivery: S\\$18.00 \\(free from S\\$250.00\\)")) and .order.goods==42 and .order.delivery_fee==18 and .order.subtotal==60 and .order.total==65.4' "$T/b"
check "no order before yes" test "$(db 'SELECT count(*) FROM orders')" = 0
say seed "what's your minimum order?" > /dev/null
check "a question mid-order is answered and the order kept" jq -e '.route=="knowledge" and (.answer|test("S\\$80")) and (.answer|test("order is still open"))' "$T/b"
say seed "make it 300 instead" > /dev/null
check "make it 300: 6 packs, new summary" jq -e '.order.lines[0].qty==300 and .order.lines[0].packs==6 and (.answer|test("S\\$126.00"))' "$T/b"
say seed "yes" > /dev/null
REF=$(jq -r .order.id "$T/b")
check "yes: order placed with its id in the words" bash -c "[[ '$REF' =~ ^HP-[0-9]{6}$ ]] && jq -e '.order.status==\"confirmed\" and (.answer|test(\"$REF\"))' '$T/b' >/dev/null"
check "one order row, one line, one invoice queued" \
  test "$(db "SELECT count(*) FROM orders")/$(db "SELECT count(*) FROM order_lines")/$(db "SELECT count(*) FROM outbox WHERE kind='invoice' AND state='pending'")" = "1/1/1"
check "the invoice payload names the accounting contact and the lines" \
  bash -c "db() { sqlite3 '$FRONTDESK_DATA_DIR/frontdesk.db' \"\$1\"; }; db 'SELECT payload FROM outbox' | jq -e '.contact_id==\"xc-canadian-pizza\" and .lines[0].quantity==6 and (.lines[1].description==\"Delivery fee\") and .lines[1].unit_amount==18 and (.lines[1].code==null) and .total==15696' >/dev/null"
say seed "yes" > /dev/null
check "the same yes re-sent: still one order, the same id said" bash -c "[ \$(sqlite3 '$FRONTDESK_DATA_DIR/frontdesk.db' 'SELECT count(*) FROM orders') = 1 ] && jq -e '.answer|test(\"$REF\")' '$T/b' >/dev/null"

# ---- placed orders: status, tenancy ------------------------------------------------------
say other "where is my order $REF" > /dev/null
check "status of one's own order" jq -e '.route=="order" and (.answer|test("confirmed"))' "$T/b"
say bobs "where is my order $REF" "${B[@]}" > /dev/null
check "another key's order does not exist for bob" jq -e '.answer|test("can.t find")' "$T/b"
say bobs "please cancel order $REF" "${B[@]}" > /dev/null
check "bob cannot cancel it" test "$(db "SELECT status FROM orders")" = confirmed

# ---- changes, cancel, unknown customers --------------------------------------------------
say two "I need 2 packs of PB-1202" > /dev/null
check "a code with packs: 100 boxes" jq -e '.order.lines[0].code=="PB-1202" and .order.lines[0].qty==100' "$T/b"
say two "add 50 lids" > /dev/null
check "add 50 lids: which lid?" jq -e '.route=="order" and (.answer|test("[Ww]hich"))' "$T/b"
say two "the 90mm black ones" > /dev/null
check "the 90mm black lid added" jq -e '[.order.lines[].code]|index("LID-H90B")!=null' "$T/b"
say two "cancel" > /dev/null
check "cancel before confirming: nothing placed" bash -c "jq -e '.answer|test(\"nothing was placed\")' '$T/b' >/dev/null && [ \$(sqlite3 '$FRONTDESK_DATA_DIR/frontdesk.db' 'SELECT count(*) FROM orders') = 1 ]"
say three "I want to order 200 PB-1201" > /dev/null
say three "Burger Palace Orchard" > /dev/null
check "an unknown customer goes to a person" jq -e '.escalation.tier=="agent" and (.answer|test("customer accounts"))' "$T/b"

# ---- what customers type: counts, commas, removals, "yes please" ----------------------------
say four "pb-1202 x3, lid-h90b x2" > /dev/null
check "'x3' of a product sold by 50 is 3 packs, 'x2' of lids by 100 is 2 packs" jq -e '[.order.lines[]|[.code,.qty]]==[["PB-1202",150],["LID-H90B",200]]' "$T/b"
say four "take out the lids" > /dev/null
check "a line removed by name" jq -e '[.order.lines[].code]==["PB-1202"]' "$T/b"
say five "Kraft round bowl 750ml, 8 packs" > /dev/null
check "a product and its quantity across a comma are one line" jq -e '.order.lines[0].code=="CON-K750" and .order.lines[0].packs==8' "$T/b"
say five "kopi corner" > /dev/null
say five "wednesday" > /dev/null
check "'wednesday' said on a Wednesday means next week's (the summary names it)" jq -e '.order.delivery_date=="2026-12-16" and (.answer|test("Wednesday 16 December 2026"))' "$T/b"
say five "yes please" > /dev/null
check "'yes please' to a summary places the order, not a hand-over" jq -e '.order.status=="confirmed" and .escalation==null' "$T/b"

say seven "I want 3 packs of PB-0803" > /dev/null
say seven "kopi corner" > /dev/null
say seven "friday" > /dev/null
check "an item out of stock is said so in the summary (the catalog's stock)" jq -e '.answer|test("PB-0803.*out of stock: on backorder")' "$T/b"

# ---- Idempotency-Key on POST /v1/chat: a retried request is the first one ------------------
idem() { curl -s --max-time 10 -o "$T/b" -D "$T/h" -w '%{http_code}' -X POST "$U/v1/chat" "${J[@]}" "${A[@]}" \
  -H "Idempotency-Key: $1" -d "$(jq -cn --arg m "$2" --arg s "$3" '{message:$m,session_id:$s}')"; }
say six "I want to order 2 packs of PB-1201" > /dev/null
say six "kopi corner" > /dev/null
say six "friday" > /dev/null
N0=$(db 'SELECT count(*) FROM orders')
T0=$(db "SELECT count(*) FROM turns WHERE session_id='six'")
s=$(idem k-six-1 yes six)
check "the yes, with a key: placed" bash -c "[ $s = 200 ] && jq -e '.order.status==\"confirmed\"' '$T/b' >/dev/null"
cp "$T/b" "$T/first"
s=$(idem k-six-1 yes six)
check "the same request again: the first response, replayed" bash -c "[ $s = 200 ] && grep -qi '^idempotent-replayed: true' '$T/h' && cmp -s '$T/b' '$T/first'"
check "one order, one turn pair: the retry ran nothing" test "$(db 'SELECT count(*) FROM orders')/$(db "SELECT count(*) FROM turns WHERE session_id='six'")" = "$((N0 + 1))/$((T0 + 2))"
s=$(idem k-six-1 'yes please' six)
check "the key with another body: 422 naming it" bash -c "[ $s = 422 ] && jq -e '.error.field==\"Idempotency-Key\"' '$T/b' >/dev/null"
check "a key that is not visible ASCII: 422" test "$(idem "$(printf 'bad key')" hi six)" = 422
check "another key's same key is its own" test "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$U/v1/chat" "${J[@]}" "${B[@]}" -H 'Idempotency-Key: k-six-1' -d '{"message":"yes","session_id":"bob-six"}')" = 200

# The stream and the OpenAI facade honour it too (no LLM here: the whole stream at once).
sidem() { curl -s --max-time 10 -o "$T/b" -D "$T/h" -w '%{http_code}' -X POST "$U$1" "${J[@]}" "${A[@]}" -H "Idempotency-Key: $2" -d "$3"; }
T0=$(db "SELECT count(*) FROM turns WHERE session_id='sid'")
sidem /v1/chat/stream ks-1 '{"message":"what is your minimum order?","session_id":"sid"}' > /dev/null; cp "$T/b" "$T/s1"
s=$(sidem /v1/chat/stream ks-1 '{"message":"what is your minimum order?","session_id":"sid"}')
check "stream, the same key again: the first stream, replayed" bash -c "[ $s = 200 ] && grep -qi '^idempotent-replayed: true' '$T/h' && grep -qi '^content-type: text/event-stream' '$T/h' && cmp -s '$T/b' '$T/s1' && grep -q '^event: done' '$T/b'"
check "stream retried: one turn pair" test "$(db "SELECT count(*) FROM turns WHERE session_id='sid'")" = $((T0 + 2))
s=$(sidem /v1/chat/stream ks-1 '{"message":"and on sundays?","session_id":"sid"}')
check "stream, the key with another body: 422" test "$s" = 422
s=$(sidem /v1/chat ks-1 '{"message":"what is your minimum order?","session_id":"sid"}')
check "the same key on POST /v1/chat is another key (runs, not replayed)" bash -c "[ $s = 200 ] && ! grep -qi '^idempotent-replayed' '$T/h'"
OA='{"model":"frontdesk","messages":[{"role":"user","content":"do you deliver on saturday?"}],"session_id":"oa-idem"}'
sidem /v1/chat/completions ko-1 "$OA" > /dev/null; cp "$T/b" "$T/o1"
s=$(sidem /v1/chat/completions ko-1 "$OA")
check "OpenAI facade, the same key again: the first completion (same id), replayed" bash -c "[ $s = 200 ] && grep -qi '^idempotent-replayed: true' '$T/h' && cmp -s '$T/b' '$T/o1' && jq -e '.id|startswith(\"chatcmpl-\")' '$T/b' >/dev/null"
OAS='{"model":"frontdesk","stream":true,"messages":[{"role":"user","content":"do you deliver on saturday?"}],"session_id":"oa-idem-s"}'
sidem /v1/chat/completions ko-2 "$OAS" > /dev/null; cp "$T/b" "$T/o2"
s=$(sidem /v1/chat/completions ko-2 "$OAS")
check "OpenAI facade streamed, the same key again: the same stream ending in [DONE]" bash -c "[ $s = 200 ] && grep -qi '^idempotent-replayed: true' '$T/h' && cmp -s '$T/b' '$T/o2' && grep -q 'data: \[DONE\]' '$T/b'"
check "OpenAI facade: one turn pair per key" test "$(db "SELECT count(*) FROM turns WHERE session_id IN ('oa-idem','oa-idem-s')")" = 4

# ---- the orders API and CLI -----------------------------------------------------------------
check "GET /v1/orders lists them" bash -c "[ \$(curl -s -o '$T/l' -w '%{http_code}' -H 'Authorization: Bearer $ORD' '$U/v1/orders') = 200 ] && jq -e '.orders|length==3 and .[2].id==\"$REF\" and .[2].total==156.96 and .[2].goods==126 and .[2].delivery_fee==18' '$T/l' >/dev/null"
check "GET /v1/orders/{id} with lines" bash -c "[ \$(curl -s -o '$T/o' -w '%{http_code}' -H 'Authorization: Bearer $ORD' '$U/v1/orders/$REF') = 200 ] && jq -e '.lines[0].code==\"PB-1201\" and .lines[0].packs==6' '$T/o' >/dev/null"
check "a chat key may not read orders (403)" test "$(req GET /v1/orders "${A[@]}")" = 403
check "no key: 401" test "$(req GET /v1/orders)" = 401
check "unknown order: 404 JSON" bash -c "[ \$(curl -s -o '$T/n' -w '%{http_code}' -H 'Authorization: Bearer $ORD' '$U/v1/orders/HP-999999') = 404 ] && jq -e '.error.code==\"not_found\"' '$T/n' >/dev/null"
check "bad status filter: 422 naming the field" bash -c "[ \$(curl -s -o '$T/n' -w '%{http_code}' -H 'Authorization: Bearer $ORD' '$U/v1/orders?status=nope') = 422 ] && jq -e '.error.field==\"status\"' '$T/n' >/dev/null"
check "bad limit: 422" test "$(req GET '/v1/orders?limit=0' "${E[@]}")" = 422
check "POST /v1/orders/{id}: 405" test "$(req POST "/v1/orders/$REF" "${E[@]}")" = 405
check "frontdesk orders list" bash -c "'$FD' orders list | grep -q '$REF'"
check "frontdesk orders show --json" bash -c "'$FD' orders show --json '$REF' | jq -e '.status==\"confirmed\"' >/dev/null"
check "frontdesk orders show: unknown is an error" bash -c "! '$FD' orders show HP-000000 2>/dev/null"
check "frontdesk orders with no subcommand: usage, exit 2" bash -c "'$FD' orders 2>/dev/null; [ \$? = 2 ]"

kill $PID 2>/dev/null
wait $PID 2>/dev/null
finish
