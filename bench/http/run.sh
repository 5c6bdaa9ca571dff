#!/usr/bin/env bash
# run.sh: HTTP load benchmark of `frontdesk serve` with wrk.
#   bench/http/run.sh BUILD_DIR [--quick]
#
# Everything runs on 127.0.0.1 in a temp dir, started and stopped here:
# examples/packaging-supplier is ingested into a fresh data dir, a chat key
# is created, the rate limits are raised out of the way (the limiter stays
# in the path), and for every scenario x connection count a fresh server
# (and a fresh copy of the data dir) is started, so VmHWM is that run's peak
# and no queue left by one run leaks into the next.
#
# Scenarios (POST /v1/chat, no session_id: a new session per request):
#   healthz     GET /healthz: the bare HTTP ceiling of the same server on
#               the same run (issue 13: cached answers within 2x of it).
#   template    {"message":"hello"}: the greeting template (guard, intent,
#               a stored turn; no retrieval).
#   cached      bench/http/questions.txt round-robin with the answer caches
#               on: after the first round every request is an exact hit
#               (the guard, understanding and the stored turn still run).
#   extractive  the same questions with the answer caches off
#               (FRONTDESK_CACHE_ENABLED=false): the whole pipeline every
#               time, no LLM configured.
#   llm_0ms     same questions, LLM = tests/fake_llm mode echo (no delay),
#               caches off (every message reaches the LLM, as the issue's
#               "every question unique so no cache helps").
#   llm_200ms   the same, fake_llm mode slow, 200 ms before answering.
# Each: wrk -t2 -c{10,100,500} for 10 s (--quick: 3 s).
#
# Out: one JSON line per run on stdout (wrk's numbers from chat.lua plus the
# server's VmHWM/VmRSS/threads and the fake LLM's call counts), a table on
# stderr, and all of it with machine notes in bench/http/last.json.
#
# Knobs (env): BENCH_SCENARIOS="healthz template cached extractive llm_0ms llm_200ms",
# BENCH_CONNS="10 100 500", BENCH_DURATION (s), BENCH_THREADS (wrk, 2),
# BENCH_TIMEOUT (wrk --timeout, 30s), BENCH_OUT (JSON path). FRONTDESK_*
# settings in the environment reach the server (e.g. FRONTDESK_SERVER_THREADS).
set -euo pipefail

usage() { echo "usage: bench/http/run.sh BUILD_DIR [--quick]" >&2; exit 2; }
[ $# -ge 1 ] || usage
B=$(cd "$1" && pwd) || usage
shift
QUICK=0
for a in "$@"; do
  case $a in
    --quick) QUICK=1 ;;
    *) usage ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../lib.sh
. "$HERE/../lib.sh"
ROOT=$(cd "$HERE/../.." && pwd)
FD=$B/frontdesk
FAKE=$B/tests/fake_llm
LUA=$HERE/chat.lua
QUESTIONS=$HERE/questions.txt
EX=$ROOT/examples/packaging-supplier
OUT=${BENCH_OUT:-$HERE/last.json}
DUR=${BENCH_DURATION:-$([ $QUICK = 1 ] && echo 3 || echo 10)}
WRK_THREADS=${BENCH_THREADS:-2}
WRK_TIMEOUT=${BENCH_TIMEOUT:-30s}
read -r -a SCENARIOS <<< "${BENCH_SCENARIOS:-healthz template cached extractive llm_0ms llm_200ms}"
read -r -a CONNS <<< "${BENCH_CONNS:-10 100 500}"

die() { echo "bench/http: $*" >&2; exit 1; }
command -v wrk > /dev/null || die "wrk not found (Debian package wrk; scripts/deps.sh installs it)"
command -v jq > /dev/null || die "jq not found"
command -v curl > /dev/null || die "curl not found"
[ -x "$FD" ] || die "$FD not found (build first)"
for s in "${SCENARIOS[@]}"; do
  case $s in
    healthz | template | cached | extractive) ;;
    llm_*ms) [ -x "$FAKE" ] || die "$FAKE not found (configure with -DFD_TESTING=ON)" ;;
    *) die "unknown scenario '$s'" ;;
  esac
done

