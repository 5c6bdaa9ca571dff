#!/usr/bin/env bash
# http_cache.sh: the answer caches through the real server. Each layer hit
# and miss; near misses that must not hit (other size, other product, other
# date, negation); personal answers never shared across sessions; Cache-
# Control: no-cache; invalidation when a document changes; layers turned
# off; the byte budget; then with the fake LLM: 50 identical concurrent
# messages make exactly one LLM call, the evidence layer shares an answer
# between paraphrases whose extractive answer is the same (never with a near
# miss), the LLM layer answers a repeated conversation, and a full LLM queue
# gives degraded answers, not errors.
. "$(dirname "$0")/lib.bash"

FAKE=${FD_FAKE_LLM:?FD_FAKE_LLM must point to the fake_llm binary}
EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
PID= FAKE_PID=
trap 'kill -9 $PID 2>/dev/null; kill $FAKE_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
KEY=$("$FD" keys create --scope chat --json | jq -r .key)
INGEST=$("$FD" keys create --scope ingest --json | jq -r .key)
export FRONTDESK_LIMITS_SESSION_PER_MIN=100000 FRONTDESK_LIMITS_KEY_PER_MIN=100000
export FRONTDESK_LOG_LEVEL=info

start_server() {
  : > "$T/serve.out"
  "$FD" serve --port 0 > "$T/serve.out" 2>> "$T/serve.log" &
  PID=$!
  for _ in $(seq 300); do grep -q 'http://' "$T/serve.out" 2> /dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
}
stop_server() { kill -TERM "$PID" 2> /dev/null; wait "$PID" 2> /dev/null; PID=; }
A=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
# ask MESSAGE [SESSION] [curl args...]: the reply in $T/b, prints .cached
ask() {
  local m=$1 sid=${2:-}
  shift 2 2> /dev/null || shift
  local body
  if [ -n "$sid" ]; then body=$(jq -cn --arg m "$m" --arg s "$sid" '{message:$m,session_id:$s}')
  else body=$(jq -cn --arg m "$m" '{message:$m}'); fi
  curl -s -o "$T/b" "${A[@]}" "$@" -d "$body" "$U/v1/chat"
  jq -r '.cached' "$T/b"
}
docs() { jq -c '[.citations[].document]|sort' "$T/b"; }
metric() { curl -s "$U/metrics" | awk -v m="$1" '$1==m {print $2}'; }

start_server

# ---- exact and semantic ----------------------------------------------------------
Q="Do you deliver on Sundays?"
c1=$(ask "$Q"); d1=$(docs); a1=$(jq -r .answer "$T/b")
check "first ask computes (cached=false, got $c1)" test "$c1" = false
c2=$(ask "$Q")
check "the same message again: exact hit (got $c2)" test "$c2" = exact
check "exact hit gives the same answer" test "$(jq -r .answer "$T/b")" = "$a1"
check "exact hit keeps the citations" test "$(docs)" = "$d1"
check "exact hit is still a stored turn in a session" jq -e '.session_id|length>0' "$T/b"
c3=$(ask "  do you DELIVER on sundays  ")
check "case and spacing do not matter: exact (got $c3)" test "$c3" = exact
c4=$(ask "do u deliver on sundays??")
check "a paraphrase with a typo: semantic hit (got $c4)" test "$c4" = semantic
check "semantic hit: same sources" test "$(docs)" = "$d1"
check "semantic hit reports its similarity" jq -e '.cached=="semantic"' "$T/b"
c5=$(ask "do u deliver on sundays??")
check "the paraphrase itself is now an exact hit (got $c5)" test "$c5" = exact
c6=$(ask "Do you deliver on Sundays?" "" -H 'Cache-Control: no-cache')
check "Cache-Control: no-cache bypasses every layer (got $c6)" test "$c6" = false

# ---- near misses: never the neighbour's answer -------------------------------------
c=$(ask "How much is the 12-inch pizza box?"); ans12=$(jq -r .answer "$T/b")
check "12-inch price computed" test "$c" = false
c=$(ask "How much is the 12-inch pizza box?")
check "12-inch price again: exact" test "$c" = exact
c=$(ask "how much is the 12INCH pizza box")
printf '%s\n' "$ans12" > "$T/a12"
check "'12INCH' is '12-inch': exact, the same answer (got $c)" bash -c "[ '$c' = exact ] && jq -r .answer '$T/b' | cmp -s - '$T/a12'"
c=$(ask "How much is the 12 inch pizza box?")
check "'12 inch' is '12-inch': exact (got $c)" test "$c" = exact
c=$(ask "How much is the 10-inch pizza box?")
check "other size (10-inch after 12-inch): not a hit (got $c)" test "$c" = false
c=$(ask "how much is the 10 inch pizza box")
check "10-inch paraphrase never gets the 12-inch answer" bash -c "[ '$c' != exact ] || ! jq -e --arg a \"\$(cat <<'X'
$ans12
X
)\" '.answer==\$a' '$T/b' > /dev/null"
ask "Do you deliver to Malaysia?" > /dev/null
c=$(ask "Don't you deliver to Malaysia?")
check "negation: not a hit (got $c)" test "$c" = false
ask "Can I order kraft pizza boxes?" > /dev/null
c=$(ask "Can I order white pizza boxes?")
check "other product: not a hit (got $c)" test "$c" = false
ask "Do you deliver on Tuesday?" > /dev/null
c=$(ask "Do you deliver on Wednesday?")
check "other date: not a hit (got $c)" test "$c" = false

