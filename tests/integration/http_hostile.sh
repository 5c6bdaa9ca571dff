#!/usr/bin/env bash
# http_hostile.sh: `frontdesk serve` against hostile clients, through real
# HTTP: attack strings, bad encodings, wrong types and absurd sizes in every
# field, path id and header; a store whose write lock another process holds
# (writes 503 with Retry-After and nothing half-written, reads still
# served); malformed HTTP and connection floods. The server answers each
# with JSON (2xx, or 4xx with an error object), never 5xx or a dropped
# connection, never echoes markup or an unsafe request id, and is still
# alive with its data intact at the end.
. "$(dirname "$0")/lib.bash"

FAKE=${FD_FAKE_LLM:?FD_FAKE_LLM must point to the fake_llm binary}
EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
DB=$FRONTDESK_DATA_DIR/frontdesk.db
for tool in curl jq python3 iconv od; do
  command -v "$tool" > /dev/null || { fail "$tool is required (scripts/deps.sh installs it)"; finish; }
done

"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
CHAT=$("$FD" keys create --scope chat --name hostile --json | jq -r .key)
INGEST=$("$FD" keys create --scope ingest --json | jq -r .key)
OPER=$("$FD" keys create --scope operator --name ana --json | jq -r .key)

# An LLM, so a hostile traceparent travels as far as the LLM client does.
"$FAKE" --port 0 --port-file "$T/llm.port" > "$T/llm.log" 2>&1 &
LLM_PID=$!
for _ in $(seq 100); do [ -s "$T/llm.port" ] && break; sleep 0.05; done
export FRONTDESK_LLM_BASE_URL="http://127.0.0.1:$(cat "$T/llm.port")/v1" FRONTDESK_LLM_MODEL=gpt-4o-mini
ORIGIN_OK=https://shop.example
export FRONTDESK_SERVER_CORS_ORIGINS=$ORIGIN_OK
# Hundreds of requests share a few sessions: rate limits are http_api.sh's
# business. A short busy wait keeps the locked-store part fast.
export FRONTDESK_LIMITS_SESSION_PER_MIN=0 FRONTDESK_LIMITS_KEY_PER_MIN=0
export FRONTDESK_STORE_BUSY_TIMEOUT_MS=200

"$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PID=$!
HOLDER=
trap 'kill -9 $PID $LLM_PID $HOLDER 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
U="http://127.0.0.1:$PORT"
check "server started" test -n "$PORT"
[ -n "$PORT" ] || finish

