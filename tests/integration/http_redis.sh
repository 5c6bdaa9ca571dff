#!/usr/bin/env bash
# http_redis.sh: two replicas of `frontdesk serve` sharing one Redis (a real
# redis-server started here on a free port in the temp dir, stopped by PID):
# an answer computed by one is a cache hit on the other; a rate limit is
# one bucket for both; Redis killed mid-test: both keep answering from
# local caches and local limits, the failure is counted; Redis restarted:
# both go back to it by themselves.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
REDIS=$(command -v redis-server || true)
[ -n "$REDIS" ] || { fail "redis-server not found (scripts/deps.sh installs the Debian package)"; finish; }
P1= P2= RPID=
trap 'kill -9 $P1 $P2 2>/dev/null; [ -n "$RPID" ] && kill -9 $RPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RPORT=$(free_port)
mkdir -p "$T/redis"
start_redis() {
  "$REDIS" --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$T/redis" \
    --daemonize no --loglevel warning > "$T/redis.log" 2>&1 &
  RPID=$!
  for _ in $(seq 100); do
    (exec 3<> "/dev/tcp/127.0.0.1/$RPORT") 2> /dev/null && return 0
    sleep 0.05
  done
  fail "redis-server did not start"; cat "$T/redis.log"; finish
}
start_redis

"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
KEY=$("$FD" keys create --scope chat --json | jq -r .key)
export FRONTDESK_CACHE_REDIS_URL="redis://127.0.0.1:$RPORT/0"
export FRONTDESK_CACHE_REDIS_RETRY_MS=300 FRONTDESK_CACHE_REDIS_TIMEOUT_MS=200
export FRONTDESK_LIMITS_SESSION_PER_MIN=100000 FRONTDESK_LIMITS_KEY_PER_MIN=100000
export FRONTDESK_LOG_LEVEL=info

start_replica() { # start_replica N: sets P<N> and U<N>
  : > "$T/serve$1.out"
  "$FD" serve --port 0 > "$T/serve$1.out" 2>> "$T/serve$1.log" &
  eval "P$1=$!"
  for _ in $(seq 300); do grep -q 'http://' "$T/serve$1.out" 2> /dev/null && break; sleep 0.05; done
  eval "U$1=http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve$1.out" | tr -d :)"
}
start_replica 1
start_replica 2
A=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
ask() { # ask URL MESSAGE: reply in $T/b, prints .cached
  curl -s -o "$T/b" "${A[@]}" -d "$(jq -cn --arg m "$2" '{message:$m}')" "$1/v1/chat"
  jq -r .cached "$T/b"
}
metric() { curl -s "$1/metrics" | awk -v m="$2" '$1==m {print $2}'; }

check "replica 1 sees Redis up" test "$(metric "$U1" frontdesk_redis_up)" = 1
c=$(ask "$U1" "Do you deliver on Sundays?")
check "replica 1 computes the answer (got $c)" test "$c" = false
a1=$(jq -r .answer "$T/b")
c=$(ask "$U2" "Do you deliver on Sundays?")
check "replica 2 gets it from the shared cache (got $c)" test "$c" = exact
check "the same answer on both replicas" test "$(jq -r .answer "$T/b")" = "$a1"
check "replica 2 counted a Redis hit" test "$(metric "$U2" frontdesk_cache_redis_hits_total)" -ge 1
ask "$U1" "do u deliver on sundays??" > /dev/null
c=$(ask "$U2" "on sundays, do you deliver?")
check "semantic buckets are shared too (got $c)" test "$c" = semantic

# One rate-limit bucket for both replicas: burst 6 (36/min, burst per_min/6).
kill -TERM $P1 $P2; wait $P1 $P2 2> /dev/null
export FRONTDESK_LIMITS_SESSION_PER_MIN=36
start_replica 1
start_replica 2
ask "$U1" "hello" > /dev/null
SID=$(jq -r .session_id "$T/b")
codes=""
for i in 1 2 3 4 5 6; do
  for u in "$U1" "$U2"; do
    codes="$codes $(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" \
      -d "{\"message\":\"hello\",\"session_id\":\"$SID\"}" "$u/v1/chat")"
  done
done
n429=$(echo "$codes" | tr ' ' '\n' | grep -c '^429$')
check "one session's limit is shared by the replicas (12 more messages, burst 6: $n429 refused)" test "$n429" -ge 5

# ---- Redis dies ---------------------------------------------------------------------
kill -9 "$RPID"; wait "$RPID" 2> /dev/null; RPID=
ok1=0
for i in 1 2 3 4; do
  s=$(curl -s -o "$T/b" -w '%{http_code}' -m 5 "${A[@]}" -d '{"message":"What are your payment terms?"}' "$U1/v1/chat")
  [ "$s" = 200 ] && ok1=$((ok1 + 1))
done
check "Redis down: replica 1 keeps answering (4 of 4: $ok1)" test "$ok1" = 4
check "Redis down: local cache still hits" jq -e '.cached=="exact"' "$T/b"
t0=$(date +%s%N)
curl -s -o /dev/null "${A[@]}" -d '{"message":"What are your payment terms?"}' "$U1/v1/chat"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "Redis down: no wait on Redis per request (${ms} ms)" test "$ms" -lt 500
check "Redis down: frontdesk_redis_up 0" test "$(metric "$U1" frontdesk_redis_up)" = 0
check "Redis down: errors counted" test "$(metric "$U1" frontdesk_redis_errors_total)" -ge 1
check "Redis down: fallbacks counted" test "$(metric "$U1" frontdesk_redis_fallbacks_total)" -ge 1
s=$(curl -s -o /dev/null -w '%{http_code}' "${A[@]}" -d '{"message":"hello"}' "$U2/v1/chat")
check "Redis down: replica 2 answers too ($s)" test "$s" = 200
check "Redis down: /readyz stays ready" test "$(curl -s -o /dev/null -w '%{http_code}' "$U1/readyz")" = 200

# ---- Redis comes back ------------------------------------------------------------------
start_redis
sleep 0.5
for i in 1 2 3; do ask "$U1" "Do you deliver to Sentosa?" > /dev/null; sleep 0.2; done
check "Redis back: frontdesk_redis_up 1" test "$(metric "$U1" frontdesk_redis_up)" = 1
check "Redis back: recovery counted" test "$(metric "$U1" frontdesk_redis_recoveries_total)" -ge 1
ask "$U1" "How much is delivery to Jurong Island?" > /dev/null
c=$(ask "$U2" "How much is delivery to Jurong Island?")
check "Redis back: sharing works again (got $c)" test "$c" = exact

kill -TERM $P1 $P2
wait $P1 2> /dev/null; r1=$?
wait $P2 2> /dev/null; r2=$?
check "replicas drain and exit 0 ($r1, $r2)" test "$r1$r2" = 00
P1= P2=
if grep -q 'ERROR: AddressSanitizer\|runtime error' "$T"/serve*.log; then fail "sanitizer report in a server log"; else ok "no sanitizer report"; fi
finish