# ---- personal answers stay in their session -----------------------------------------
# A follow-up read through session A's slots ("what about 10-inch?" after the
# 12-inch price) is A's own: never stored, never served to session B.
ask "How much is the 12-inch pizza box?" > /dev/null
SA=$(jq -r .session_id "$T/b")
ask "what about 10-inch?" "$SA" > /dev/null
qa=$(jq -r .query "$T/b")
check "session A's follow-up is rewritten from its slots ($qa)" test "$qa" != "what about 10-inch?"
check "a follow-up that uses the session is not answered from cache" jq -e '.cached!="exact" and .cached!="semantic"' "$T/b"
ask "what about 10-inch?" "$SA" > /dev/null
check "not even in its own session (nothing stored)" jq -e '.cached!="exact" and .cached!="semantic"' "$T/b"
c=$(ask "what about 10-inch?")
check "the same words in a new session: not session A's answer (got $c)" bash -c "[ '$c' != exact ] && [ '$c' != semantic ]"
check "and the new session reads them on their own" test "$(jq -r .query "$T/b")" = "what about 10-inch?"
ask "Where is my order HP-240517?" > /dev/null
c=$(ask "Where is my order HP-240517?")
check "an order question's answer is never shared (got $c)" bash -c "[ '$c' != exact ] && [ '$c' != semantic ]"

# ---- metrics ---------------------------------------------------------------------------
check "exact hits counted" test "$(metric 'frontdesk_cache_requests_total{layer="exact",result="hit"}')" -ge 3
check "semantic hits counted" test "$(metric 'frontdesk_cache_requests_total{layer="semantic",result="hit"}')" -ge 1
check "misses counted" test "$(metric 'frontdesk_cache_requests_total{layer="exact",result="miss"}')" -ge 5
check "retrieval layer in use" test "$(metric 'frontdesk_cache_requests_total{layer="retrieval",result="miss"}')" -ge 1
check "bytes reported" test "$(metric 'frontdesk_cache_bytes{layer="exact"}')" -gt 0

# ---- invalidation: a changed knowledge base never serves an old answer -------------------
c=$(ask "$Q")
check "before the upload: exact" test "$c" = exact
curl -s -o "$T/up" -w '%{http_code}' -H "Authorization: Bearer $INGEST" -H 'Content-Type: application/json' \
  -d '{"id":"sunday-pilot.md","content":"# Sunday pilot\n\nFrom March we run a Sunday delivery pilot in Jurong West."}' \
  "$U/v1/documents" > "$T/code"
check "document uploaded" test "$(cat "$T/code")" = 201 -o "$(cat "$T/code")" = 200
c=$(ask "$Q")
check "after the upload the question is answered afresh (got $c)" test "$c" = false
check "old entries purged from memory" test "$(metric 'frontdesk_cache_purged_total{layer="exact"}')" -ge 1
stop_server

# ---- layers off ---------------------------------------------------------------------------
FRONTDESK_CACHE_EXACT=false start_server
ask "$Q" > /dev/null
c=$(ask "$Q")
check "cache.exact=false: never an exact hit (got $c)" test "$c" != exact
stop_server
FRONTDESK_CACHE_ENABLED=false start_server
ask "$Q" > /dev/null
c=$(ask "$Q")
check "cache.enabled=false: no layer answers (got $c)" test "$c" = false
check "cache.enabled=false: nothing counted" test "$(metric 'frontdesk_cache_requests_total{layer="exact",result="miss"}')" = 0
stop_server

# ---- the byte budget -----------------------------------------------------------------------
FRONTDESK_CACHE_MAX_BYTES=65536 start_server
for q in "delivery fee" "minimum order" "pizza box sizes" "payment terms" "returns policy" \
  "defective boxes" "invoice copy" "opening hours" "Sentosa delivery" "Jurong Island delivery" \
  "public holiday delivery" "bubble tea cups" "custom printing" "lead time" "paper bags" \
  "cutlery" "sample request" "credit terms" "GST" "cancel order"; do
  for form in "tell me about" "what about" "info on"; do ask "$form $q" > /dev/null; done