# req METHOD PATH [curl args...]: body to $T/b, headers to $T/h, status on stdout
req() {
  local m=$1 p=$2
  shift 2
  curl -s --max-time 15 -o "$T/b" -D "$T/h" -w '%{http_code}' -X "$m" "$U$p" "$@"
}
jb() { jq -e "$1" "$T/b" > /dev/null 2>&1; }
hdr() { grep -i "^$1:" "$T/h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
J=(-H 'Content-Type: application/json')
A=(-H "Authorization: Bearer $CHAT")
O=(-H "Authorization: Bearer $OPER")

# expect LABEL STATUS: records in BAD why the last response is not one the
# API may send. jansson would write '<' raw, but the server's own JSON
# writer escapes it (\u003c); nosniff and the JSON type are checked anyway.
BAD=()
N=0
GT0=$(date +%s%N)
expect() {
  local label=$1 s=$2 why="" line ct="" nosniff="" rid="" acao=""
  N=$((N + 1))
  # Headers parsed in bash: this runs ~500 times, forks are the cost.
  while IFS= read -r line; do
    line=${line%$'\r'}
    case ${line,,} in
    content-type:*) ct=${line#*: } ;;
    x-content-type-options:*) nosniff=${line#*: } ;;
    x-request-id:*) rid=${line#*: } ;;
    access-control-allow-origin:*) acao=${line#*: } ;;
    esac
  done < "$T/h"
  case $s in
  2?? | 4??) why=$(jq -r --arg s "$s" 'if type != "object" then "body is not a JSON object"
      elif ($s | startswith("4")) and ((.error.code | type) != "string"
        or (.error.message | type) != "string" or (.error.message | length) == 0)
      then "\($s) without error.code and error.message" else "" end' "$T/b" 2>/dev/null) ||
      why="body is not JSON" ;;
  000) why="no response (connection dropped or timed out)" ;;
  *) why="status $s" ;;
  esac
  if [ -n "$why" ]; then
    :
  elif ! iconv -f UTF-8 -t UTF-8 "$T/b" > /dev/null 2>&1; then
    why="body is not valid UTF-8"
  elif grep -qiE '<(script|img)' "$T/b" "$T/h"; then
    why="unescaped markup in the response"
  elif [[ ${ct,,} != application/json* ]]; then
    why="Content-Type is '$ct', not application/json"
  elif [ "${nosniff,,}" != nosniff ]; then
    why="no X-Content-Type-Options: nosniff"
  elif ! [[ $rid =~ ^[A-Za-z0-9._-]{1,39}$ ]]; then
    why="unsafe X-Request-Id echoed"
  elif [ -n "$acao" ] && [ "$acao" != "$ORIGIN_OK" ]; then
    why="Access-Control-Allow-Origin echoes an origin not allowed"
  fi
  [ -n "$why" ] && BAD+=("$label -> $s: $why")
  return 0
}
# group NAME: one ok/fail line for the requests since the last group.
group() {
  local now
  now=$(date +%s%N)
  local ms=$(((now - GT0) / 1000000))
  GT0=$now
  if [ ${#BAD[@]} -eq 0 ]; then
    ok "$1: $N well-formed responses ($ms ms)"
  else
    fail "$1: ${#BAD[@]} of $N responses wrong"
    printf '       %s\n' "${BAD[@]:0:12}"
  fi
  BAD=()
  N=0
}
# URL-encodes every byte (NUL-free input).
urlenc() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n' | sed 's/../%&/g'; }

# ---- the payloads --------------------------------------------------------------------
LONG=$(head -c 2000 /dev/zero | tr '\0' x)
DEEP=$(head -c 10000 /dev/zero | tr '\0' '[')
DEEPJ=$DEEP${DEEP//[/]}
# As text (queries, path ids, headers); the NUL byte is added to URLs as %00.
SNAME=(script img sql-drop sql-or template pct00 traversal long2000 bad-utf8 surrogate
  deep10000 huge-int huge-real negative json-array json-object json-true json-null space empty)
SVAL=('<script>alert(1)</script>' '"><img src=x onerror=alert(1)>' "'; DROP TABLE sessions; --"
  "' OR '1'='1" '{{7*7}}' '%00' '../../etc/passwd' "$LONG" $'bad\xff\xfe\xc0\xafutf8'
  $'\xed\xa0\x80' "$DEEP" '123456789012345678901234567890' '1e999' '-1' '[]' '{}' 'true' 'null'
  ' ' '')
# As JSON values, where a string is expected.
JNAME=() JVAL=()
for i in "${!SVAL[@]}"; do
  case ${SNAME[$i]} in bad-utf8 | surrogate) continue ;; esac
  JNAME+=("${SNAME[$i]}")
  JVAL+=("$(jq -cn --arg s "${SVAL[$i]}" '$s')")
done
JNAME+=(nul-escape lone-surrogate lone-low-surrogate raw-bad-utf8 raw-cesu-surrogate deep-json
  huge-real huge-int neg-huge array object array-of-str object-of-str number float true false null)
JVAL+=('"a\u0000b"' '"a\ud800b"' '"\udc00"' $'"bad\xff\xfe\xc0\xafutf8"' $'"\xed\xa0\x80"'
  "$DEEPJ" '1e999' '123456789012345678901234567890' '-1e400' '[]' '{}' '["x"]' '{"a":"b"}' '42'
  '3.14' 'true' 'false' 'null')

# A session whose turns must survive every SQL-looking string below.
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"How long do I have to report defective boxes?","session_id":"canary"}')
check "canary session created" test "$s" = 200

# ---- 1. every field of every endpoint ------------------------------------------------
SIDS=()
for i in "${!JVAL[@]}"; do
  v=${JVAL[$i]} n=${JNAME[$i]}
  s=$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary "{\"message\":$v}")
  expect "chat message=$n" "$s"
  s=$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary "{\"message\":\"hello\",\"session_id\":$v}")
  expect "chat session_id=$n" "$s"
  s=$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary "{\"message\":\"do you deliver to Sentosa?\",\"user\":$v}")
  expect "chat user=$n" "$s"
  [ "$s" = 200 ] && SIDS+=("$(jq -r .session_id "$T/b")")
