# shellcheck shell=bash
# bench/lib.sh: what the HTTP benchmarks share (sourced by bench/http/run.sh
# and bench/replay/run.sh): stopping the processes they start, by PID, on
# any exit, and the environment every benchmark server runs with.

# stop_pid PID: TERM, up to 5 s, then KILL; always reaped.
stop_pid() {
  local p=$1
  [ -n "$p" ] || return 0
  if kill -TERM "$p" 2> /dev/null; then
    for _ in $(seq 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null || true
  fi
  wait "$p" 2> /dev/null || true
}

# bench_traps DIR VAR...: on exit (or INT/TERM), stops the PID held in each
# named variable at that moment, in order, then removes DIR.
bench_traps() {
  BENCH_TMP=$1
  shift
  BENCH_PID_VARS=("$@")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
bench_cleanup() {
  local rc=$? v
  trap - EXIT INT TERM
  for v in "${BENCH_PID_VARS[@]}"; do stop_pid "${!v}"; done
  rm -rf "$BENCH_TMP"
  exit $rc
}

# The server's settings in every run: quiet logs, rate limits out of the
# way but still checked on every request (0 would skip the limiter), a
# short drain, no LLM unless a run configures one.
bench_server_env() {
  export FRONTDESK_LOG_LEVEL=${FRONTDESK_LOG_LEVEL:-warn}
  export FRONTDESK_LIMITS_KEY_PER_MIN=1000000000 FRONTDESK_LIMITS_SESSION_PER_MIN=1000000000
  export FRONTDESK_LIMITS_IP_PER_MIN=1000000000 FRONTDESK_LIMITS_GLOBAL_PER_MIN=0
  export FRONTDESK_SERVER_DRAIN_MS=1000
  unset FRONTDESK_LLM_BASE_URL
}
