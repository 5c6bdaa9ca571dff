#!/usr/bin/env bash
# openai_client.sh: the OpenAI-compatible facade (POST /v1/chat/completions)
# through the official `openai` npm client (tests/integration/openai/): a
# plain and a streamed answer from the example knowledge base, a bad key, a
# bad request. The client is first pointed at the fake OpenAI server
# (tests/support/fake_llm), so a broken harness and a broken facade fail
# differently. Needs node >= 18 and npm (scripts/deps.sh) and, the first
# time, the npm registry; packages are cached in FD_NPM_CACHE (the build dir).
. "$(dirname "$0")/lib.bash"

SRC=$(cd "$(dirname "$0")/openai" && pwd)
EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
FAKE=${FD_FAKE_LLM:?FD_FAKE_LLM must point to the fake_llm binary}

# Missing tools fail the test: a silent pass would hide the facade untested.
for tool in node npm; do
  command -v "$tool" > /dev/null ||
    { fail "$tool is not installed: run scripts/deps.sh (Debian packages nodejs, npm)"; finish; }
done
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
check "node >= 18 (found $(node --version 2>/dev/null))" test "${major:-0}" -ge 18
[ "${major:-0}" -ge 18 ] || finish

# The client, installed exactly as locked, into a copy (no node_modules in
# the source tree). --prefer-offline: a warm cache needs no network.
mkdir -p "$T/openai"
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/test.mjs" "$T/openai/"
export NPM_CONFIG_CACHE=${FD_NPM_CACHE:-$T/npm-cache}
export NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_LOGLEVEL=error
if ! (cd "$T/openai" && npm ci --no-audit --no-fund --prefer-offline > "$T/npm.log" 2>&1); then
  sed 's/^/       /' "$T/npm.log" | tail -n 20
  fail "npm ci of the openai client (registry unreachable and no cache in $NPM_CONFIG_CACHE?)"
  finish
fi
ok "openai client $(cd "$T/openai" && node -p 'require("./node_modules/openai/package.json").version') installed"

# ---- the harness against the fake OpenAI server ----------------------------------------
"$FAKE" --port 0 --port-file "$T/llm.port" > "$T/llm.log" 2>&1 &
LLM_PID=$!
trap 'kill $LLM_PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do [ -s "$T/llm.port" ] && break; sleep 0.05; done
(cd "$T/openai" && node test.mjs "http://127.0.0.1:$(cat "$T/llm.port")" sk-fake --plain) > "$T/plain.out" 2>&1
rc=$?
sed 's/^/       /' "$T/plain.out"
check "the client and the checks work against the fake OpenAI server" test "$rc" = 0
kill $LLM_PID 2>/dev/null
wait $LLM_PID 2>/dev/null

# ---- frontdesk ---------------------------------------------------------------------------
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
CHAT=$("$FD" keys create --scope chat --name openai-e2e --json | jq -r .key)
"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
check "server started" test -n "$PORT"
[ -n "$PORT" ] || finish

(cd "$T/openai" && node test.mjs "http://127.0.0.1:$PORT" "$CHAT") > "$T/e2e.out" 2>&1
rc=$?
sed 's/^/       /' "$T/e2e.out"
check "the openai client talks to frontdesk's /v1/chat/completions" test "$rc" = 0

kill -TERM $PID
wait $PID
rc=$?
check "SIGTERM: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || tail -n 20 "$T/serve.log" | sed 's/^/       /'
finish