done
# Whole bodies: duplicate keys, nesting, not an object, encodings.
BNAME=(dup-message dup-session deep-body array-body string-body null-body empty-body bom
  trailing-garbage utf16)
BVAL=('{"message":"hi","message":"<script>alert(1)</script>"}'
  '{"message":"hi","session_id":"a","session_id":"b"}' "$DEEPJ" '["message"]' '"message"' 'null'
  '' $'\xef\xbb\xbf{"message":"hi"}' '{"message":"hi"} <img src=x>' $'\xff\xfe{\x00"\x00')
for i in "${!BVAL[@]}"; do
  s=$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary "${BVAL[$i]}")
  expect "chat body=${BNAME[$i]}" "$s"
done
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary '{"message":"hi","message":"<script>"}')
check "duplicate keys are refused (400)" test "$s" = 400
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary "{\"message\":$DEEPJ}")
check "10,000-deep JSON is refused (400), not recursed into" test "$s" = 400
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" --data-binary '{"message":["x"]}')
check "a wrong type is 422 naming the field" bash -c "[ $s = 422 ] && jq -e '.error.field==\"message\"' '$T/b' >/dev/null"
group "POST /v1/chat: message, session_id, user, whole bodies"

for sid in "${SIDS[@]}"; do
  s=$(req GET "/v1/sessions/$sid" "${A[@]}")
  expect "session of user payload $sid" "$s"
done
group "GET /v1/sessions of the hostile users"

for i in "${!SVAL[@]}"; do
  e=$(urlenc "${SVAL[$i]}") n=${SNAME[$i]}
  s=$(req GET "/v1/search?q=$e" "${A[@]}")
  expect "search q=$n" "$s"
  s=$(req GET "/v1/search?q=refund&k=$e" "${A[@]}")
  expect "search k=$n" "$s"
  s=$(req GET "/v1/search?q=refund&mode=$e" "${A[@]}")
  expect "search mode=$n" "$s"
done
for qs in 'q=%00' 'q=a%00b' 'k=%00&q=x' 'mode=%00&q=x' 'q=a&q=%3Cscript%3E' 'k=1&k=1000&q=x' \
  'q=%ZZ' 'q=%' 'q=%C0%AF' '&&&=&' 'q'; do
  s=$(req GET "/v1/search?$qs" "${A[@]}")
  expect "search ?$qs" "$s"
done
group "GET /v1/search: q, k, mode"

# The handoff the operator payloads go to: opened, then claimed.
req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"I want to speak to a real person please"}' > /dev/null
HS=$(jq -r .session_id "$T/b")
req GET '/v1/handoffs?status=open' "${O[@]}" > /dev/null
HID=$(jq -r --arg s "$HS" '.handoffs[]|select(.session_id==$s)|.id' "$T/b")
check "a handoff to attack" test "$(req POST "/v1/handoffs/$HID/claim" "${O[@]}")" = 200

for i in "${!SVAL[@]}"; do
  e=$(urlenc "${SVAL[$i]}") n=${SNAME[$i]}
  s=$(req GET "/v1/sessions/$e" "${A[@]}")
  expect "GET session id=$n" "$s"
  s=$(req DELETE "/v1/sessions/$e" "${A[@]}")
  expect "DELETE session id=$n" "$s"
  s=$(req POST "/v1/handoffs/$e/claim" "${O[@]}")
  expect "claim handoff id=$n" "$s"
  s=$(req POST "/v1/handoffs/$HID/$e" "${O[@]}")
  expect "handoff action=$n" "$s"
done
for p in /v1/sessions/%00 /v1/sessions/a%00b /v1/handoffs/%00/claim /v1/handoffs/1%00/claim \
  /v1/sessions/..%2F..%2Fetc%2Fpasswd /v1/handoffs/-1/claim /v1/handoffs/0x10/claim \
  /v1/handoffs/99999999999999999999/claim; do
  s=$(req GET "$p" "${A[@]}")
  expect "GET $p" "$s"
  s=$(req POST "$p" "${O[@]}")
  expect "POST $p" "$s"