done
used=0
for l in exact semantic retrieval llm; do used=$((used + $(metric "frontdesk_cache_bytes{layer=\"$l\"}"))); done
check "the local cache stays within cache.max_bytes ($used <= 65536)" test "$used" -le 65536
ev=0
for l in exact semantic retrieval llm; do ev=$((ev + $(metric "frontdesk_cache_evictions_total{layer=\"$l\"}"))); done
check "and evicts to do so ($ev evictions)" test "$ev" -gt 0
stop_server

# ---- with an LLM ------------------------------------------------------------------------------
"$FAKE" --port 0 --port-file "$T/lport" > "$T/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 100); do [ -s "$T/lport" ] && break; sleep 0.05; done
L="http://127.0.0.1:$(cat "$T/lport")"
mode() { curl -s -X POST "$L/_control" -d "{\"mode\":\"$1\",\"delay_ms\":${2:-0},\"reset\":true}" > /dev/null; }
llm_requests() { curl -s "$L/_stats" | jq .requests; }
export FRONTDESK_LLM_BASE_URL="$L/v1" FRONTDESK_LLM_MODEL=gpt-4o-mini FRONTDESK_LLM_BREAKER_FAILURES=1000
export FRONTDESK_LLM_TOTAL_TIMEOUT_MS=10000 FRONTDESK_LLM_FIRST_TOKEN_TIMEOUT_MS=8000
start_server

# Single-flight: 50 identical messages at once, one LLM call.
mode slow 1500
r0=$(llm_requests)
QB='{"message":"How long do I have to report defective boxes?"}'
for i in $(seq 50); do
  curl -s -o "$T/sf.$i" -w '%{http_code}\n' "${A[@]}" -d "$QB" "$U/v1/chat" > "$T/sf.code.$i" &
done
wait $(jobs -p | grep -v "^$PID$" | grep -v "^$FAKE_PID$") 2> /dev/null
n200=$(cat "$T"/sf.code.* | grep -c '^200$')
check "50 identical concurrent messages: all 200 (got $n200)" test "$n200" = 50
calls=$(($(llm_requests) - r0))
check "50 identical concurrent messages: exactly one LLM call (got $calls)" test "$calls" = 1
paid=$(cat "$T"/sf.[0-9]* | jq -s '[.[]|select(.llm.called)]|length')
check "one reply carries the call, the rest shared or cached (called: $paid)" test "$paid" = 1
check "every reply is validated, none degraded" bash -c "cat '$T'/sf.[0-9]* | jq -s -e 'all(.validation==\"ok\" and .degraded==false)' > /dev/null"
dist=$(cat "$T"/sf.[0-9]* | jq -s -c 'group_by(.cached)|map({(.[0].cached|tostring):length})|add')
check "the other 49 say where their answer came from: $dist" bash -c "cat '$T'/sf.[0-9]* | jq -s -e '[.[]|select(.cached==\"shared\" or .cached==\"exact\" or .cached==\"llm\")]|length==49' > /dev/null"
check "single-flight counted" test "$(metric frontdesk_llm_shared_total)" -ge 1

# The evidence layer: an LLM answer given with earlier turns in the prompt is
# shared under its evidence (the semantic bucket + the extractive answer) when
# the question stands alone: the same conversation in another session gets it,
# and so does a paraphrase with a typo in a new session; a near miss (another
# distinctive word) does not.
mode echo
convo() {
  ask "hello" > /dev/null
  local sid
  sid=$(jq -r .session_id "$T/b")
  ask "What is the minimum order for delivery?" "$sid"
}
r0=$(llm_requests)
c=$(convo)
check "a conversation's LLM answer is computed (got $c)" test "$c" = false
jq -c '{answer, d: [.citations[].document]|sort}' "$T/b" > "$T/ev1"
c=$(convo)
check "the same conversation again: evidence hit (got $c)" test "$c" = evidence
check "the evidence hit is the LLM's validated answer, no call made" jq -e '.validation=="ok" and .llm.called==false' "$T/b"
jq -c '{answer, d: [.citations[].document]|sort}' "$T/b" > "$T/ev2"
check "the evidence hit gives the same answer and sources" cmp -s "$T/ev1" "$T/ev2"
c=$(ask "whats the minimun order for a delivery")
check "a paraphrase with a typo, no history: evidence hit (got $c)" test "$c" = evidence
check "one LLM call for the three" test "$(($(llm_requests) - r0))" = 1
c=$(ask "What is the minimum order for Sentosa delivery?")
check "a near miss (Sentosa) is not the neighbour's answer (got $c)" bash -c "[ '$c' != evidence ] && [ '$c' != semantic ] && [ '$c' != exact ]"
check "evidence lookups counted in the semantic layer" test "$(metric 'frontdesk_cache_requests_total{layer="semantic",result="hit"}')" -ge 2
stop_server

