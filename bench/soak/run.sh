#!/usr/bin/env bash
# run.sh: the soak (issue 17): `frontdesk serve` under a steady mixed load
# for MINUTES, sampled every minute: p50/p99 and throughput of that minute,
# the server's RSS (and its heap and file-backed parts: RssAnon, RssFile),
# open file descriptors and threads. Flat means the
# largest deviation of the later minutes (after the first tenth, the
# warm-up) from their mean stays within 5%; the summary also gives each
# series' trend (least-squares slope, % of its mean per hour), which tells
# growth from single minutes moved by other load on a shared machine.
#   bench/soak/run.sh BUILD_DIR [MINUTES (60)] [CONNECTIONS (16)]
# SOAK_RATE=N offers a steady load of at most N requests a second in all (each connection
# pauses CONNECTIONS*1000/N ms between requests); unset, every connection
# sends its next request as soon as it has an answer (saturation: the
# p99 is then the depth of the queue, which other load on the machine sets).
# Load (bench/soak/mixed.lua, wrk -t1): chat turns in 200 sessions (the
# store grows all along), repeats of a popular question (the caches),
# searches, streams, health checks; and every 5 minutes a document upload
# that replaces the same document (re-index, snapshot swap under load).
# Everything on 127.0.0.1 in a temp dir, started and stopped here by PID.
# Out: one JSON line per minute on stdout, then a summary line; the same in
# bench/soak/last.json.
set -euo pipefail
B=$(cd "${1:?usage: bench/soak/run.sh BUILD_DIR [MINUTES] [CONNECTIONS]}" && pwd)
MIN=${2:-60}
CONNS=${3:-16}
RATE=${SOAK_RATE:-0}
PAUSE=0
[ "$RATE" -gt 0 ] && PAUSE=$((CONNS * 1000 / RATE))
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FD=$B/frontdesk
OUT=${BENCH_OUT:-$HERE/last.json}
command -v wrk > /dev/null || { echo "run.sh: wrk is needed (scripts/deps.sh)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/fdsoak.XXXXXX")
PID=
trap 'kill $PID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
export FRONTDESK_DATA_DIR=$T/var FRONTDESK_LOG_LEVEL=warn
export FRONTDESK_LIMITS_KEY_PER_MIN=10000000 FRONTDESK_LIMITS_SESSION_PER_MIN=10000000
export FRONTDESK_LIMITS_IP_PER_MIN=10000000 FRONTDESK_LIMITS_GLOBAL_PER_MIN=10000000
"$FD" ingest "$ROOT/examples/packaging-supplier" > /dev/null
KEY=$("$FD" keys create --scope chat --json | jq -r .key)
ING=$("$FD" keys create --scope ingest --json | jq -r .key)
"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
for _ in $(seq 300); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
proc() { awk -v k="$1" '$1==k":" {print $2}' "/proc/$PID/status"; }
: > "$T/minutes"
for m in $(seq 1 "$MIN"); do
  if [ $((m % 5)) = 0 ]; then
    printf '# Soak notice\n\nThis page was uploaded at minute %d of the soak. Opening hours stay 9 am to 6 pm.\n' "$m" |
      curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ING" \
        -H 'Content-Type: text/markdown' --data-binary @- "$U/v1/documents?id=soak/notice.md" > "$T/up"
  else
    echo 0 > "$T/up"
  fi
  line=$(wrk -t1 -c"$CONNS" -d60s --timeout 10s -s "$HERE/mixed.lua" "$U" -- "$KEY" "$ROOT/bench/http/questions.txt" "$PAUSE" 2>/dev/null | grep '^{')
  sleep 1 # connections wrk closed are closed by the server too: a leak is what stays
  fds=$(ls "/proc/$PID/fd" | wc -l)
  # The C library's heap (what any code holds, what the allocator keeps
  # free) and fd_malloc's share of it, in kB, from /metrics.
  curl -s "$U/metrics" > "$T/metrics" || : > "$T/metrics"
  met() { awk -v k="$1" '$1==k {printf "%d", $2/1024; f=1} END {if (!f) print 0}' "$T/metrics"; }
  echo "$line" | jq -c --argjson m "$m" --argjson rss "$(proc VmRSS)" --argjson fds "$fds" \
    --argjson thr "$(proc Threads)" --argjson up "$(cat "$T/up")" \
    --argjson anon "$(proc RssAnon)" --argjson file "$(proc RssFile)" \
    --argjson hin "$(met 'frontdesk_heap_bytes{state="in_use"}')" \
    --argjson hfree "$(met 'frontdesk_heap_bytes{state="free"}')" \
    --argjson fdm "$(met frontdesk_memory_allocated_bytes)" \
    '{minute:$m} + . + {rss_kb:$rss, rss_anon_kb:$anon, rss_file_kb:$file, heap_in_use_kb:$hin,
      heap_free_kb:$hfree, fd_malloc_kb:$fdm, fds:$fds, threads:$thr, upload_status:$up}' | tee -a "$T/minutes"