# wrk and the server each hold one descriptor per connection, plus slack.
max_c=0
for c in "${CONNS[@]}"; do [ "$c" -gt "$max_c" ] && max_c=$c; done
want=$((max_c * 2 + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
  hard=$(ulimit -Hn)
  if [ "$hard" = unlimited ] || [ "$hard" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$hard"; fi
  [ "$(ulimit -n)" -ge "$want" ] || die "ulimit -n is $(ulimit -n), need $want for $max_c connections"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/fdbench.XXXXXX")
SERVER_PID="" FAKE_PID="" WRK_PID=""
bench_traps "$T" WRK_PID SERVER_PID FAKE_PID

bench_server_env

# ---- fresh knowledge base and key ----------------------------------------------------
export FRONTDESK_DATA_DIR=$T/pristine
"$FD" ingest "$EX" > "$T/ingest.log" 2>&1 || { cat "$T/ingest.log" >&2; die "ingest failed"; }
KEY=$("$FD" keys create --scope chat --name bench --json | jq -r .key)
if [ -z "$KEY" ] || [ "$KEY" = null ]; then die "keys create failed"; fi

# ---- fake LLM (one for all LLM runs; mode and counters set per run) -----------------
FAKE_URL=""
start_fake() { # (re)starts the fake LLM: sets FAKE_PID and FAKE_URL
  rm -f "$T/fake.port"
  "$FAKE" --port 0 --port-file "$T/fake.port" >> "$T/fake.log" 2>&1 &
  FAKE_PID=$!
  for _ in $(seq 100); do [ -s "$T/fake.port" ] && break; sleep 0.05; done
  [ -s "$T/fake.port" ] || { cat "$T/fake.log" >&2; die "fake_llm did not start"; }
  FAKE_URL=http://127.0.0.1:$(cat "$T/fake.port")
}
fake_control() { # fake_control JSON: restarts the fake LLM once if it is gone
  curl -sf -X POST "$FAKE_URL/_control" -d "$1" > /dev/null && return 0
  if ! kill -0 "$FAKE_PID" 2> /dev/null; then
    echo "# fake_llm (pid $FAKE_PID) is gone (killed from outside?): restarting it" >&2
    wait "$FAKE_PID" 2> /dev/null || true
    start_fake
    curl -sf -X POST "$FAKE_URL/_control" -d "$1" > /dev/null && return 0
  fi
  die "fake_llm does not answer POST /_control"
}
if printf '%s\n' "${SCENARIOS[@]}" | grep -q '^llm_'; then
  start_fake
fi

proc_kb() { awk -v k="$2:" '$1==k {print $2; exit}' "/proc/$1/status" 2> /dev/null || true; }

start_server() { # start_server LOGNAME: sets SERVER_PID and URL
  : > "$T/serve.out"
  "$FD" serve --port 0 > "$T/serve.out" 2> "$T/$1.log" &
  SERVER_PID=$!
  for _ in $(seq 200); do
    grep -q 'http://' "$T/serve.out" 2> /dev/null && break
    kill -0 "$SERVER_PID" 2> /dev/null || break
    sleep 0.05
  done
  grep -q 'http://' "$T/serve.out" || { cat "$T/$1.log" >&2; die "server did not start"; }
  URL=http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
}

META=$(jq -cn --arg date "$(date -u +%FT%TZ)" --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
  --argjson nproc "$(nproc)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --arg wrk "$(wrk --version 2>&1 | head -1 | awk '{print $2}')" --argjson dur "$DUR" \
  --argjson threads "$WRK_THREADS" --arg timeout "$WRK_TIMEOUT" --argjson quick "$QUICK" \
  --arg server_threads "${FRONTDESK_SERVER_THREADS:-0 (one per core)}" \
  '{date:$date, nproc:$nproc, cpu:$cpu, loadavg_before:$load, wrk:$wrk, duration_s:$dur,
    wrk_threads:$threads, wrk_timeout:$timeout, quick:($quick==1), server_threads:$server_threads,
    sessions:"none sent: a new session per request"}')
echo "# bench/http: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${DUR}s per run" >&2

: > "$T/lines.jsonl"
for scen in "${SCENARIOS[@]}"; do
  qfile=$QUESTIONS mode="" delay=0 caches=true
  case $scen in
    healthz | template) qfile="" ;;
    cached) ;;
    extractive) caches=false ;;
    llm_*ms)
      delay=${scen#llm_}
      delay=${delay%ms}
      if [ "$delay" = 0 ]; then mode="echo"; else mode="slow"; fi # echo ignores delay_ms
      caches=false
      ;;
  esac
  for c in "${CONNS[@]}"; do
    rm -rf "$T/run"
    cp -a "$T/pristine" "$T/run"
    if [ -n "$mode" ]; then
      fake_control "{\"mode\":\"$mode\",\"delay_ms\":$delay,\"reset\":true}"
      FRONTDESK_DATA_DIR=$T/run FRONTDESK_LLM_BASE_URL=$FAKE_URL/v1 FRONTDESK_LLM_MODEL=gpt-4o-mini \
        FRONTDESK_CACHE_ENABLED=$caches start_server "serve-$scen-$c"
    else
      FRONTDESK_DATA_DIR=$T/run FRONTDESK_CACHE_ENABLED=$caches start_server "serve-$scen-$c"
    fi
    # One request first: fails fast on a broken setup, and warms the LLM
    # connection; "cached" asks every question once so the run measures hits.
    first=${qfile:+$(grep -v -m1 -e "^#" -e "^[[:space:]]*$" "$qfile")}
    st=$(jq -cn --arg m "${first:-hello}" '{message:$m}' |
      curl -s -o "$T/first.json" -w '%{http_code}' -X POST "$URL/v1/chat" \
        -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" -d @-)
    [ "$st" = 200 ] || { cat "$T/first.json" >&2; die "$scen: first request got HTTP $st"; }
    if [ "$scen" = cached ]; then
      grep -v -e "^#" -e "^[[:space:]]*$" "$qfile" | while IFS= read -r q; do
        jq -cn --arg m "$q" '{message:$m}' | curl -s -o /dev/null -X POST "$URL/v1/chat" \
          -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" -d @-
      done
    fi
    if [ -n "$mode" ]; then
      jq -e '.llm.called' "$T/first.json" > /dev/null || die "$scen: the LLM was not called"
      fake_control '{"reset":true}'
    fi

    path=/v1/chat
    [ "$scen" = healthz ] && path=/healthz
    wrk -t"$WRK_THREADS" -c"$c" -d"${DUR}s" --timeout "$WRK_TIMEOUT" -s "$LUA" "$URL$path" \
      -- "$scen" "$c" "$KEY" "$qfile" > "$T/wrk.out" 2> "$T/wrk.err" &
    WRK_PID=$!
    wrk_rc=0
    wait "$WRK_PID" || wrk_rc=$?
    WRK_PID=""
    [ "$wrk_rc" = 0 ] || { cat "$T/wrk.out" "$T/wrk.err" >&2; die "$scen -c$c: wrk exited $wrk_rc"; }
    line=$(grep -m1 '^{"scenario"' "$T/wrk.out") || { cat "$T/wrk.out" >&2; die "no JSON from wrk"; }

    load=$(cut -d' ' -f1 /proc/loadavg)
    exited=false
    if ! kill -0 "$SERVER_PID" 2> /dev/null; then
      exited=true src=0
      wait "$SERVER_PID" 2> /dev/null || src=$?
      echo "# $scen -c$c: the server exited during the run, status $src (killed from outside?): numbers are suspect" >&2
    fi
    hwm=$(proc_kb "$SERVER_PID" VmHWM) rss=$(proc_kb "$SERVER_PID" VmRSS) thr=$(proc_kb "$SERVER_PID" Threads)
    stats='{}'
    if [ -n "$mode" ]; then
      stats=$(curl -sf "$FAKE_URL/_stats" | jq -c '{requests, completions}') || true
    fi
    stats=${stats:-'{}'}
    stop_pid "$SERVER_PID"
    SERVER_PID=""
    warn=$(grep -c . "$T/serve-$scen-$c.log" || true)
    if [ "$warn" != 0 ]; then # the distinct messages, most frequent first
      echo "# $scen -c$c: server log, $warn line(s):" >&2
      cut -d' ' -f2- "$T/serve-$scen-$c.log" | cut -c1-200 | sort | uniq -c | sort -rn | head -3 >&2
    fi

    line=$(jq -c --argjson hwm "${hwm:-null}" --argjson rss "${rss:-null}" --argjson thr "${thr:-null}" \
      --argjson st "$stats" --arg mode "$mode" --argjson delay "$delay" --argjson warn "$warn" --argjson load "$load" --argjson exited "$exited" \
      '. + {server_peak_rss_kb:$hwm, server_rss_end_kb:$rss, server_threads_end:$thr,
            server_log_lines:$warn, loadavg_1m_after:$load, server_exited_early:$exited}
         + (if $mode == "" then {} else {llm_mode:$mode, llm_delay_ms:$delay,
            llm_requests:$st.requests, llm_completions:$st.completions} end)' <<< "$line")
    echo "$line"
    echo "$line" >> "$T/lines.jsonl"
  done
done

jq -s --argjson meta "$META" '{meta:$meta, runs:.}' "$T/lines.jsonl" > "$OUT"

{
  printf '\n%-11s %5s %9s %9s %9s %9s %9s %7s %7s %8s %8s\n' scenario conns rps p50_ms p95_ms p99_ms \
    max_ms non2xx sockerr peak_MB llm_calls
  jq -r '.runs[] | [.scenario, .connections, .rps, .p50_ms, .p95_ms, .p99_ms, .max_ms, .non2xx,
      (.socket_errors | .connect + .read + .write + .timeout),
      ((.server_peak_rss_kb // 0) / 1024 | . * 10 | round / 10), (.llm_requests // "-")] | @tsv' "$OUT" |
    while IFS=$'\t' read -r s c r p50 p95 p99 mx n2 se mb lc; do
      printf '%-11s %5s %9s %9s %9s %9s %9s %7s %7s %8s %8s\n' "$s" "$c" "$r" "$p50" "$p95" "$p99" \
        "$mx" "$n2" "$se" "$mb" "$lc"
    done
  echo "# JSON: $OUT"
} >&2
