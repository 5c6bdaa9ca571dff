#!/usr/bin/env bash
# replicas.sh: frontdesk scaled out (issue 16), every service real and on
# 127.0.0.1, started here and stopped by PID: PostgreSQL (the store),
# Redis (caches, limits), three `frontdesk serve` replicas with their own
# data dirs, nginx in front as the load balancer.
#  - a conversation whose messages go round the three replicas keeps its
#    context for 14 turns (state, slots, history all in the store);
#  - an operator on replica A answers a customer streaming from replica C;
#  - a document uploaded through B answers on A and C within 5 s;
#  - two messages of one conversation sent to two replicas at once are
#    answered one after the other (the second sees the first's turn);
#  - kill -9 of a replica under load through nginx: every acknowledged
#    turn is in the store, errors only for requests in flight;
#  - PostgreSQL killed for 10 s: chat gets 503 with Retry-After, search
#    keeps answering from the index; PostgreSQL back: chat recovers alone;
#  - Redis killed: the replicas answer from local caches and limits.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/pg.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
NGINX=$(command -v nginx || ls /usr/sbin/nginx 2> /dev/null || true)
REDIS=$(command -v redis-server || true)
[ -n "$NGINX" ] || { fail "nginx not found (scripts/deps.sh installs nginx-light)"; finish; }
[ -n "$REDIS" ] || { fail "redis-server not found (scripts/deps.sh installs it)"; finish; }
P1= P2= P3= RPID= NPID= LOADPID=
cleanup() {
  kill -9 $P1 $P2 $P3 $LOADPID 2> /dev/null
  # nginx: TERM to the master, which stops its workers and exits. Killing
  # workers first races the master respawning them, and an orphaned worker
  # holds this test's output open (ctest then waits for its timeout).
  if [ -n "$NPID" ]; then
    kill -TERM "$NPID" 2> /dev/null
    for _ in $(seq 100); do kill -0 "$NPID" 2> /dev/null || break; sleep 0.05; done
    pkill -9 -P "$NPID" 2> /dev/null
    kill -9 "$NPID" 2> /dev/null
  fi
  [ -n "$RPID" ] && kill -9 "$RPID" 2> /dev/null
  pg_stop
  wait 2> /dev/null
  # A replica that died (a sanitizer report, an abort) left its reason in
  # its log, which goes with $T: show it where CI keeps the output.
  if [ "$FAILS" -gt 0 ]; then
    for f in "$T"/serve?.log; do
      [ -f "$f" ] || continue
      echo "---- the last lines of $(basename "$f") ----" >&2
      grep -v ' info ' "$f" | tail -40 >&2
    done
  fi
  [ -n "${FD_KEEP_TMP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
trap cleanup EXIT

pg_start "$T" || { fail "PostgreSQL did not start"; finish; }
DB=$(pg_createdb frontdesk) || { fail "create database"; finish; }
export FRONTDESK_STORE_URL=$DB
RPORT=$(pg_free_port)
"$REDIS" --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$T" \
  --daemonize no --loglevel warning > "$T/redis.log" 2>&1 &
RPID=$!
export FRONTDESK_CACHE_REDIS_URL="redis://127.0.0.1:$RPORT/0"
export FRONTDESK_LIMITS_SESSION_PER_MIN=100000 FRONTDESK_LIMITS_KEY_PER_MIN=100000
export FRONTDESK_LOG_LEVEL=info FRONTDESK_DIALOG_NOW=2026-12-09T10:00
# Short enough that a test of PostgreSQL going away does not wait 5 s.
export FRONTDESK_STORE_BUSY_TIMEOUT_MS=2000

# Three replicas migrating one new database at once apply each migration
# once between them (an advisory lock); the password never shows.
MDB=$(pg_createdb migrate_race)
mp=()
for i in 1 2 3; do
  FRONTDESK_STORE_URL=${MDB/frontdesk@/frontdesk:s3cret@} FRONTDESK_DATA_DIR=$T/m$i \
    "$FD" migrate --json > "$T/mig$i.json" 2> "$T/mig$i.err" &
  mp+=($!)
done
wait "${mp[@]}"
check "three migrations at once: each applied once ($(cat "$T"/mig?.json | jq -s 'map(.applied)|add') of $(jq .latest "$T/mig1.json"))" \
  test "$(cat "$T"/mig?.json | jq -s 'map(.applied)|add')" = "$(jq .latest "$T/mig1.json")"
check "all three end at the latest version" test "$(cat "$T"/mig?.json | jq -s 'map(.now==.latest)|all')" = true
check "migrate shows the store URL without its password" bash -c "jq -r .store '$T/mig1.json' | grep -q 'frontdesk:\*\*\*@' && ! grep -q s3cret '$T'/mig?.json"

# One ingest into the shared store; each replica builds its own index
# snapshot in its own data dir from it.
FRONTDESK_DATA_DIR=$T/r0 "$FD" ingest "$EX" > "$T/ingest.log" 2>&1 || { fail "ingest"; cat "$T/ingest.log"; finish; }
export FRONTDESK_DATA_DIR=$T/r0
KEY=$("$FD" keys create --scope chat --json | jq -r .key)
OPER=$("$FD" keys create --scope operator --name ana --json | jq -r .key)
ING=$("$FD" keys create --scope ingest --json | jq -r .key)
check "keys live in PostgreSQL" test "$(psql -X -qAt "$DB" -c 'select count(*) from api_keys')" = 3

start_replica() { # start_replica N: sets P<N> and U<N>
  FRONTDESK_DATA_DIR=$T/r$1 "$FD" serve --port 0 > "$T/serve$1.out" 2>> "$T/serve$1.log" &
  eval "P$1=$!"
  for _ in $(seq 300); do grep -q 'http://' "$T/serve$1.out" 2> /dev/null && break; sleep 0.05; done
  eval "U$1=http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve$1.out" | tr -d :)"
}
start_replica 1
# Replica 2 answers on one request thread: a queued commit's lease must
# not wait for that thread (below, "one thread").
FRONTDESK_SERVER_THREADS=1 start_replica 2
start_replica 3
check "three replicas up" bash -c "curl -sf $U1/readyz && curl -sf $U2/readyz && curl -sf $U3/readyz" > /dev/null
# The ingest shared its index snapshot through PostgreSQL: the replicas,
# each with an empty data dir, fetched it instead of building their own.
check "the ingest's snapshot is kept in the store" \
  test "$(psql -X -qAt "$DB" -c 'select count(*) from kb_snapshots')" = 1
# Stored plain (migration 15): pglz decompressing it was most of a new
# replica's fetch. Compressed, a part's stored size is under its length.
check "the snapshot's parts are stored uncompressed" \
  test "$(psql -X -qAt "$DB" -c 'select bool_and(pg_column_size(data) >= length(data)) from kb_snapshot_parts')" = t
for i in 1 2 3; do
  check "replica $i fetched the index snapshot instead of building it" \
    bash -c "grep -q 'fetched from the store' '$T/serve$i.log' && ! grep -q 'rebuilding' '$T/serve$i.log'"
done

A=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
say() { # say URL SESSION MESSAGE: the reply in $T/b, prints the HTTP status
  local body
  if [ -n "$2" ]; then body=$(jq -cn --arg m "$3" --arg s "$2" '{message:$m,session_id:$s}')
  else body=$(jq -cn --arg m "$3" '{message:$m}'); fi
  curl -s -o "$T/b" -w '%{http_code}' "${A[@]}" -d "$body" "$1/v1/chat"
}
q() { psql -X -qAt "$DB" -c "$1"; }

# ---- one conversation, three replicas, 14 turns --------------------------------------
URLS=("$U1" "$U2" "$U3")
say "$U1" "" "Hi, do you deliver on Sundays?" > /dev/null
SID=$(jq -r .session_id "$T/b")
msgs=("what is your minimum order?" "do you sell pizza boxes?" "how much is delivery to Sentosa?"
  "what are your opening hours?" "can I pay by invoice?" "do you have kraft paper bags?"
  "what is the lead time for printed boxes?" "do you deliver on public holidays?"
  "what is your return policy?" "do you offer samples?" "can I collect from the warehouse?"
  "thanks")
bad=0
for i in "${!msgs[@]}"; do
  u=${URLS[$(((i + 1) % 3))]}
  s=$(say "$u" "$SID" "${msgs[$i]}")
  [ "$s" = 200 ] && [ "$(jq -r .session_id "$T/b")" = "$SID" ] || bad=$((bad + 1))
done
check "13 messages round the replicas, all answered in one session (bad: $bad)" test "$bad" = 0
# Escalation on replica 2 opens a ticket; replica 3 knows the conversation waits for a person.
say "$U2" "$SID" "I want to talk to a real person please" > /dev/null
TICKET=$(jq -r '.escalation.ticket // empty' "$T/b")
check "escalation through replica 2 opens a ticket ($TICKET)" test "${TICKET:0:3}" = HD-
n=$(q "select count(*) from turns where session_id = '$SID'")
check "28 turns stored, in order, by three replicas (got $n)" test "$n" = 28
check "turns alternate customer / bot, seq 1..28" test "$(q "select string_agg(role, ',' order by seq) from turns where session_id = '$SID'")" = \
  "$(for _ in $(seq 14); do printf 'user,assistant,'; done | sed 's/,$//')"
check "the session counts its turns (n_turns = 28)" test "$(q "select n_turns from sessions where id = '$SID'")" = 28
curl -s "${A[@]}" "$U3/v1/sessions/$SID" > "$T/sess"
check "replica 3 shows the whole conversation" jq -e '(.turns|length)==28' "$T/sess"

# ---- an operator on replica 1 answers the customer streaming from replica 3 ------------
curl -sN --max-time 15 "${A[@]}" "$U3/v1/sessions/$SID/events" > "$T/events" 2> /dev/null &
EVPID=$!
O=(-H "Authorization: Bearer $OPER" -H 'Content-Type: application/json')
s=$(curl -s -o "$T/c" -w '%{http_code}' -X POST "${O[@]}" "$U1/v1/handoffs/$TICKET/claim")
check "operator claims on replica 1 ($s)" test "$s" = 200
t0=$(date +%s%N)
s=$(curl -s -o "$T/c" -w '%{http_code}' "${O[@]}" -d '{"message":"Hi, this is Ana from replica one."}' \
  "$U1/v1/handoffs/$TICKET/messages")
check "operator reply on replica 1 ($s)" test "$s" = 200
# Other replicas learn of events by polling the store (LISTEN/NOTIFY is not
# used yet): seconds on a loaded 2-core CI; the time taken is printed.
for _ in $(seq 200); do grep -q 'Ana from replica one' "$T/events" && break; sleep 0.05; done
ms=$((($(date +%s%N) - t0) / 1000000))
check "the customer's stream on replica 3 gets it (${ms} ms)" grep -q 'Ana from replica one' "$T/events"
check "and the state change to human" grep -q '"human"' "$T/events"
kill $EVPID 2> /dev/null
s=$(say "$U2" "$SID" "are you still there?")
check "replica 2 keeps the bot silent while a person has it" test "$(jq -r .route "$T/b")" = human
curl -s -o /dev/null -X POST "${O[@]}" "$U1/v1/handoffs/$TICKET/resolve"

# ---- a document uploaded through replica 2 answers on replicas 1 and 3 ------------------
CAT='# Warehouse cat

The warehouse cat at Tuas is called Zebedee and sleeps on the pallets.'
t0=$(date +%s%N)
s=$(curl -s -o "$T/c" -w '%{http_code}' -H "Authorization: Bearer $ING" -H 'Content-Type: application/json' \
  -d "$(jq -cn --arg c "$CAT" '{id:"warehouse-cat.md",content:$c}')" "$U2/v1/documents")
check "upload through replica 2 ($s)" test "$s" = 200 -o "$s" = 201
got1= got3=
for _ in $(seq 300); do
  [ -z "$got1" ] && say "$U1" "" "what is the warehouse cat called?" > /dev/null && grep -q Zebedee "$T/b" && got1=$((($(date +%s%N) - t0) / 1000000))
  [ -z "$got3" ] && say "$U3" "" "what is the warehouse cat called?" > /dev/null && grep -q Zebedee "$T/b" && got3=$((($(date +%s%N) - t0) / 1000000))
  [ -n "$got1" ] && [ -n "$got3" ] && break
  sleep 0.1
done
# 5 s is the target for a release build (measured 0.9-1.7 s); a sanitizer
# build rebuilds the index several times slower (8 s seen under load).
LIMIT_MS=5000
ldd "$FD" 2> /dev/null | grep -q libasan && LIMIT_MS=30000
check "replica 1 answers from it within $((LIMIT_MS / 1000)) s (${got1:-never} ms)" test "${got1:-99999}" -le $LIMIT_MS
check "replica 3 answers from it within $((LIMIT_MS / 1000)) s (${got3:-never} ms)" test "${got3:-99999}" -le $LIMIT_MS
curl -s "$U2/metrics" > "$T/metrics2"
check "replica 2 counts the snapshot it shared after the upload" \
  grep -Eq '^frontdesk_snapshot_shares_total\{result="shared"\} [1-9]' "$T/metrics2"
check "and no failed share" grep -qx 'frontdesk_snapshot_shares_total{result="failed"} 0' "$T/metrics2"

# pairs URL_A URL_B N TAG: a new conversation on URL_A, then N pairs of
# messages of it sent at once, one to each URL; each status in $T/TAG*,
# the conversation's id in $CS.
pairs() {
  say "$1" "" "hello" > /dev/null
  CS=$(jq -r .session_id "$T/b")
  for i in $(seq "$3"); do
    say "$1" "$CS" "do you deliver to Jurong, question $i a?" > "$T/${4}a$i" &
    local pa=$!
    say "$2" "$CS" "do you deliver to Jurong, question $i b?" > "$T/${4}b$i" &
    wait $pa $!
  done
}
# check_pairs LABEL N TAG: both of each pair answered, 2 + 4N turns in order
check_pairs() {
  local n want=$((2 + 4 * $2))
  check "$1: both messages of each pair answered" test "$(cat "$T/$3"a* "$T/$3"b* | tr -d '\n')" = "$(printf '200%.0s' $(seq $((2 * $2))))"
  n=$(q "select count(*) from turns where session_id = '$CS'")
  check "$1: $want turns stored (got $n)" test "$n" = $want
  check "$1: never interleaved, customer / bot alternate" test "$(q "select string_agg(role, ',' order by seq) from turns where session_id = '$CS'")" = \
    "$(for _ in $(seq $((want / 2))); do printf 'user,assistant,'; done | sed 's/,$//')"
  check "$1: each message saw the one before (n_turns = $want, no lost update)" test "$(q "select n_turns from sessions where id = '$CS'")" = $want
  check "$1: no conversation lock left behind" test "$(q "select count(*) from convo_locks")" = 0
}

# ---- two messages of one conversation at two replicas at once ---------------------------
pairs "$U1" "$U3" 8 p
check_pairs "8 pairs on replicas 1 and 3" 8 p

# ---- two messages of one conversation at once on a replica with one thread ------------
# The first's turn is committed while its connection waits, suspended; the
# second then holds the only thread, waiting for the conversation's lease.
# The committer drops the lease (not the first's resume, which needs that
# thread): both are answered, neither after store.busy_timeout_ms's 503.
t0=$(date +%s%N)
pairs "$U2" "$U2" 4 q
ms=$((($(date +%s%N) - t0) / 1000000))
check_pairs "4 pairs on one thread (${ms} ms)" 4 q

# ---- nginx in front; kill -9 one replica under load -------------------------------------
NPORT=$(pg_free_port)
mkdir -p "$T/nginx/logs"
cat > "$T/nginx/nginx.conf" << EOF
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $T/nginx/body;
  proxy_temp_path $T/nginx/proxy;
  fastcgi_temp_path $T/nginx/fcgi;
  uwsgi_temp_path $T/nginx/uwsgi;
  scgi_temp_path $T/nginx/scgi;
  upstream frontdesk {
    server ${U1#http://} max_fails=1 fail_timeout=30s;
    server ${U2#http://} max_fails=1 fail_timeout=30s;
    server ${U3#http://} max_fails=1 fail_timeout=30s;
  }
  server {
    listen 127.0.0.1:$NPORT;
    location / {
      proxy_pass http://frontdesk;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # A refused connection never reached a replica: safe to retry.
      proxy_next_upstream error;
      proxy_connect_timeout 1s;
    }
  }
}
EOF
"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' > "$T/nginx/stdout" 2> "$T/nginx/stderr" &
NPID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$NPORT/healthz" > /dev/null && break; sleep 0.05; done
check "nginx balances the replicas" curl -sf -o /dev/null "http://127.0.0.1:$NPORT/healthz"
LB=http://127.0.0.1:$NPORT
# 4 clients, 60 messages each, new conversations, through nginx.
load() {
  for i in $(seq 60); do
    code=$(curl -s -o "$T/l$1" -w '%{http_code}' --max-time 10 "${A[@]}" \
      -d "{\"message\":\"do you deliver on Sundays? client $1 message $i\"}" "$LB/v1/chat")
    echo "$code $(jq -r '.session_id // "-"' "$T/l$1" 2> /dev/null)" >> "$T/acks$1"
  done
}
LOADPID=
for c in 1 2 3 4; do
  load $c &
  LOADPID="$LOADPID $!"
done
# Killed mid-load: once a quarter of the messages are answered.
for _ in $(seq 400); do
  [ "$(cat "$T"/acks? 2> /dev/null | wc -l)" -ge 60 ] && break
  sleep 0.01
done
killed_at=$(cat "$T"/acks? | wc -l)
kill -9 "$P2"
# shellcheck disable=SC2086
wait $LOADPID
check "replica 2 was killed mid-load (after $killed_at of 240)" test "$killed_at" -lt 240
LOADPID=
cat "$T"/acks* > "$T/acks"
n200=$(grep -c '^200 ' "$T/acks")
nerr=$(grep -vc '^200 ' "$T/acks")
check "240 messages through nginx, a replica killed: $n200 answered, $nerr failed (at most the 4 in flight)" test "$nerr" -le 4 -a "$n200" -ge 236
missing=0
for sid in $(awk '$1==200 {print $2}' "$T/acks"); do
  [ "$(q "select count(*) from turns where session_id = '$sid'")" = 2 ] || missing=$((missing + 1))
done
check "every acknowledged turn is in the store (missing: $missing)" test "$missing" = 0

# ---- PostgreSQL killed for 10 s --------------------------------------------------------
metric_is() { # metric_is URL LINE: waits up to 5 s for the exact metrics line
  for _ in $(seq 50); do curl -s "$1/metrics" | grep -qx "$2" && return 0; sleep 0.1; done
  return 1
}
check "the notice listener is up (frontdesk_store_listener_up 1)" \
  metric_is "$U1" 'frontdesk_store_listener_up 1'
pg_kill
check "PostgreSQL gone: the metrics say the listener is down" \
  metric_is "$U1" 'frontdesk_store_listener_up 0'
s=$(say "$U1" "" "do you deliver on Sundays? while the database is down")
check "chat while PostgreSQL is down: 503 (got $s)" test "$s" = 503
curl -s -D "$T/h" -o /dev/null "${A[@]}" -d '{"message":"and now?"}' "$U1/v1/chat"
check "with Retry-After" grep -qi '^retry-after:' "$T/h"
check "its error says the store is unavailable" jq -e '.error.code=="unavailable"' "$T/b"
check "and the log says it is unreachable, not busy" grep -q 'the store is unreachable' "$T/serve1.log"
s=$(curl -s -o "$T/c" -w '%{http_code}' "${A[@]}" "$U3/v1/search?q=sunday+delivery&k=3")
check "search keeps answering from the index (got $s)" test "$s" = 200
check "replicas stay alive" kill -0 "$P1" "$P3"
sleep 8
pg_run || { fail "PostgreSQL did not restart"; finish; }
ok=
for _ in $(seq 50); do
  [ "$(say "$U1" "" "do you deliver on Sundays? after the database came back")" = 200 ] && ok=1 && break
  sleep 0.1
done
check "PostgreSQL back: chat recovers by itself" test -n "$ok"
check "and the listener with it" metric_is "$U1" 'frontdesk_store_listener_up 1'
check "the lost connection is counted" \
  bash -c "curl -s $U1/metrics | grep -q '^frontdesk_store_listener_failures_total [1-9]'"
check "and on the other replica" test "$(say "$U3" "" "what is your minimum order?")" = 200

# ---- Redis killed: each replica falls back to its local caches and limits ---------------
kill -9 "$RPID"
wait "$RPID" 2> /dev/null
RPID=
check "Redis gone: replica 1 answers" test "$(say "$U1" "" "do you deliver on Sundays? without redis")" = 200
check "Redis gone: replica 3 answers" test "$(say "$U3" "" "what is your minimum order? without redis")" = 200
finish