done
s=$(curl -s --max-time 15 --path-as-is -o "$T/b" -D "$T/h" -w '%{http_code}' "$U/v1/sessions/../../etc/passwd" "${A[@]}")
expect "GET /v1/sessions/../../etc/passwd as is" "$s"
group "path ids: /v1/sessions/{id}, /v1/handoffs/{id}/{action}"

for i in "${!JVAL[@]}"; do
  s=$(req POST "/v1/handoffs/$HID/messages" "${J[@]}" "${O[@]}" --data-binary "{\"message\":${JVAL[$i]}}")
  expect "operator message=${JNAME[$i]}" "$s"
done
s=$(req GET "/v1/sessions/$HS" "${A[@]}")
expect "the session of the hostile operator messages" "$s"
check "the operator's hostile messages are stored (as text)" jb '(.turns|map(select(.role=="operator"))|length)>=5'
group "POST /v1/handoffs/{id}/messages: message"

for i in "${!SVAL[@]}"; do
  v=${SVAL[$i]} n=${SNAME[$i]}
  for h in X-Request-Id Origin; do
    s=$(req GET /healthz -H "$h: $v")
    expect "healthz $h=$n" "$s"
    s=$(req GET /v1/search?q=refund "${A[@]}" -H "$h: $v")
    expect "search $h=$n" "$s"
  done
  # traceparent goes to the LLM with the question: a chat that calls it.
  s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -H "traceparent: $v" -H "X-Request-Id: $v" -H "Origin: $v" \
    -d '{"message":"How long do I have to report defective boxes?"}')
  expect "chat traceparent, X-Request-Id, Origin=$n" "$s"
  s=$(req POST /v1/chat "${J[@]}" -H "Authorization: $v" -d '{"message":"hi"}')
  expect "chat Authorization=$n" "$s"
  s=$(req POST /v1/chat "${J[@]}" -H "Authorization: Bearer $v" -d '{"message":"hi"}')
  expect "chat Authorization=Bearer $n" "$s"
  s=$(req GET /v1/documents -H "X-API-Key: $v")
  expect "documents X-API-Key=$n" "$s"
done
s=$(req GET /healthz -H 'X-Request-Id: <script>alert(1)</script>')
check "an unsafe X-Request-Id is replaced, not echoed" bash -c "[ $s = 200 ] && grep -qiE '^X-Request-Id: [0-9a-f]{24}' '$T/h'"
s=$(req GET /healthz -H "Origin: $ORIGIN_OK")
check "an allowed Origin still gets CORS" test "$(hdr Access-Control-Allow-Origin)" = "$ORIGIN_OK"
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -H 'X-Request-Id: a' -H 'X-Request-Id: <img>' -d '{"message":"hi"}')
expect "duplicate X-Request-Id headers" "$s"
s=$(req POST /v1/chat "${J[@]}" -H "Authorization: Bearer $CHAT" -H 'Authorization: Bearer x' -d '{"message":"hi"}')
expect "duplicate Authorization headers" "$s"
group "headers: X-Request-Id, Origin, traceparent, Authorization, X-API-Key"

check "healthz 200 after the payloads" test "$(req GET /healthz)" = 200
s=$(req GET /v1/sessions/canary "${A[@]}")
check "the canary session kept its turns (no SQL ran)" bash -c "[ $s = 200 ] && jq -e '(.turns|length)==2' '$T/b' >/dev/null"
check "sessions and turns tables are intact" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"and on Saturday?","session_id":"canary"}')" = 200
check "frontdesk docs still lists the documents" \
  bash -c "'$FD' docs --json 2>/dev/null | jq -e '(.documents|length)>200' >/dev/null"

