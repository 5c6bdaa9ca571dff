#!/usr/bin/env bash
# browser.sh: the chat page, the operator console and the one-tag widget in
# a real browser (issue 14): Debian's Chromium (scripts/deps.sh --test)
# driven by playwright-core, with axe-core for accessibility
# (tests/integration/browser/test.mjs). A customer conversation with
# sources, the hand-over round trip (the agent's console is open before the
# customer asks for a person: the conversation arrives by the live queue
# stream, no reload, no poll, notified, unread and waiting; the agent
# claims, the customer keeps typing and sees "An agent is typing", the
# reply shows without a reload; a canned reply by "/deliv" + Tab and by a
# click; an internal note the customer never sees; a second console whose
# stream fails polls, then goes live; the agent signs in with a name and
# password, a second console with an API key; resolve, the bot answers again, a
# reload keeps it all), a phone
# viewport, French, and the widget embedded on a page of another origin.
# Screenshots are kept in the build tree (FD_BROWSER_SHOTS, else
# $T/shots). npm packages are cached in FD_NPM_CACHE as for openai_client.
. "$(dirname "$0")/lib.bash"

SRC=$(cd "$(dirname "$0")/browser" && pwd)
EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
CHROMIUM=${FD_CHROMIUM:-/usr/lib/chromium/chromium}

# Missing tools fail the test: a silent pass would leave the pages untested.
for tool in node npm python3; do
  command -v "$tool" > /dev/null || { fail "$tool is not installed: run scripts/deps.sh --test"; finish; }
done
[ -x "$CHROMIUM" ] || { fail "no Chromium at $CHROMIUM: run scripts/deps.sh --test (package chromium)"; finish; }

mkdir -p "$T/browser"
cp "$SRC/package.json" "$SRC/package-lock.json" "$SRC/test.mjs" "$T/browser/"
export NPM_CONFIG_CACHE=${FD_NPM_CACHE:-$T/npm-cache}
export NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_LOGLEVEL=error
if ! (cd "$T/browser" && npm ci --no-audit --no-fund --prefer-offline > "$T/npm.log" 2>&1); then
  sed 's/^/       /' "$T/npm.log" | tail -n 20
  fail "npm ci of playwright-core and axe-core (registry unreachable and no cache in $NPM_CONFIG_CACHE?)"
  finish
fi

"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
OPER=$("$FD" keys create --scope chat,operator --name Ana --json | jq -r .key)
echo 'ana-console-pw' | "$FD" agents add ana --display-name 'Ana Lim' > /dev/null
echo 'ben-console-pw' | "$FD" agents add ben --display-name 'Ben Ong' > /dev/null

# The shop: another origin (another port) serving one page with the tag.
SHOP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$T/shop"
SHOP="http://127.0.0.1:$SHOP_PORT"

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
FRONTDESK_SERVER_WIDGET_MODE=true FRONTDESK_SERVER_CORS_ORIGINS=$SHOP FRONTDESK_WIDGET_COLOR='#0b5cad' \
  "$FD" serve --port 0 > "$T/serve.out" 2> "$T/serve.log" &
PIDS+=($!)
for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
U="http://127.0.0.1:$PORT"
cat > "$T/shop/index.html" <<HTML
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A shop</title></head>
<body><h1>Harbour Pack shop</h1><p>Our products.</p>
<script src="$U/widget.js" async data-title="Ask us" data-color="#0b5cad"></script>
</body></html>
HTML
(cd "$T/shop" && exec python3 -m http.server "$SHOP_PORT" --bind 127.0.0.1 > "$T/shop.log" 2>&1) &
PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "$SHOP/" && break; sleep 0.05; done

SHOTS=${FD_BROWSER_SHOTS:-$T/shots}
mkdir -p "$SHOTS"
# Bounded: a hung browser fails the test, it does not hold CI.
timeout 180 node "$T/browser/test.mjs" "$U" "$SHOP/" "$OPER" "$SHOTS" "$CHROMIUM" ana ana-console-pw > "$T/run.out" 2>&1
rc=$?
grep -E '^(ok|FAIL|#) ' "$T/run.out"
FAILS=$(grep -c '^FAIL ' "$T/run.out")
if [ $rc != 0 ] && [ "$FAILS" = 0 ]; then
  tail -n 20 "$T/run.out" | sed 's/^/       /'
  fail "the browser run stopped (exit $rc)"
fi
check "screenshots kept ($(ls "$SHOTS" | wc -l) in $SHOTS)" test "$(ls "$SHOTS" | wc -l)" -ge 5
finish
