#!/usr/bin/env bash
# http_llm.sh: `frontdesk serve` with an LLM (the fake OpenAI-compatible
# server on 127.0.0.1): the suspended LLM path of POST /v1/chat, the SSE
# stream's events and their order, invented facts retracted, every fault
# (500, 429, broken JSON, dropped stream, hang) giving a degraded answer
# within the deadline, a client leaving mid-stream cancelling its call,
# concurrent calls not serialized, and SIGTERM under load losing nothing.
. "$(dirname "$0")/lib.bash"

FAKE=${FD_FAKE_LLM:?FD_FAKE_LLM must point to the fake_llm binary}
EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FAKE" --port 0 --port-file "$T/lport" > "$T/fake.log" 2>&1 &
FAKE_PID=$!
PID=
trap 'kill -9 $PID 2>/dev/null; kill $FAKE_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/lport" ] && break; sleep 0.05; done
L="http://127.0.0.1:$(cat "$T/lport")"
mode() { curl -s -X POST "$L/_control" -d "{\"mode\":\"$1\",\"delay_ms\":${2:-0},\"reset\":true}" > /dev/null; }
llm_requests() { curl -s "$L/_stats" | jq .requests; }

"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
KEY=$("$FD" keys create --scope chat --json | jq -r .key)
export FRONTDESK_LLM_BASE_URL="$L/v1" FRONTDESK_LLM_MODEL=gpt-4o-mini
export FRONTDESK_LLM_FIRST_TOKEN_TIMEOUT_MS=1500 FRONTDESK_LLM_TOTAL_TIMEOUT_MS=3000
export FRONTDESK_LLM_BACKOFF_MS=50 FRONTDESK_LLM_BREAKER_FAILURES=1000
export FRONTDESK_LIMITS_SESSION_PER_MIN=100000 FRONTDESK_LIMITS_KEY_PER_MIN=100000
export FRONTDESK_LOG_LEVEL=info
# The LLM path itself, every message to the LLM: the answer caches would
# answer the repeated questions (they have their own test, http_cache.sh).
export FRONTDESK_CACHE_ENABLED=false

start_server() {
  : > "$T/serve.out"
  "$FD" serve --port 0 > "$T/serve.out" 2>> "$T/serve.log" &
  PID=$!
  for _ in $(seq 300); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
}
start_server
A=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
Q='{"message":"How long do I have to report defective boxes?"}'
chat() { curl -s -o "$T/b" -w '%{http_code}' "${A[@]}" "$@" -d "${BODY:-$Q}" "$U/v1/chat"; }
metric() { curl -s "$U/metrics" | awk -v m="$1" '$1==m {print $2}'; }

