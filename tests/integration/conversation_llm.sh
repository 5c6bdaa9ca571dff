#!/usr/bin/env bash
# conversation_llm.sh: the conversation engine with an LLM: a real
# OpenAI-compatible fake server on 127.0.0.1 (tests/support/fake_llm.c)
# that answers faithfully, invents facts, or fails (500, 429, broken JSON,
# dropped stream, slow first token). One call per message; invented facts
# never reach the customer; failures give a degraded extractive answer.
. "$(dirname "$0")/lib.bash"

FAKE=${FD_FAKE_LLM:?FD_FAKE_LLM must point to the fake_llm binary}
EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FAKE" --port 0 --port-file "$T/port" > "$T/fake.log" 2>&1 &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null; wait $FAKE_PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
PORT=$(cat "$T/port")
URL="http://127.0.0.1:$PORT"
mode() { curl -s -X POST "$URL/_control" -d "{\"mode\":\"$1\",\"delay_ms\":${2:-0},\"reset\":true}" > /dev/null; }
requests() { curl -s "$URL/_stats" | jq .requests; }
jqe() { jq -e "$@" > /dev/null; }

"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
export FRONTDESK_LLM_BASE_URL="$URL/v1" FRONTDESK_LLM_MODEL=gpt-4o-mini
printf 'sk-test-123\n' > "$T/key"
export FRONTDESK_LLM_API_KEY_FILE="$T/key"
export FRONTDESK_LLM_FIRST_TOKEN_TIMEOUT_MS=1500 FRONTDESK_LLM_TOTAL_TIMEOUT_MS=4000
export FRONTDESK_LLM_BACKOFF_MS=50

# ---- a faithful model: one call, validated, cited, costed ----------------------
mode echo
r0=$(requests)
"$FD" ask --json "How long do I have to report defective goods?" > "$T/r.json"
check "one LLM call per message" test "$(( $(requests) - r0 ))" = 1
check "the key from the key file reached the server" \
  bash -c "curl -s '$URL/_stats' | jq -e '.auth==\"Bearer sk-test-123\"' > /dev/null"
check "the LLM answer passed validation and is cited" \
  jqe '.llm.called and .validation=="ok" and .answered and (.citations|length>0) and (.degraded|not)' "$T/r.json"
check "tokens and cost are reported" jqe '.llm.prompt_tokens>0 and .llm.cost_usd>0' "$T/r.json"
"$FD" ask --json "hello" > "$T/r.json"
check "a greeting does not call the LLM" jqe '.llm.called|not' "$T/r.json"
"$FD" ask --json "can you recommend a good dentist" > "$T/r.json"
check "no support in the documents: declined without an LLM call" jqe '(.answered|not) and (.llm.called|not)' "$T/r.json"
# A page about the subject but no answer on it: the composer declines, the
# model reads the sections and says the prompt's marker; our decline, once.
r0=$(requests)
"$FD" ask --json "do you sell coffee machines" > "$T/r.json"
check "a related page: the LLM is asked although the composer declines" \
  jqe '.llm.called and (.decision.outcome|test("low_support|focus_missing"))' "$T/r.json"
check "its NO_ANSWER becomes our decline, never shown" \
  jqe '(.answered|not) and .validation=="no_answer" and (.answer|test("NO_ANSWER")|not)' "$T/r.json"
check "still one call" test "$(( $(requests) - r0 ))" = 1
# The composer declines for lack of word coverage; the model finds the
# answer in the whole section, and validation checks it.
"$FD" ask --json "do you take back the pallets" > "$T/r.json"
check "declined by the composer, answered from the sections by the LLM, validated" \
  jqe '.llm.called and .decision.outcome=="low_support" and .answered and .validation=="ok" and (.citations|length>0)' "$T/r.json"
FRONTDESK_LLM_ASK_ON_DECLINE=false "$FD" ask --json "do you take back the pallets" > "$T/r.json"
check "llm.ask_on_decline=false: only the composer's answers go to the LLM" \
  jqe '(.llm.called|not) and (.answered|not)' "$T/r.json"

# ---- the validator in both directions over the case file ------------------------
"$FD" eval answers --cases "$EX/cases.jsonl" --json > "$T/echo.json"
jq -c '{accuracy, llm_calls, llm_blocked, hallucination_rate}' "$T/echo.json"
check "faithful answers: at most 5% blocked" \
  jqe '.llm_calls > 50 and (.llm_blocked / .llm_calls) <= 0.05' "$T/echo.json"
mode invent
"$FD" eval answers --cases "$EX/cases.jsonl" --json > "$T/invent.json"
jq -c '{accuracy, llm_calls, llm_blocked, hallucination_rate}' "$T/invent.json"
check "invented facts: every such answer blocked" \
  jqe '.llm_calls > 50 and .llm_blocked + .llm_no_answer == .llm_calls and .llm_blocked > 40' "$T/invent.json"
check "invented facts never reach the customer (S\$12.34 absent)" \
  bash -c "! grep -q '12.34' '$T/invent.json'"
"$FD" ask --json "How much is delivery to Sentosa?" > "$T/r.json"
check "a blocked answer is replaced by the extractive one" \
  jqe '.validation!="ok" and .validation!="skipped" and (.answer|test("12.34")|not) and .grounded' "$T/r.json"

# ---- failures: degraded extractive answers within the deadline -------------------
for m in 500 429 broken_json drop slow; do
  mode "$m" 3000
  start=$(date +%s%N)
  "$FD" ask --json "What are the payment terms for new customers?" > "$T/r.json" 2> "$T/err"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  check "LLM $m: degraded extractive answer in ${ms} ms" \
    jqe '.degraded and .answered and (.citations|length>0)' "$T/r.json"
  # The deadline bounds the LLM stage, which the reply times itself: the
  # process's wall time (start-up, ASan, a loaded CI) is not the LLM's.
  llm_ms=$(jq '.timing_ms.llm // 99999 | floor' "$T/r.json")
  check "LLM $m: the LLM stage ended within the 4 s total deadline (${llm_ms} ms)" test "$llm_ms" -lt 4500
done
mode echo
check "the failures were logged" grep -q 'LLM call failed' "$T/err"

# ---- chat streams the validated sentences ------------------------------------------
printf 'Do you deliver to Sentosa?\n/quit\n' | "$FD" chat > "$T/chat.out" 2>&1
check "chat streams an answer from the LLM" grep -qi 'sentosa' "$T/chat.out"
finish
