#!/usr/bin/env bash
# http_jwt.sh: end-user tokens (X-User-Token, auth.jwt_*) through real HTTP:
# a valid HS256 token's sub becomes the session's user, an expired or forged
# one is 401 invalid_user_token, auth.jwt_required refuses chats without one,
# and a missing RS256 key file stops the server at start.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
CHAT=$("$FD" keys create --scope chat --name it --json | jq -r .key)
export FRONTDESK_AUTH_JWT_HS256_SECRET=it-secret-7f3a
PID=
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT

# start: serves on a free port with the current environment; sets PID and U.
start() {
  "$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
  PID=$!
  for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
  U="http://127.0.0.1:$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)"
}
stop() { kill -TERM "$PID"; wait "$PID" 2>/dev/null; PID=; }
# mint SECRET SUB EXP_FROM_NOW: an HS256 JWT
mint() {
  python3 - "$@" << 'EOF'
import base64, hashlib, hmac, json, sys, time
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
secret, sub, exp = sys.argv[1], sys.argv[2], int(sys.argv[3])
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": sub, "exp": int(time.time()) + exp}).encode())
sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(sig)}")
EOF
}
req() { local m=$1 p=$2; shift 2; curl -s -o "$T/b" -w '%{http_code}' -X "$m" "$U$p" "$@"; }
J=(-H 'Content-Type: application/json')
A=(-H "Authorization: Bearer $CHAT")
MSG='{"message":"How long do I have to report defective boxes?","user":"from-body"}'

check "config prints the HS256 secret masked" bash -c "'$FD' config | grep -q '^auth.jwt_hs256_secret *= \"\\*\\*\\*\"'"

start
GOOD=$(mint "$FRONTDESK_AUTH_JWT_HS256_SECRET" cust-1001 600)
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -H "X-User-Token: $GOOD" -d "$MSG")
SID=$(jq -r .session_id "$T/b")
check "valid token: 200" test "$s" = 200
check "the token's sub is the session's user (not the body's)" bash -c "[ $(req GET /v1/sessions/$SID "${A[@]}" -H "X-User-Token: $GOOD") = 200 ] && jq -e '.user==\"cust-1001\"' '$T/b' >/dev/null"
# Tenancy: the session belongs to the token's subject, whichever key carries it.
OTHER=$(mint "$FRONTDESK_AUTH_JWT_HS256_SECRET" cust-2002 600)
check "another subject, same key: GET 404" test "$(req GET /v1/sessions/$SID "${A[@]}" -H "X-User-Token: $OTHER")" = 404
check "the same key without the token: GET 404" test "$(req GET /v1/sessions/$SID "${A[@]}")" = 404
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -H "X-User-Token: $OTHER" -d "{\"message\":\"hi\",\"session_id\":\"$SID\"}")
check "another subject cannot post into it: 404" test "$s" = 404
check "the subject itself still can" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -H "X-User-Token: $GOOD" -d "{\"message\":\"thanks\",\"session_id\":\"$SID\"}")" = 200
s=$(req POST /v1/chat/completions "${J[@]}" "${A[@]}" -H "X-User-Token: $GOOD" -d '{"messages":[{"role":"user","content":"hi"}]}')
check "valid token on /v1/chat/completions: 200" test "$s" = 200
OLD=$(mint "$FRONTDESK_AUTH_JWT_HS256_SECRET" cust-1001 -120)
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -H "X-User-Token: $OLD" -d "$MSG")
check "expired token: 401 invalid_user_token, saying expired" bash -c "[ $s = 401 ] && jq -e '.error.code==\"invalid_user_token\" and (.error.message|test(\"expired\"))' '$T/b' >/dev/null"
BAD=$(mint wrong-secret cust-1001 600)
s=$(req POST /v1/chat/stream "${J[@]}" "${A[@]}" -H "X-User-Token: $BAD" -d "$MSG")
check "forged token on /v1/chat/stream: 401 bad signature" bash -c "[ $s = 401 ] && jq -e '.error.code==\"invalid_user_token\" and (.error.message|test(\"signature\"))' '$T/b' >/dev/null"
s=$(req POST /v1/chat/completions "${J[@]}" "${A[@]}" -H "X-User-Token: $BAD" -d '{"messages":[{"role":"user","content":"hi"}]}')
check "forged token on /v1/chat/completions: 401" bash -c "[ $s = 401 ] && jq -e '.error.code==\"invalid_user_token\"' '$T/b' >/dev/null"
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d "$MSG")
SID=$(jq -r .session_id "$T/b")
check "no token, not required: 200 with the body's user" bash -c "[ $s = 200 ] && [ $(req GET /v1/sessions/$SID "${A[@]}") = 200 ] && jq -e '.user==\"from-body\"' '$T/b' >/dev/null"
stop

FRONTDESK_AUTH_JWT_REQUIRED=true start
s=$(req POST /v1/chat "${J[@]}" "${A[@]}" -d "$MSG")
check "no token, required: 401 invalid_user_token" bash -c "[ $s = 401 ] && jq -e '.error.code==\"invalid_user_token\"' '$T/b' >/dev/null"
check "a valid token, required: 200" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -H "X-User-Token: $GOOD" -d "$MSG")" = 200
stop

# Without a method the header is ignored, even a broken token.
FRONTDESK_AUTH_JWT_HS256_SECRET= start
check "no method configured: X-User-Token ignored" test "$(req POST /v1/chat "${J[@]}" "${A[@]}" -H 'X-User-Token: junk' -d "$MSG")" = 200
stop

FRONTDESK_AUTH_JWT_RS256_PUBLIC_KEY_FILE="$T/missing.pem" "$FD" serve --port 0 > /dev/null 2> "$T/err" &
PID=$!
wait "$PID"
rc=$?
PID=
check "missing RS256 key file: start fails, naming the key" bash -c "[ $rc -ne 0 ] && grep -q 'auth.jwt_rs256_public_key_file' '$T/err' && grep -q 'missing.pem' '$T/err'"
finish
