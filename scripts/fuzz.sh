#!/usr/bin/env bash
# fuzz.sh BUILD_DIR [SECONDS] [JOBS]: runs every libFuzzer target of a
# `make fuzz` build for SECONDS each (default 20), JOBS at a time (default
# the cores), from the seeds in tests/fuzz/<name>/ copied to a scratch
# corpus (the repository's seeds are never written). One JSON line per
# target: runs, coverage, crashes. Exit 1 if any target crashed; its input
# and log are kept under $FUZZ_OUT (default a temporary directory) and named.
# tests/fuzz/<name>.dict, when there, is the target's dictionary.
# FUZZ_TARGETS="http_body http_query" runs only those (names without fuzz_).
# FUZZ_KEEP=1 keeps each target's log and scratch corpus under $FUZZ_OUT
# (a long run's record); the JSON line also gives the corpus size and the
# peak RSS either way.
set -uo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [JOBS]}
secs=${2:-20}
jobs=${3:-$(nproc)}
here=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/frontdesk-fuzz.XXXXXX")}
mkdir -p "$out"
targets=()
for t in "$build"/fuzz_*; do
  [ -x "$t" ] || continue
  if [ -n "${FUZZ_TARGETS:-}" ]; then
    case " $FUZZ_TARGETS " in *" ${t##*/fuzz_} "*) ;; *) continue ;; esac
  fi
  targets+=("$t")
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no fuzz_* targets${FUZZ_TARGETS:+ named $FUZZ_TARGETS} in $build" >&2; exit 2; }

run_one() {
  local t=$1 name corpus log rc
  name=$(basename "$t"); name=${name#fuzz_}
  corpus=$(mktemp -d "$out/$name.corpus.XXXXXX")
  log="$out/$name.log"
  # FUZZ_SEED fixes the mutation sequence (make test: the same inputs every
  # run, so CI is not a lottery); unset, each run explores afresh.
  "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    ${FUZZ_SEED:+-seed=$FUZZ_SEED} \
    $([ -f "$here/tests/fuzz/$name.dict" ] && echo "-dict=$here/tests/fuzz/$name.dict") \
    -artifact_prefix="$out/$name-" "$corpus" "$here/tests/fuzz/$name" > "$log" 2>&1
  rc=$?
  local runs cov ft rss files
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  rss=$(grep -o 'stat::peak_rss_mb: *[0-9]*' "$log" | grep -o '[0-9]*$')
  files=$(find "$corpus" -type f | wc -l)
  local crash=0
  [ $rc -ne 0 ] && crash=1
  printf '{"target":"%s","seconds":%s,"runs":%s,"coverage":%s,"features":%s,"corpus":%s,"peak_rss_mb":%s,"crashed":%s}\n' \
    "$name" "$secs" "${runs:-0}" "${cov:-0}" "${ft:-0}" "$files" "${rss:-0}" \
    "$([ $crash = 1 ] && echo true || echo false)"
  if [ $crash = 1 ]; then
    echo "fuzz.sh: $name crashed; input and log in $out:" >&2
    grep -E 'ERROR|SUMMARY|#[0-9] ' "$log" | head -12 >&2
    [ -n "${FUZZ_KEEP:-}" ] || rm -rf "$corpus"
    return 1
  fi
  [ -n "${FUZZ_KEEP:-}" ] || rm -rf "$corpus" "$log"
}

fail=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" > "$out/$(basename "$t").json" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || fail=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || fail=1; done
cat "$out"/fuzz_*.json
[ -z "${FUZZ_OUT:-}" ] && [ $fail = 0 ] && rm -rf "$out"
exit $fail
