#!/usr/bin/env bash
# http_commit.sh: a JSON chat's commit without a thread waiting (issue 13).
# The turn's commit is queued and its connection suspended until the batch
# commits: on 2 request threads, concurrent chats are all answered, each
# stored once and in order per conversation; with slow commits (testing
# builds) /healthz still answers at once and batches hold more turns than
# there are threads; a failed commit is answered exactly as the blocking
# path (the stream route) answers it; SIGTERM answers every suspended chat.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
CHAT=$("$FD" keys create --scope chat --name it --json | jq -r .key)
export FRONTDESK_SERVER_THREADS=2 FRONTDESK_LOG_LEVEL=info FRONTDESK_SERVER_DRAIN_MS=5000
export FRONTDESK_LIMITS_KEY_PER_MIN=1000000 FRONTDESK_LIMITS_SESSION_PER_MIN=1000000
export FRONTDESK_LIMITS_IP_PER_MIN=1000000 FRONTDESK_LIMITS_GLOBAL_PER_MIN=0
DB=$FRONTDESK_DATA_DIR/frontdesk.db
PID=
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
start() { # start LOG [VAR=value...]: the server, with those settings
  local log=$1; shift
  : > "$T/serve.out"
  env "$@" "$FD" serve --port 0 > "$T/serve.out" 2> "$T/$log" &
  PID=$!
  for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
}
stop() { kill -TERM "$PID"; wait "$PID"; local rc=$?; PID=; return $rc; }
# chat OUT SESSION MESSAGE [ROUTE]: the body to OUT, the status to OUT.code
chat() {
  curl -s -o "$1" -D "$1.h" -w '%{http_code}\n' -X POST "$U${4:-/v1/chat}" \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $CHAT" \
    -d "$(jq -cn --arg s "$2" --arg m "$3" '{session_id:$s, message:$m}')" > "$1.code"
}
jqt() { jq -e "$1" "$2" > /dev/null; }
# burst PREFIX WAIT: 12 chats at once (bodies to $T/PREFIX1..12), /healthz
# timed into t_health WAIT seconds in, then every chat waited for
burst() {
  local pids=() i
  for i in $(seq 12); do chat "$T/$1$i" "$1-$i" "Do you deliver on Saturdays? ($1 $i)" & pids+=($!); done
  sleep "$2"
  t_health=$(curl -s -o /dev/null -w '%{time_total}' --max-time 10 "$U/healthz")
  wait "${pids[@]}"
}
user_turns() { sqlite3 "$DB" "select count(*) from turns where role = 'user'"; }
# the commits' log line at stop: "T turns in B batches"
ratio() { grep -o 'group commit: [0-9]* turns in [0-9]* batches' "$T/$1" | awk '{print $3 / $6}'; }

# ---- many chats on 2 threads: all answered, stored once, in order --------------------
start serve1.log
S=8 M=5 N=24
pids=()
for s in $(seq $S); do
  ( for m in $(seq $M); do chat "$T/s$s.$m" "conv-$s" "Do you deliver on Saturdays? (conversation $s, message $m)"; done ) &
  pids+=($!)
done
for n in $(seq $N); do chat "$T/n$n" "one-$n" "What is your returns policy? ($n)" & pids+=($!); done
wait "${pids[@]}"
codes=$(cat "$T"/s*.code "$T"/n*.code | sort | uniq -c | xargs)
check "$((S * M + N)) chats on 2 threads: all 200 ($codes)" test "$codes" = "$((S * M + N)) 200"
check "each stored once: $((S * M + N)) customer turns" test "$(user_turns)" = $((S * M + N))
inorder=1
for s in $(seq $S); do
  got=$(sqlite3 "$DB" "select group_concat(text, '|') from (select text from turns where session_id = 'conv-$s' and role = 'user' order by seq)")
  want=$(for m in $(seq $M); do printf '%s|' "Do you deliver on Saturdays? (conversation $s, message $m)"; done)
  [ "$got" = "${want%|}" ] || { inorder=0; echo "       conv-$s: $got"; }
  n=$(sqlite3 "$DB" "select count(*) || '/' || max(seq) from turns where session_id = 'conv-$s'")
  [ "$n" = "$((2 * M))/$((2 * M))" ] || { inorder=0; echo "       conv-$s: $n turns/last seq"; }
done
check "each conversation's turns whole and in order" test $inorder = 1
check "a reply is the whole reply" jqt '.answer and .session_id == "conv-1"' "$T/s1.5"
check "server 1: exit 0" stop

if ! "$FD" version | grep -q "testing build"; then
  echo "       (not a testing build: fault points skipped)"
  finish
fi

# ---- slow commits: no thread waits, batches fill -------------------------------------------
start serve2.log FRONTDESK_FAULTS=commit.slow
chat "$T/warm" warm "hello"
before=$(user_turns)
burst slow 0.15
check "12 chats waiting on 0.5 s commits: /healthz in ${t_health}s (< 0.3)" awk -v t="$t_health" 'BEGIN{exit !(t < 0.3)}'
check "and the 12: 200 each" bash -c "cat '$T'/slow*.code | sort -u | xargs | grep -qx 200"
check "and stored" test "$(user_turns)" = $((before + 12))
check "server 2: exit 0" stop
r=$(ratio serve2.log)
check "more turns per commit than threads (${r:-none}; 2 threads could make 2 at most)" awk -v r="${r:-0}" 'BEGIN{exit !(r > 2.5)}'