# ---- the LLM path of POST /v1/chat ----------------------------------------------
mode echo
r0=$(llm_requests)
s=$(chat -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')
check "chat through the LLM: 200, validated, not degraded" bash -c "[ $s = 200 ] && jq -e '.validation==\"ok\" and .degraded==false and .answered and (.citations|length>0)' '$T/b' >/dev/null"
check "one LLM call for the message" test "$(llm_requests)" = $((r0 + 1))
check "traceparent reaches the LLM" bash -c "curl -s '$L/_stats' | jq -e '.traceparent==\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"' >/dev/null"
check "the request id reaches the LLM" bash -c "curl -s '$L/_stats' | jq -e --arg id $(jq -r .request_id "$T/b") '.request_id==\$id' >/dev/null"

# ---- the stream: token events, then citations, then done ---------------------------
curl -sN "${A[@]}" -d "$Q" "$U/v1/chat/stream" -D "$T/sh" > "$T/sse"
events=$(grep '^event:' "$T/sse" | awk '{print $2}' | uniq | tr '\n' ' ')
check "stream is text/event-stream" grep -qi '^Content-Type: text/event-stream' "$T/sh"
check "events in order: token... citations done (got: $events)" test "$events" = "token citations done "
check "more than one token event" test "$(grep -c '^event: token' "$T/sse")" -gt 1
grep '^data:' "$T/sse" | sed 's/^data: //' > "$T/data"

# ---- Idempotency-Key on the stream (LLM path): a retry is the first stream, whole ----
r0=$(llm_requests)
curl -sN "${A[@]}" -H 'Idempotency-Key: st-1' -d '{"message":"How long do I have to report defective boxes?","session_id":"idem-st"}' "$U/v1/chat/stream" > "$T/st1"
curl -sN "${A[@]}" -H 'Idempotency-Key: st-1' -d '{"message":"How long do I have to report defective boxes?","session_id":"idem-st"}' "$U/v1/chat/stream" -D "$T/st2h" > "$T/st2"
check "stream retried with its key: replayed (Idempotent-Replayed), the same bytes" bash -c "grep -qi '^idempotent-replayed: true' '$T/st2h' && grep -qi '^content-type: text/event-stream' '$T/st2h' && cmp -s '$T/st1' '$T/st2' && grep -q '^event: done' '$T/st2'"
check "stream retried: one LLM call, one turn pair" bash -c "[ $(llm_requests) = $((r0 + 1)) ] && [ \$(sqlite3 '$FRONTDESK_DATA_DIR/frontdesk.db' \"select count(*) from turns where session_id='idem-st'\") = 2 ]"
streamed=$(grep -A1 '^event: token' "$T/sse" | grep '^data:' | sed 's/^data: //' | jq -j .text)
done_answer=$(tail -1 "$T/data" | jq -r .answer)
check "the tokens add up to the final answer" test "$streamed" = "$done_answer"
check "done carries the full reply object" bash -c "tail -1 '$T/data' | jq -e '.validation==\"ok\" and .cached==false and (.request_id|length>0) and has(\"session_id\")' >/dev/null"

# An invented price never streams: it is held back, or retracted with a reset.
mode invent
curl -sN "${A[@]}" -d '{"message":"What does a 10-inch pizza box cost?"}' "$U/v1/chat/stream" > "$T/sse"
last=$(grep '^data:' "$T/sse" | tail -1 | sed 's/^data: //')
check "invented answer blocked in the stream" bash -c "echo '$last' | jq -e '.validation!=\"ok\"' >/dev/null"
check "nothing invented left standing (reset, or never sent)" bash -c "! grep -q '^event: token' '$T/sse' || grep -q '^event: reset' '$T/sse' || [ \"\$(grep -A1 '^event: token' '$T/sse' | grep '^data:' | sed 's/^data: //' | jq -j .text)\" = \"\$(echo '$last' | jq -r .answer)\" ]"

# ---- faults: a degraded extractive answer within the deadline ------------------------
for m in 500 429 broken_json drop hang; do
  mode "$m"
  t0=$(date +%s%N)
  s=$(chat)
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  check "LLM $m: 200 degraded extractive answer in ${ms} ms" bash -c "[ $s = 200 ] && jq -e '.degraded==true and .answered and (.citations|length>0)' '$T/b' >/dev/null"
  check "LLM $m: within the 3 s deadline (+ margin)" test "$ms" -lt 6000
done
mode slow 2500
s=$(chat)
check "slow first token: degraded" bash -c "[ $s = 200 ] && jq -e '.degraded==true' '$T/b' >/dev/null"
curl -sN "${A[@]}" -d "$Q" "$U/v1/chat/stream" > "$T/sse"
check "stream with a failing LLM still ends with done, degraded" bash -c "grep '^data:' '$T/sse' | tail -1 | sed 's/^data: //' | jq -e '.degraded==true and .answered' >/dev/null"

# ---- a client leaving mid-stream cancels its call -------------------------------------
mode slow_tokens 400
c0=$(curl -s "$U/metrics" | awk '/^frontdesk_llm_client_total\{kind="cancelled"\}/ {print $2}')
curl -sN --max-time 1 "${A[@]}" -d "$Q" "$U/v1/chat/stream" > /dev/null 2>&1
gone=0
for _ in $(seq 50); do
  [ "$(metric frontdesk_llm_inflight)" = 0 ] && { gone=1; break; }
  sleep 0.1
done
c1=$(curl -s "$U/metrics" | awk '/^frontdesk_llm_client_total\{kind="cancelled"\}/ {print $2}')
check "disconnect mid-stream: the call is cancelled (in flight back to 0)" test "$gone" = 1
check "disconnect mid-stream: counted as cancelled ($c0 -> $c1)" test "${c1:-0}" -gt "${c0:-0}"
check "server alive after the disconnect" test "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")" = 200

# ---- concurrent LLM calls are not serialized -------------------------------------------
mode echo 400
t0=$(date +%s%N)
seq 40 | xargs -P 40 -I{} curl -s -o /dev/null -w '%{http_code}\n' "${A[@]}" \
  -d '{"message":"How long do I have to report defective boxes?","session_id":"par{}"}' "$U/v1/chat" > "$T/codes"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "40 concurrent LLM chats: all 200" test "$(grep -c '^200$' "$T/codes")" = 40
# One at a time they would take 40 x 0.4 s = 16 s.
check "40 concurrent LLM chats at 400 ms each overlap (${ms} ms, serial would be 16000)" test "$ms" -lt 8000

# ---- SIGTERM under load: every accepted request is answered -----------------------------
mode echo 800
CURLS=()
for i in $(seq 20); do
  curl -s -o /dev/null -w '%{http_code}\n' "${A[@]}" -d "{\"message\":\"How long do I have to report defective boxes?\",\"session_id\":\"term$i\"}" "$U/v1/chat" >> "$T/term" &
  CURLS+=($!)
done
for _ in $(seq 100); do
  [ "$(metric frontdesk_llm_inflight)" = 20 ] && break
  sleep 0.05
done
kill -TERM $PID
wait $PID
rc=$?
wait "${CURLS[@]}"
check "SIGTERM under load: exit 0" test "$rc" = 0
check "SIGTERM under load: all 20 accepted requests answered 200 ($(sort "$T/term" | uniq -c | tr '\n' ' '))" test "$(grep -c '^200$' "$T/term")" = 20
PID=
if grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/serve.log"; then fail "sanitizer report in the server log"; else ok "no sanitizer report"; fi
finish