# ---- 2. another process holds the store's write lock -----------------------------------
# The store runs in WAL mode, where BEGIN IMMEDIATE takes the write lock and
# readers keep reading the last commit (BEGIN EXCLUSIVE is no different in
# WAL unless locking_mode is EXCLUSIVE, which would also stop readers).
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"How long do I have to report defective boxes?","session_id":"lock-old"}')
check "a session before the lock" test "$s" = 200
python3 - "$DB" "$T/lock" > "$T/holder.out" 2>&1 <<'EOF' &
import os, sqlite3, sys, time
db, flag = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db, isolation_level=None, timeout=5)
print("journal_mode", c.execute("PRAGMA journal_mode").fetchone()[0], flush=True)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
deadline = time.time() + 60
while not os.path.exists(flag + ".release") and time.time() < deadline:
    time.sleep(0.02)
c.execute("ROLLBACK")
c.close()
print("released", flush=True)
EOF
HOLDER=$!
for _ in $(seq 200); do grep -q locked "$T/holder.out" && break; sleep 0.05; done
check "the store is in WAL mode" grep -q 'journal_mode wal' "$T/holder.out"
check "another process holds the write lock" grep -q locked "$T/holder.out"

t0=$(date +%s%N)
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"How long do I have to report defective boxes?","session_id":"lock-new"}')
ms=$((($(date +%s%N) - t0) / 1000000))
check "chat while locked: 503 (got $s)" test "$s" = 503
check "... within the busy timeout, not 5 s (${ms} ms)" test "$ms" -lt 3000
check "... with Retry-After" bash -c "[[ '$(hdr Retry-After)' =~ ^[1-9][0-9]*$ ]]"
check "... and a JSON error that says what happened" \
  jb '(.error.code|type=="string") and (.error.message|test("busy|lock|unavailable";"i"))'
echo "       503 body: $(cat "$T/b")"
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"and on Saturday?","session_id":"lock-old"}')
check "chat in an existing session while locked: 503" test "$s" = 503
check "deleting a session while locked: 503" test "$(req DELETE /v1/sessions/lock-old "${A[@]}")" = 503
check "search is served while locked" bash -c "[ $(req GET '/v1/search?q=defective+boxes' "${A[@]}") = 200 ] && jq -e '(.results|length)>0' '$T/b' >/dev/null"
check "documents are served while locked" test "$(req GET /v1/documents -H "Authorization: Bearer $INGEST")" = 200
check "sessions are served while locked" test "$(req GET /v1/sessions/lock-old "${A[@]}")" = 200
check "healthz 200 while locked" test "$(req GET /healthz)" = 200
check "readyz answers while locked (store readable)" bash -c "[ $(req GET /readyz) = 200 ] && jq -e '.store==\"ok\"' '$T/b' >/dev/null"
touch "$T/lock.release"
wait $HOLDER
HOLDER=
check "the lock is released" grep -q released "$T/holder.out"
check "the failed new session was not stored" test "$(req GET /v1/sessions/lock-new "${A[@]}")" = 404
s=$(req GET /v1/sessions/lock-old "${A[@]}")
check "the existing session has no half turn" bash -c "[ $s = 200 ] && jq -e '(.turns|length)==2' '$T/b' >/dev/null"
n=$(python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute("SELECT (SELECT count(*) FROM turns WHERE session_id IN (\x27lock-new\x27)) + (SELECT count(*) FROM analytics_events WHERE session_id=\x27lock-new\x27) + (SELECT count(*) FROM turns WHERE session_id=\x27lock-old\x27)").fetchone()[0])' "$DB")
check "no turn or event of the failed requests in the database ($n rows, 2 expected)" test "$n" = 2
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"and on Saturday?","session_id":"lock-old"}')
check "after the lock: chat 200 again" test "$s" = 200
check "... and the turn is stored" bash -c "[ $(req GET /v1/sessions/lock-old "${A[@]}") = 200 ] && jq -e '(.turns|length)==4' '$T/b' >/dev/null"