# ---- LLM turns: the commit after the call is queued too --------------------------------------
# 12 messages answered through the (fake) LLM while each commit takes
# 0.5 s: no request thread waits for them, so /healthz answers at once and
# a batch holds more turns than there are threads.
FAKE=${FD_FAKE_LLM:?FD_FAKE_LLM must point to the fake_llm binary}
"$FAKE" --port 0 --port-file "$T/lport" > "$T/fake.log" 2>&1 &
FAKE_PID=$!
trap 'kill -9 $PID 2>/dev/null; kill $FAKE_PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/lport" ] && break; sleep 0.05; done
start serve2l.log FRONTDESK_FAULTS=commit.slow FRONTDESK_CACHE_ENABLED=false \
  FRONTDESK_LLM_BASE_URL="http://127.0.0.1:$(cat "$T/lport")/v1" FRONTDESK_LLM_MODEL=gpt-4o-mini
before=$(user_turns)
burst llm 0.3
check "12 LLM chats waiting on 0.5 s commits: /healthz in ${t_health}s (< 0.3)" awk -v t="$t_health" 'BEGIN{exit !(t < 0.3)}'
check "and the 12: 200, through the LLM, validated" bash -c "cat '$T'/llm*.code | sort -u | xargs | grep -qx 200 &&
  for i in \$(seq 12); do jq -e '.validation == \"ok\" and .degraded == false' '$T/llm'\$i > /dev/null || exit 1; done"
check "and stored, each once" test "$(user_turns)" = $((before + 12))
check "server 2l: exit 0" stop
r=$(ratio serve2l.log)
check "LLM turns: more turns per commit than threads (${r:-none})" awk -v r="${r:-0}" 'BEGIN{exit !(r > 2.5)}'
kill "$FAKE_PID" 2>/dev/null

# ---- SIGTERM answers every suspended chat --------------------------------------------------
# The drain's deadline (0.1 s) passes while 8 commits of 0.5 s are queued:
# each is still answered, with its turn stored.
start serve3.log FRONTDESK_FAULTS=commit.slow FRONTDESK_SERVER_DRAIN_MS=100
before=$(user_turns)
pids=()
for i in $(seq 8); do chat "$T/term$i" "term-$i" "Do you deliver on Saturdays? (term $i)" & pids+=($!); done
# SIGTERM once all 8 are in (a chat not yet connected would be refused)
for _ in $(seq 100); do
  n=$(curl -s "$U/metrics" | awk '$1 == "frontdesk_http_inflight" {print $2}')
  [ "${n:-0}" -ge 9 ] && break
  sleep 0.05
done
kill -TERM "$PID"
wait "${pids[@]}"
wait "$PID"; rc=$?; PID=
codes=$(cat "$T"/term*.code | sort | uniq -c | xargs)
check "SIGTERM with 8 chats suspended: each answered 200 ($codes)" test "$codes" = "8 200"
check "and each stored" test "$(user_turns)" = $((before + 8))
check "server 3: exit 0" test "$rc" = 0

# ---- a failed commit: the blocking path's answer -----------------------------------------
start serve4.log FRONTDESK_FAULTS=store.commit
before=$(user_turns)
chat "$T/f1" fail-1 "Do you deliver on Saturdays?"
chat "$T/f2" fail-2 "Do you deliver on Saturdays?" /v1/chat/stream
check "failed commit: 503 with Retry-After" bash -c "[ \$(cat '$T/f1.code') = 503 ] && grep -qi '^Retry-After: 5' '$T/f1.h'"
check "as the stream route (blocking) answers it" bash -c "[ \$(cat '$T/f2.code') = 503 ] &&
  [ \"\$(jq -c '.error|del(.request_id)' '$T/f1')\" = \"\$(jq -c '.error|del(.request_id)' '$T/f2')\" ]"
check "nothing stored" test "$(user_turns)" = "$before"
check "server 4: exit 0" stop

# One turn of a batch fails (its 3rd row write): it alone gets 503 and is
# not stored; its neighbours in the same transaction are.
start serve5.log FRONTDESK_FAULTS=commit.slow,dialog.persist:3
before=$(user_turns)
pids=()
for i in $(seq 6); do chat "$T/b$i" "batch-$i" "Do you deliver on Saturdays? (batch $i)" & pids+=($!); done
wait "${pids[@]}"
codes=$(cat "$T"/b?.code | sort | uniq -c | xargs)
check "a failing turn among 6: one 503, five 200 ($codes)" test "$codes" = "5 200 1 503"
failed=$(grep -l 503 "$T"/b?.code | head -1)
fs=batch-$(basename "$failed" .code | tr -d b)
check "the failed one's error is the store's" jqt '.error.code == "unavailable"' "${failed%.code}"
check "the failed one stored nothing, the others whole" bash -c "[ \$(sqlite3 '$DB' \"select count(*) from turns where session_id = '$fs'\") = 0 ] &&
  [ \$(sqlite3 '$DB' \"select count(*) from turns where session_id like 'batch-%'\") = 10 ]"
check "server 5: exit 0" stop
finish
