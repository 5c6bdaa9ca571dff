#!/usr/bin/env bash
# web.sh: the embedded chat page and operator console (/, /console,
# /static/*: types, security headers, ETag and 304, no inline scripts, no
# innerHTML; their scripts driven under node when it is installed), then
# widget mode: keyless chat from allowed origins only, other scopes still
# need a key, per-IP limits.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
WEB=$FD_SOURCE_DIR/web
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
CHAT=$("$FD" keys create --scope chat --name it --json | jq -r .key)
OPER=$("$FD" keys create --scope chat,operator --name ana --json | jq -r .key)
PID=
trap 'if [ -n "$PID" ]; then kill -9 $PID 2>/dev/null; fi; rm -rf "$T"' EXIT

# serve: (re)starts the server with the environment given as arguments.
serve() {
  if [ -n "$PID" ]; then kill -TERM $PID; wait $PID; fi
  rm -f "$T/serve.out"
  env "$@" "$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
  PID=$!
  for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
  PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
  U="http://127.0.0.1:$PORT"
}
# req METHOD PATH [curl args...]: body to $T/b, status on stdout, headers to $T/h
req() { local m=$1 p=$2; shift 2; rm -f "$T/b"; curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
hdr() { grep -i "^$1: " "$T/h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
J=(-H 'Content-Type: application/json')

# ---- the JavaScript never builds markup from text -----------------------------------
check "no innerHTML, outerHTML, insertAdjacentHTML or document.write in web/*.js" \
  bash -c "! grep -nE 'innerHTML|outerHTML|insertAdjacentHTML|document\.write' '$WEB'/*.js"
check "no inline event handlers in web/*.html (CSP blocks them)" bash -c "! grep -niE '<[^>]+ on[a-z]+=' '$WEB'/*.html"

serve

# ---- pages and assets ---------------------------------------------------------------
check "GET / is 200 text/html" bash -c "[ $(req GET /) = 200 ] && grep -qi '^Content-Type: text/html' '$T/h'"
check "the page has the chat markup" bash -c "grep -q 'id=\"messages\"' '$T/b' && grep -q 'id=\"input\"' '$T/b' && grep -q 'id=\"send\"' '$T/b'"
check "the page loads /static/chat.js" grep -q '<script src="/static/chat.js"></script>' "$T/b"
check "no inline <script> bodies" bash -c "! grep -qiE '<script>|<script[^>]*>[^<]' '$T/b'"
check "security headers on pages" bash -c "grep -qi '^X-Content-Type-Options: nosniff' '$T/h' && grep -qi \"^Content-Security-Policy: default-src 'self'; script-src 'self'\" '$T/h' && grep -qi '^X-Frame-Options: DENY' '$T/h' && grep -qi '^Referrer-Policy: no-referrer' '$T/h' && grep -qi '^X-Request-Id: ' '$T/h'"
check "the page is served byte for byte from web/index.html" cmp -s "$T/b" "$WEB/index.html"
check "GET /console is the operator console" bash -c "[ $(req GET /console) = 200 ] && grep -qi '^Content-Type: text/html' '$T/h' && grep -q '/static/console.js' '$T/b' && ! grep -qiE '<script>|<script[^>]*>[^<]' '$T/b'"
for a in chat.js:text/javascript console.js:text/javascript style.css:text/css; do
  f=${a%%:*}; ty=${a#*:}
  check "/static/$f: 200 $ty, same bytes, cacheable" bash -c "[ $(req GET /static/$f) = 200 ] && grep -qi '^Content-Type: $ty' '$T/h' && cmp -s '$T/b' '$WEB/$f' && grep -qi '^Cache-Control: public, max-age=300' '$T/h' && grep -qi '^X-Content-Type-Options: nosniff' '$T/h'"
done
s=$(curl -s -o /dev/null -D "$T/h" -w '%{http_code}' -I "$U/static/style.css")
check "HEAD /static/style.css: 200 with the length" bash -c "[ $s = 200 ] && grep -qi '^Content-Length: $(wc -c < "$WEB/style.css")' '$T/h'"
req GET /static/chat.js > /dev/null
ETAG=$(hdr ETag)
check "ETag is a quoted hash ($ETAG)" bash -c 'echo "$0" | grep -qE "^\"[0-9a-f]{16,}\"$"' "$ETAG"
s=$(req GET /static/chat.js -H "If-None-Match: $ETAG")
check "If-None-Match with the ETag: 304, no body" bash -c "[ $s = 304 ] && [ ! -s '$T/b' ] && grep -qiF 'ETag: $ETAG' '$T/h'"
check "304 keeps the security headers" bash -c "grep -qi '^X-Content-Type-Options: nosniff' '$T/h' && grep -qi '^Content-Security-Policy' '$T/h'"
check "a weak tag in a list matches too" test "$(req GET /static/chat.js -H "If-None-Match: \"nope\", W/$ETAG")" = 304
check "another tag: 200" test "$(req GET /static/chat.js -H 'If-None-Match: "0000"')" = 200
check "each asset has its own ETag" bash -c "[ '$(req GET /static/style.css >/dev/null; hdr ETag)' != '$ETAG' ]"
check "POST / is 405 with Allow: GET, HEAD" bash -c "[ $(req POST /) = 405 ] && grep -qi '^Allow: GET, HEAD' '$T/h'"
check "unknown static file: 404" test "$(req GET /static/nope.js)" = 404
check "no path traversal" test "$(req GET /static/../CMakeLists.txt --path-as-is)" = 404

# ---- the pages' scripts, run under node with a stub DOM (no browser in CI) ---------------
if command -v node > /dev/null; then
  for f in chat.js console.js; do check "web/$f parses" node --check "$WEB/$f"; done
  check "chat.js speaks the SSE contract (fake server)" node "$FD_SOURCE_DIR/tests/web/test_chat.js" "$WEB/chat.js"
  check "widget.js: one tag, a launcher, the chat framed on demand" node "$FD_SOURCE_DIR/tests/web/test_widget.js" "$WEB/widget.js"
  check "chat page and console against this server" \
    env URL="$U" CHAT="$CHAT" OPER="$OPER" node "$FD_SOURCE_DIR/tests/web/test_live.js" "$WEB"
else
  echo "skip - node is not installed: the pages' scripts were not run"
fi

# ---- without widget mode nothing changes: chat needs a key -----------------------------------
check "no widget mode: keyless chat is 401, even from an allowed origin" \
  test "$(req POST /v1/chat "${J[@]}" -H 'Origin: https://shop.example' -d '{"message":"hi"}')" = 401

# ---- widget mode --------------------------------------------------------------------------------
serve FRONTDESK_SERVER_WIDGET_MODE=true FRONTDESK_SERVER_CORS_ORIGINS=https://shop.example \
  FRONTDESK_LIMITS_IP_PER_MIN=5
VIS=(-H 'X-Visitor-Token: visitor-one-0123456789abcdef')
SHOP=(-H 'Origin: https://shop.example' "${VIS[@]}")
s=$(req POST /v1/chat "${J[@]}" -H 'Origin: https://shop.example' -d '{"message":"hi"}')
check "widget: keyless chat without a visitor token is 401 visitor_token_required" bash -c "[ $s = 401 ] && jq -e '.error.code==\"visitor_token_required\"' '$T/b' >/dev/null"
s=$(req POST /v1/chat "${J[@]}" "${SHOP[@]}" -d '{"message":"How long do I have to report defective boxes?"}')
check "widget: keyless chat from an allowed origin is 200" bash -c "[ $s = 200 ] && jq -e '.answer|length>0' '$T/b' >/dev/null"
check "widget: Access-Control-Allow-Origin echoes it" test "$(hdr Access-Control-Allow-Origin)" = https://shop.example
SID=$(jq -r .session_id "$T/b")
check "widget: another origin is 403 origin_not_allowed" bash -c "[ $(req POST /v1/chat "${J[@]}" -H 'Origin: https://evil.example' -d '{"message":"hi"}') = 403 ] && jq -e '.error.code==\"origin_not_allowed\"' '$T/b' >/dev/null && ! grep -qi '^Access-Control-Allow-Origin' '$T/h'"
check "widget: no Origin at all is 403" test "$(req POST /v1/chat "${J[@]}" -d '{"message":"hi"}')" = 403
check "widget: the server's own page (Origin = http://Host) is allowed" \
  test "$(req GET "/v1/sessions/$SID" -H "Origin: http://127.0.0.1:$PORT" "${VIS[@]}")" = 200
check "widget: a same-origin GET without Origin (EventSource, ?visitor_token=) is allowed" \
  test "$(req GET "/v1/sessions/$SID?visitor_token=visitor-one-0123456789abcdef" -H 'Sec-Fetch-Site: same-origin')" = 200
check "widget: another visitor cannot read it (404, not 403)" \
  test "$(req GET "/v1/sessions/$SID" -H "Origin: http://127.0.0.1:$PORT" -H 'X-Visitor-Token: visitor-two-0123456789abcdef')" = 404
check "widget: nor post into it" \
  test "$(req POST /v1/chat "${J[@]}" -H 'Origin: https://shop.example' -H 'X-Visitor-Token: visitor-two-0123456789abcdef' -d "{\"message\":\"hi\",\"session_id\":\"$SID\"}")" = 404
check "widget: nor follow its events" \
  test "$(req GET "/v1/sessions/$SID/events" -H "Origin: http://127.0.0.1:$PORT" -H 'X-Visitor-Token: visitor-two-0123456789abcdef')" = 404
check "widget: a chat key cannot read the visitor's session either" \
  test "$(req GET "/v1/sessions/$SID" -H "Authorization: Bearer $CHAT")" = 404
check "widget: a cross-site GET without Origin is not" \
  test "$(req GET "/v1/sessions/$SID" -H 'Sec-Fetch-Site: cross-site')" = 403
check "widget: handoffs without a key are still 401" bash -c "[ $(req GET /v1/handoffs "${SHOP[@]}") = 401 ] && jq -e '.error.code==\"unauthorized\"' '$T/b' >/dev/null"
check "widget: documents without a key are still 401" test "$(req GET /v1/documents "${SHOP[@]}")" = 401
check "widget: a key still works from anywhere" \
  test "$(req POST /v1/chat "${J[@]}" -H "Authorization: Bearer $CHAT" -H 'Origin: https://evil.example' -d '{"message":"hi"}')" = 200
check "widget: a bad key is 401, not a keyless pass" \
  test "$(req POST /v1/chat "${J[@]}" "${SHOP[@]}" -H 'Authorization: Bearer fdk_nope' -d '{"message":"hi"}')" = 401
check "widget: CORS preflight from the allowed origin" bash -c "[ $(req OPTIONS /v1/chat "${SHOP[@]}" -H 'Access-Control-Request-Method: POST') = 204 ] && grep -qi '^Access-Control-Allow-Origin: https://shop.example' '$T/h'"

# ---- per-IP limit on keyless chats: 10 rapid ones against 5/min --------------------------------------
n429=0; nra=0
for _ in $(seq 10); do
  s=$(req POST /v1/chat "${J[@]}" "${SHOP[@]}" -d '{"message":"hello"}')
  if [ "$s" = 429 ]; then n429=$((n429 + 1)); grep -qi '^Retry-After: [1-9]' "$T/h" && nra=$((nra + 1)); fi
done
check "10 keyless chats against 5/min: $n429 refused (>= 5)" test "$n429" -ge 5
check "every 429 carries Retry-After ($nra)" test "$nra" = "$n429"
check "429 names the ip scope" bash -c "jq -e '.error.code==\"rate_limited\" and (.error.message|test(\"ip\"))' '$T/b' >/dev/null"
check "keyed chats are not held by the per-IP limit" \
  test "$(req POST /v1/chat "${J[@]}" -H "Authorization: Bearer $CHAT" -d '{"message":"hello"}')" = 200

# ---- pages still served in widget mode, without a key ---------------------------------------
check "widget: / is served without a key" test "$(req GET /)" = 200
check "widget: the chat page may be framed by the allowed sites (CSP frame-ancestors), not others" \
  bash -c "grep -qi \"^Content-Security-Policy: .*frame-ancestors 'self' https://shop.example\" '$T/h' && ! grep -qi '^X-Frame-Options' '$T/h'"
req GET /console > /dev/null
check "widget: the console is never framed" bash -c "grep -qi '^X-Frame-Options: DENY' '$T/h' && grep -qi \"frame-ancestors 'none'\" '$T/h'"
s=$(req GET /widget.js)
check "widget: /widget.js, the one tag for a company's site" \
  bash -c "[ $s = 200 ] && grep -qi '^Content-Type: text/javascript' '$T/h' && grep -q 'data-frontdesk' '$T/b'"
check "no 404 for /favicon.ico" test "$(req GET /favicon.ico)" = 204

kill -TERM $PID
wait $PID; rc=$?
PID=
check "SIGTERM: exit 0" test "$rc" = 0
finish