# The LLM layer (the semantic and evidence layers off): the same conversation
# replayed in another session gets the completion from cache.
FRONTDESK_CACHE_SEMANTIC=false start_server
r0=$(llm_requests)
c=$(convo)
check "with the semantic layers off, a conversation's LLM answer is computed (got $c)" test "$c" = false
c=$(convo)
check "the same conversation again: LLM layer hit (got $c)" test "$c" = llm
check "the LLM layer hit is validated" jq -e '.validation=="ok" and .llm.called==false' "$T/b"
check "one LLM call for the two conversations" test "$(($(llm_requests) - r0))" = 1
stop_server

# ---- the cost ledger ------------------------------------------------------------------------
"$FD" report costs --json > "$T/costs.json"
check "report costs --json: every message in the ledger" jq -e '.total.requests >= 60' "$T/costs.json"
check "report costs: the LLM calls and their cost (gpt-4o-mini prices)" jq -e '.total.llm_calls >= 2 and .total.cost_usd > 0 and .total.prompt_tokens > 0' "$T/costs.json"
check "report costs: cached messages counted" jq -e '.total.cached >= 50' "$T/costs.json"
check "report costs: cost per 1,000 requests" jq -e '.total.cost_per_1000_requests > 0' "$T/costs.json"
prefix=$(printf '%s' "$KEY" | cut -c1-12)
check "report costs: by key (the key's prefix)" jq -e --arg p "$prefix" '.by_key|map(.group)|any(startswith($p[0:8]))' "$T/costs.json"
check "report costs: by model" jq -e '.by_model|map(.group)|index("gpt-4o-mini")' "$T/costs.json"
check "report costs: by day" jq -e '.by_day|length==1' "$T/costs.json"
"$FD" report costs --by model > "$T/costs.txt"
check "report costs (text): a table with the model" grep -q '^gpt-4o-mini' "$T/costs.txt"
"$FD" report costs --since 1d --json | jq -e '.total.requests >= 60' > /dev/null
check "report costs --since 1d" test $? = 0
"$FD" report costs --since 2999-01-01 --json > "$T/none.json"
check "report costs: an empty period is zeros" jq -e '.total.requests == 0 and .total.cost_usd == 0' "$T/none.json"
"$FD" report costs --since yesterdayish --json > "$T/bad.json" 2> "$T/bad.err"
rc=$?
check "report costs: a bad --since exits 2 ($rc)" test "$rc" = 2
check "report costs: a bad --since is a JSON error naming the field" jq -e '.error.field=="since"' "$T/bad.err"

# Admission: 2 calls run, 3 wait, the rest get the extractive answer at once.
mode slow 1500
FRONTDESK_LLM_MAX_INFLIGHT=2 FRONTDESK_LLM_QUEUE_MAX=3 FRONTDESK_LLM_QUEUE_TIMEOUT_MS=1000 start_server
qs=("How long do I have to report defective boxes?" "What is the minimum order for delivery?"
  "Do you deliver to Sentosa?" "What are your payment terms?" "Can I get a sample?"
  "Do you deliver on public holidays?" "How much is delivery to Jurong Island?"
  "What sizes of pizza boxes do you have?" "Do you print logos on boxes?" "How do I order?")
i=0
for q in "${qs[@]}"; do
  i=$((i + 1))
  curl -s -o "$T/q.$i" -w '%{http_code}\n' "${A[@]}" -H 'Cache-Control: no-cache' \
    -d "$(jq -cn --arg m "$q" '{message:$m}')" "$U/v1/chat" > "$T/q.code.$i" &
done
wait $(jobs -p | grep -v "^$PID$" | grep -v "^$FAKE_PID$") 2> /dev/null
n200=$(cat "$T"/q.code.* | grep -c '^200$')
check "queue full: every message answered 200 (got $n200 of 10)" test "$n200" = 10
deg=$(cat "$T"/q.[0-9]* | jq -s '[.[]|select(.degraded)]|length')
check "queue full: the overflow is degraded (extractive), not an error ($deg degraded)" test "$deg" -ge 3
check "queue full counted" bash -c "curl -s '$U/metrics' | grep -q 'frontdesk_llm_client_total{kind=\"queue_full\"} [1-9]'"
check "queue wait observed" bash -c "curl -s '$U/metrics' | grep -q '^frontdesk_llm_queue_wait_seconds_count [1-9]'"
check "queue length reported" bash -c "curl -s '$U/metrics' | grep -q '^frontdesk_llm_queue_length '"
stop_server

if grep -q 'ERROR: AddressSanitizer\|runtime error' "$T/serve.log"; then fail "sanitizer report in the server log"; else ok "no sanitizer report"; fi
finish