done
kill -TERM $PID; wait $PID; rc=$?; PID=
jq -s -c --argjson rc "$rc" --argjson rate "$RATE" --arg commit "$(git -C "$B" rev-parse --short HEAD 2> /dev/null || git -C "$ROOT" rev-parse --short HEAD)" --arg cpu "$(nproc) cores" '
  def flat(f): (.[(length/10|ceil):] | map(f)) as $v | ($v|add/length) as $mu
    | if $mu == 0 then 0 else ($v | map(((. - $mu)/$mu*100) | fabs) | max) end;
  # The least-squares slope over the same minutes, in % of their mean per
  # hour: growth (a leak, a slowing store) shows here, while a neighbour
  # process on a shared machine moves single minutes, which flat() counts.
  def trend(f): (.[(length/10|ceil):] | map(f)) as $v | ($v|length) as $n
    | if $n < 2 then 0 else
        ($v|add/$n) as $mu | (($n - 1) / 2) as $xm
        | ([range(0; $n) | (. - $xm) * ($v[.] - $mu)] | add) as $sxy
        | ([range(0; $n) | (. - $xm) * (. - $xm)] | add) as $sxx
        | if $mu == 0 then 0 else ($sxy / $sxx * 60 / $mu * 100) end
      end;
  {summary:true, commit:$commit, machine:$cpu, minutes:length, offered_rps:$rate,
   requests:(map(.requests)|add), non2xx:(map(.non2xx)|add), socket_errors:(map(.socket_errors)|add),
   uploads_ok:(map(select(.upload_status==200 or .upload_status==201))|length),
   uploads:(map(select(.upload_status!=0))|length),
   rss_flat_pct:flat(.rss_kb), fds_flat_pct:flat(.fds), p99_flat_pct:flat(.p99_ms),
   rps_flat_pct:flat(.rps), rss_trend_pct_per_h:trend(.rss_kb), p99_trend_pct_per_h:trend(.p99_ms),
   rss_anon_flat_pct:flat(.rss_anon_kb // 0), rss_anon_trend_pct_per_h:trend(.rss_anon_kb // 0),
   rss_file_trend_pct_per_h:trend(.rss_file_kb // 0),
   heap_in_use_trend_pct_per_h:trend(.heap_in_use_kb // 0), heap_free_trend_pct_per_h:trend(.heap_free_kb // 0),
   fd_malloc_trend_pct_per_h:trend(.fd_malloc_kb // 0),
   fds_trend_pct_per_h:trend(.fds), p99_ms_first:.[0].p99_ms, p99_ms_last:.[-1].p99_ms,
   rss_kb_first:.[0].rss_kb, rss_kb_last:.[-1].rss_kb, sigterm_exit:$rc}' "$T/minutes" | tee "$T/summary"
cat "$T/minutes" "$T/summary" > "$OUT"
