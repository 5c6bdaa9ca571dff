#!/usr/bin/env bash
# http_connections.sh: connection floods (issue 17 item 5). A per-address
# cap (server.max_connections_per_ip) refuses the connections past it and
# no others; under a small open-file limit the server holds at most what
# the limit allows (less a reserve) and keeps answering once the flood
# goes, instead of failing accept() for everyone. Bounded: 300 sockets.
# (Past the budget the kernel's listen backlog still completes handshakes,
# so the client side cannot count what the server holds.)
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
PID=
trap 'kill -9 $PID 2>/dev/null; rm -rf "$T"' EXIT
start() {
  "$@" > "$T/serve.out" 2> "$T/serve.log" &
  PID=$!
  for _ in $(seq 200); do grep -q 'http://' "$T/serve.out" 2>/dev/null && break; sleep 0.05; done
  PORT=$(grep -o ':[0-9]*$' "$T/serve.out" | tr -d :)
}
stop() { kill -TERM "$PID"; wait "$PID"; local rc=$?; PID=; return $rc; }

# flood N: holds N idle connections, then asks /healthz on a new one;
# prints "held=<accepted and still open> health=<status line or 'refused'>".
flood() {
  python3 - "$PORT" "$1" << 'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(n):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=2))
    except OSError:
        break
time.sleep(0.5)
alive = 0
for s in held:
    s.setblocking(False)
    try:
        alive += s.recv(1) != b""   # closed by the server: b""
    except BlockingIOError:
        alive += 1                   # still open, nothing to read
    except OSError:
        pass
def health():
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        line = s.recv(200).split(b"\r\n")[0].decode()
        s.close()
        return line or "refused"
    except OSError:
        return "refused"
during = health()
for s in held:
    s.close()
time.sleep(0.3)
print(f"held={alive} during={during.replace(' ', '_')} after={health().replace(' ', '_')}")
PY
}

start env FRONTDESK_SERVER_MAX_CONNECTIONS_PER_IP=8 "$FD" serve --port 0
out=$(flood 20); echo "       per-ip cap 8, 20 tries: $out"
check "per-address cap: at most 8 held" bash -c "[[ '$out' =~ held=([0-9]+) ]] && [ \${BASH_REMATCH[1]} -le 8 ] && [ \${BASH_REMATCH[1]} -ge 6 ]"
check "per-address cap: a 9th from the same address is refused while they stay" bash -c "[[ '$out' == *during=refused* ]]"
check "per-address cap: served again once they go" bash -c "[[ '$out' == *after=HTTP/1.1_200_OK* ]]"
check "per-address cap server: exit 0" stop

start bash -c "ulimit -n 200; exec '$FD' serve --port 0"
check "a small open-file limit is said at start" grep -q 'open-file limit 200: at most 136 connections' "$T/serve.log"
out=$(flood 300); echo "       nofile 200, 300 tries: $out"
check "open-file budget: served again once the flood goes" bash -c "[[ '$out' == *after=HTTP/1.1_200_OK* ]]"
check "the server is alive" kill -0 "$PID"
check "budget server: exit 0" stop
finish
