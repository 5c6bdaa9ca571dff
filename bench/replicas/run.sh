#!/usr/bin/env bash
# run.sh: the store engines side by side in one run (issue 16 targets):
#   bench/replicas/run.sh BUILD_DIR [SECONDS]
#
#   sqlite_1     one replica on its SQLite file (the embedded default)
#   pg_1         one replica on PostgreSQL
#   pg_3_nginx   three replicas on one PostgreSQL behind nginx
#   llm200_pg_3  the same three, the LLM a fake answering after 200 ms
# each wrk -t2 -c100 for SECONDS (default 10) of POST /v1/chat with
# bench/http/questions.txt (no session_id: a session and a turn stored per
# request, so the store is in every request's path). Everything on
# 127.0.0.1, started here (PostgreSQL with fsync and synchronous_commit on,
# as in production), stopped by PID. On this 2-core machine the replicas,
# nginx, PostgreSQL and wrk share the same two cores: the numbers measure
# what the store costs, not what more machines would add.
#
# BENCH_SPLIT_CPUS=1 (a diagnostic, not the issue's setting): PostgreSQL
# pinned to CPU 1, everything else (replicas, nginx, wrk; SQLite's replica
# too) to CPU 0, as if the database had a machine of its own.
#
# Out: one JSON line per run on stdout (bench/http/chat.lua's fields plus
# "ratio_vs_sqlite_1"), a table on stderr.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bench/replicas/run.sh BUILD_DIR [SECONDS]" >&2; exit 2; }
B=$(cd "$1" && pwd)
DUR=${2:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FD=$B/frontdesk FAKE=$B/tests/fake_llm
LUA=$ROOT/bench/http/chat.lua QUESTIONS=$ROOT/bench/http/questions.txt
EX=$ROOT/examples/packaging-supplier
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for x in "$FD" "$FAKE" "$NGINX"; do [ -x "$x" ] || { echo "bench/replicas: $x not found" >&2; exit 1; }; done
command -v wrk > /dev/null || { echo "bench/replicas: wrk not found" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/fdrep.XXXXXX")
. "$ROOT/tests/integration/pg.bash"
FPID=
# start and nginx_for run in $(...): their PIDs go to files, not variables.
pids() { cat "$T/pids" 2> /dev/null || true; }
cleanup() {
  for p in $(pids) $FPID; do kill -9 "$p" 2> /dev/null || true; done
  # nginx: TERM to the master stops its workers too (killing workers first
  # races the master respawning them).
  for p in $(cat "$T/nginx.pid" 2> /dev/null); do
    kill -TERM "$p"
    for _ in $(seq 100); do kill -0 "$p" || break; sleep 0.05; done
    pkill -9 -P "$p"
    kill -9 "$p"
  done 2> /dev/null
  pg_stop
  wait 2> /dev/null || true
  rm -rf "$T"
  return 0
}
trap cleanup EXIT
ulimit -n 65536 2> /dev/null || true

export FRONTDESK_LOG_LEVEL=warn FRONTDESK_SERVER_DRAIN_MS=1000
export FRONTDESK_LIMITS_KEY_PER_MIN=1000000000 FRONTDESK_LIMITS_SESSION_PER_MIN=1000000000
export FRONTDESK_LIMITS_IP_PER_MIN=1000000000 FRONTDESK_LIMITS_GLOBAL_PER_MIN=0
unset FRONTDESK_LLM_BASE_URL FRONTDESK_STORE_URL

APP_CPUS=
if [ -n "${BENCH_SPLIT_CPUS:-}" ]; then
  export PG_CPUS=1
  APP_CPUS="taskset -c 0"
fi
# PostgreSQL as in production: every commit flushed.
PG_DURABLE=1 pg_start "$T" > /dev/null || exit 1
PGDB=$(pg_createdb bench)

FRONTDESK_DATA_DIR=$T/sqlite "$FD" ingest "$EX" > /dev/null 2>&1
SQKEY=$(FRONTDESK_DATA_DIR=$T/sqlite "$FD" keys create --scope chat --json | jq -r .key)
FRONTDESK_STORE_URL=$PGDB FRONTDESK_DATA_DIR=$T/pg0 "$FD" ingest "$EX" > /dev/null 2>&1
PGKEY=$(FRONTDESK_STORE_URL=$PGDB FRONTDESK_DATA_DIR=$T/pg0 "$FD" keys create --scope chat --json | jq -r .key)

start() { # start NAME [env...]: a replica; prints its host:port
  $APP_CPUS env "${@:2}" "$FD" serve --port 0 > "$T/$1.out" 2> "$T/$1.log" &
  echo $! >> "$T/pids"
  for _ in $(seq 300); do grep -q 'http://' "$T/$1.out" 2> /dev/null && break; sleep 0.05; done
  grep -o '127.0.0.1:[0-9]*' "$T/$1.out"
}
stop_all() { # TERM, then wait for each to be gone (not our children: no wait)
  for p in $(pids) $(cat "$T/nginx.pid" 2> /dev/null); do kill -TERM "$p" 2> /dev/null || true; done
  for p in $(pids) $(cat "$T/nginx.pid" 2> /dev/null); do
    for _ in $(seq 100); do kill -0 "$p" 2> /dev/null || break; sleep 0.05; done
  done
  rm -f "$T/pids" "$T/nginx.pid"
}
nginx_for() { # nginx_for HOST:PORT...: starts nginx in front; prints its host:port
  local port
  port=$(pg_free_port)
  mkdir -p "$T/nginx"
  {
    echo "worker_processes 1; pid $T/nginx/pid; error_log $T/nginx/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; client_body_temp_path $T/nginx/b; proxy_temp_path $T/nginx/p;"
    echo "  fastcgi_temp_path $T/nginx/f; uwsgi_temp_path $T/nginx/u; scgi_temp_path $T/nginx/s;"
    echo "  upstream fd { keepalive 64;"
    for u in "$@"; do echo "    server $u;"; done
    echo "  }"
    echo "  server { listen 127.0.0.1:$port; location / { proxy_pass http://fd;"
    echo "    proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering off; } } }"
  } > "$T/nginx/nginx.conf"
  $APP_CPUS "$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' > "$T/nginx/stdout" 2> "$T/nginx/stderr" &
  echo $! > "$T/nginx.pid"
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
  echo "127.0.0.1:$port"
}
# The line is picked by awk reading to the end: grep -m1 stopped reading,
# wrk's later output then died of SIGPIPE and pipefail ended the script
# silently halfway (seen on a bench of two builds alternated).
run() { # run SCENARIO HOST:PORT KEY: one wrk run, one JSON line
  local st
  st=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
    -d '{"message":"do you deliver on Sundays?"}' "http://$2/v1/chat")
  [ "$st" = 200 ] || { echo "bench/replicas: $1: first request got $st" >&2; exit 1; }
  $APP_CPUS wrk -t2 -c100 -d"${DUR}s" --timeout 30s -s "$LUA" "http://$2/v1/chat" -- "$1" 100 "$3" "$QUESTIONS" |
    awk '/^\{"scenario"/ && !x {print; x = 1}' >> "$T/lines.jsonl"
}

run sqlite_1 "$(start s1 FRONTDESK_DATA_DIR="$T/sqlite")" "$SQKEY"
stop_all
run pg_1 "$(start p1 FRONTDESK_DATA_DIR="$T/pg1" FRONTDESK_STORE_URL="$PGDB")" "$PGKEY"
stop_all
R=()
for i in 1 2 3; do R+=("$(start "r$i" FRONTDESK_DATA_DIR="$T/r$i" FRONTDESK_STORE_URL="$PGDB")"); done
run pg_3_nginx "$(nginx_for "${R[@]}")" "$PGKEY"
stop_all

"$FAKE" --port 0 --port-file "$T/fake.port" > "$T/fake.log" 2>&1 &
FPID=$!
for _ in $(seq 100); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
FAKE_URL=http://127.0.0.1:$(cat "$T/fake.port")
curl -sf -X POST "$FAKE_URL/_control" -d '{"mode":"slow","delay_ms":200,"reset":true}' > /dev/null
R=()
for i in 1 2 3; do
  R+=("$(start "l$i" FRONTDESK_DATA_DIR="$T/l$i" FRONTDESK_STORE_URL="$PGDB" \
    FRONTDESK_LLM_BASE_URL="$FAKE_URL/v1" FRONTDESK_LLM_MODEL=gpt-4o-mini)")
done
run llm200_pg_3 "$(nginx_for "${R[@]}")" "$PGKEY"
stop_all

base=$(jq -s '.[0].rps' "$T/lines.jsonl")
# The commit: the build's own when BUILD_DIR is inside a checkout (a
# worktree of the base build), else this checkout's.
jq -c --argjson base "$base" --arg commit "$(git -C "$B" rev-parse --short HEAD 2> /dev/null || git -C "$ROOT" rev-parse --short HEAD)" \
  --arg cpu "$(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
  '. + {ratio_vs_sqlite_1: ((.rps / $base * 100 | round) / 100), commit: $commit, machine: $cpu}' \
  "$T/lines.jsonl" | tee "$T/out.jsonl"
{
  printf '\n%-12s %9s %8s %8s %8s %7s %6s\n' scenario rps p50_ms p95_ms p99_ms non2xx ratio
  jq -r '[.scenario, .rps, .p50_ms, .p95_ms, .p99_ms, .non2xx, .ratio_vs_sqlite_1] | @tsv' "$T/out.jsonl" |
    while IFS=$'\t' read -r s r a b c n x; do printf '%-12s %9s %8s %8s %8s %7s %6s\n' "$s" "$r" "$a" "$b" "$c" "$n" "$x"; done
} >&2
exit 0