# ---- 3. malformed HTTP and connection floods -----------------------------------------------
python3 - 127.0.0.1 "$PORT" "$CHAT" > "$T/raw.out" 2>&1 <<'EOF'
import socket, sys
host, port, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def talk(data, read=True, timeout=5):
    """Sends data; returns the status line (or 'closed'), 'timeout' if none."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(data)
        if not read:
            return "sent"
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n", 1)[0].decode("latin-1") or "closed"
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return "closed"
    finally:
        s.close()

print("garbage-line", talk(b"\xff\xfeGARBAGE !!! <script>\r\n\r\n"))
# MHD reads a line starting with NUL as an empty one, and skips empty lines
# before a request (RFC 9112 2.2): it waits for more, like any idle client,
# until the connection timeout. Only the server's health matters here.
print("nul-line", talk(b"\x00GARBAGE\r\n\r\n", timeout=0.5).replace("timeout", "waiting"))
print("no-version", talk(b"GET /healthz\r\n\r\n"))
print("bad-method", talk(b"G\x01T /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
print("header-100k", talk(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"))
print("headers-5000", talk(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 5000 + b"\r\n"))
print("no-colon", talk(b"GET /healthz HTTP/1.1\r\nHost: x\r\nthis is no header\r\n\r\n"))
print("bad-length", talk(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n"))
print("two-lengths", talk(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 9\r\n\r\n{}"))
print("bad-chunked", talk(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))

def statuses(data, timeout=3):
    """Every status line the server sends back before it closes."""
    s = socket.create_connection((host, port), timeout=timeout)
    buf = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        s.close()
    return [l.decode("latin-1") for l in buf.split(b"\r\n") if l.startswith(b"HTTP/1.")]

# Request smuggling shapes (issue 17 item 8): a GET hidden in the body must
# never run as a second request; the first is refused and the line closed.
auth = b"Authorization: Bearer " + key.encode() + b"\r\nContent-Type: application/json\r\n"
hidden = b"GET /v1/documents HTTP/1.1\r\nHost: x\r\n\r\n"
body = b'{"message":"hi"}'
print("smuggle-cl-cl", statuses(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\n" + auth +
      b"Content-Length: 16\r\nContent-Length: " + str(16 + len(hidden)).encode() +
      b"\r\nConnection: keep-alive\r\n\r\n" + body + hidden))
print("smuggle-te-cl", statuses(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\n" + auth +
      b"Content-Length: " + str(len(b"10\r\n") + 16 + 7).encode() +
      b"\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n" + body + b"\r\n0\r\n\r\n" + hidden))
print("same-lengths", statuses(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\n" + auth +
      b"Content-Length: 16\r\nContent-Length: 16\r\nConnection: close\r\n\r\n" + body))
# The shapes libmicrohttpd itself reads one way and a lax proxy may read
# another (RFC 9112 5.1, 6.1): whitespace before a field name's colon (it
# took "Content-Length : 16" for some other header and ran the body as a
# second request), a transfer coding other than chunked (it waited for
# the body until the connection timed out), chunked twice, a
# Content-Length that is not a number. Each: one 400, then the server
# closes the line (it does not wait for the client to).
def refused(data, timeout=3):
    s = socket.create_connection((host, port), timeout=timeout)
    buf, end = b"", "open"
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                end = "closed"
                break
            buf += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        end = "closed"
    finally:
        s.close()
    st = [l.decode("latin-1") for l in buf.split(b"\r\n") if l.startswith(b"HTTP/1.")]
    return "%s %s" % (",".join(st) or "none", end)
post = b"POST /v1/chat HTTP/1.1\r\nHost: x\r\n" + auth
for name, hdrs, rest in [
    ("cl-cl", b"Content-Length: 16\r\nContent-Length: " + str(16 + len(hidden)).encode(), body + hidden),
    ("te-cl", b"Content-Length: 4\r\nTransfer-Encoding: chunked", b"10\r\n" + body + b"\r\n0\r\n\r\n" + hidden),
    ("cl-space-colon", b"Content-Length : 16", body + hidden),
    ("te-space-colon", b"Transfer-Encoding : chunked\r\nContent-Length: 16", body + hidden),
    ("te-xchunked", b"Transfer-Encoding: xchunked", b"10\r\n" + body + b"\r\n0\r\n\r\n" + hidden),
    ("te-not-final", b"Transfer-Encoding: chunked, identity", b"10\r\n" + body + b"\r\n0\r\n\r\n" + hidden),
    ("te-twice", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", b"10\r\n" + body + b"\r\n0\r\n\r\n" + hidden),
    ("cl-folded", b"Content-Length: 16\r\n 5", body + hidden),
    ("te-folded", b"Transfer-Encoding: chunked\r\n , identity\r\nContent-Length: 16", body + hidden),
    ("cl-words", b"Content-Length: 16 5", body + hidden)]:
    print("framing-" + name, refused(post + hdrs + b"\r\n\r\n" + rest))
# A body shorter than its Content-Length, then a hang-up: the request is
# abandoned mid-body, with the key valid and a JSON type.
for _ in range(20):
    talk(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() +
         b"\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"message\":\"hel",
         read=False)
# Half a request line, half the headers, then a hang-up.
for part in (b"GET /heal", b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A"):
    for _ in range(20):
        talk(part, read=False)
# 1,000 connections opened and closed at once, then 200 held open together.
for _ in range(1000):
    socket.create_connection((host, port), timeout=5).close()
held = [socket.create_connection((host, port), timeout=5) for _ in range(200)]
for s in held:
    s.close()
print("flood done")
EOF
rc=$?
sed 's/^/       /' "$T/raw.out"
check "the raw client finished" bash -c "[ $rc = 0 ] && grep -q 'flood done' '$T/raw.out'"
check "no malformed request hung the server" bash -c "! grep -q timeout '$T/raw.out'"
check "garbage request line: a 4xx or a close" grep -Eq '^garbage-line (HTTP/1.[01] 4[0-9][0-9]|closed)' "$T/raw.out"
check "100 KB header: a 4xx or a close" grep -Eq '^header-100k (HTTP/1.[01] 4[0-9][0-9]|closed)' "$T/raw.out"
check "no 5xx for any malformed request" bash -c "! grep -Eq 'HTTP/1.[01] 5' '$T/raw.out'"
check "two different Content-Lengths: 400, and the hidden GET never runs" \
  grep -Eq "^smuggle-cl-cl \['HTTP/1.1 400 Bad Request'\]$" "$T/raw.out"
check "Transfer-Encoding with Content-Length: 400, and the hidden GET never runs" \
  grep -Eq "^smuggle-te-cl \['HTTP/1.1 400 Bad Request'\]$" "$T/raw.out"
for shape in cl-cl te-cl cl-space-colon te-space-colon te-xchunked te-not-final te-twice cl-folded te-folded; do
  check "framing $shape: one 400, and the server closes the connection" \
    grep -Eq "^framing-$shape HTTP/1.1 400 Bad Request closed$" "$T/raw.out"
done
# libmicrohttpd refuses this one itself, before the handler (its 0.9.75
# writes the status and headers twice, then its HTML page): a 400 and a
# close all the same.
check "framing cl-words: 400 from libmicrohttpd, and the connection closed" \
  grep -Eq "^framing-cl-words HTTP/1.1 400 Bad Request(,HTTP/1.1 400 Bad Request)? closed$" "$T/raw.out"
check "the same Content-Length twice is one length: 200" \
  grep -Eq "^same-lengths \['HTTP/1.1 200 OK'\]$" "$T/raw.out"

# ---- still alive, data intact ----------------------------------------------------------------
check "server process alive" kill -0 $PID
check "healthz 200 at the end" test "$(req GET /healthz)" = 200
check "chat 200 at the end" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -d '{"message":"How long do I have to report defective boxes?"}')" = 200
check "the canary session is intact" bash -c "[ $(req GET /v1/sessions/canary "${A[@]}") = 200 ] && jq -e '(.turns|length)==4' '$T/b' >/dev/null"
check "documents intact" bash -c "[ $(req GET /v1/documents -H "Authorization: Bearer $INGEST") = 200 ] && jq -e '(.documents|length)>200' '$T/b' >/dev/null"
check "frontdesk docs still lists the documents" \
  bash -c "'$FD' docs --json 2>/dev/null | jq -e '(.documents|length)>200' >/dev/null"
check "no sanitizer report in the server log" bash -c "! grep -Eq 'AddressSanitizer|runtime error:|LeakSanitizer' '$T/serve.log'"
kill -TERM $PID
wait $PID
rc=$?
check "SIGTERM: exit 0 (no leak at exit; got $rc)" test "$rc" = 0
[ "$rc" = 0 ] || tail -n 30 "$T/serve.log" | sed 's/^/       /'
finish
