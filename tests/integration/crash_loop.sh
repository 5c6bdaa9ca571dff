#!/usr/bin/env bash
# crash_loop.sh: 20 SIGKILLs under load (issue 17: "0 acknowledged turns,
# uploads or orders lost over 20 SIGKILLs under load"). Four clients chat
# in sessions and two take orders end to end while the server is killed -9
# at random moments and restarted on the same port. Afterwards every turn
# and every order the server acknowledged (a 200 with the reply) must be in
# the store, the store must pass PRAGMA integrity_check, and no order may
# exist twice. Bounded: 20 kills, about 30 s, all on 127.0.0.1.
. "$(dirname "$0")/lib.bash"

EX=${FD_SOURCE_DIR:?}/examples/packaging-supplier
"$FD" ingest "$EX" > /dev/null 2>&1 || { fail "ingest"; finish; }
KEY=$("$FD" keys create --scope chat --name load --json | jq -r .key)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export FRONTDESK_LIMITS_SESSION_PER_MIN=100000 FRONTDESK_LIMITS_KEY_PER_MIN=1000000 \
  FRONTDESK_LIMITS_IP_PER_MIN=1000000 FRONTDESK_LIMITS_GLOBAL_PER_MIN=1000000 \
  FRONTDESK_DIALOG_NOW=2026-12-09T10:00
PID=
CPID=
trap 'kill -9 $PID $CPID 2>/dev/null; rm -rf "$T"' EXIT
start() {
  "$FD" serve --port "$PORT" > "$T/serve.out" 2>> "$T/serve.log" &
  PID=$!
  for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && return; sleep 0.02; done
}

cat > "$T/client.py" <<'PY'
import http.client, json, random, sys, threading, time
port, key, out, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
lock = threading.Lock()
acks = open(out, "a")

def post(msg, sid):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("POST", "/v1/chat", json.dumps({"message": msg, "session_id": sid}),
              {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, (json.loads(body) if r.status == 200 else None)

def done():
    try:
        open(stop).close()
        return True
    except OSError:
        return False

def chatter(n):
    i = 0
    while not done():
        sid = "chat-%d-%d" % (n, i // 5)
        msg = random.choice(["how long do I have to report defective boxes?",
                             "do you deliver on saturdays?", "what is the minimum order?",
                             "how much is delivery?"]) + " #%d-%d" % (n, i)
        try:
            s, rep = post(msg, sid)
        except Exception:
            time.sleep(0.05)
            continue
        if s == 200:
            with lock:
                acks.write("turn\t%s\t%s\n" % (sid, msg))
                acks.flush()
        i += 1

def orderer(n):
    k = 0
    steps = ["I want to order 2 packs of PB-1201", "kopi corner", "friday", "yes"]
    while not done():
        sid = "order-%d-%d" % (n, k)
        j = 0
        while j < len(steps) and not done():
            try:
                s, rep = post(steps[j], sid)
            except Exception:
                time.sleep(0.05)
                continue
            if s != 200:
                time.sleep(0.05)
                continue
            with lock:
                acks.write("turn\t%s\t%s\n" % (sid, steps[j]))
                o = rep.get("order") or {}
                if o.get("id"):
                    acks.write("order\t%s\t%s\n" % (sid, o["id"]))
                acks.flush()
            j += 1
        k += 1

ts = [threading.Thread(target=chatter, args=(i,)) for i in range(4)]
ts += [threading.Thread(target=orderer, args=(i,)) for i in range(2)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY

start
python3 "$T/client.py" "$PORT" "$KEY" "$T/acks" "$T/stop" &
CPID=$!
for k in $(seq 20); do
  sleep "0.$((RANDOM % 7 + 3))"
  kill -9 $PID
  wait $PID 2>/dev/null
  start
done
sleep 0.5
touch "$T/stop"
wait $CPID 2>/dev/null
kill $PID 2>/dev/null
wait $PID 2>/dev/null

DB="$FRONTDESK_DATA_DIR/frontdesk.db"
NT=$(grep -c '^turn' "$T/acks")
NO=$(grep -c '^order' "$T/acks")
check "load ran through the kills ($NT turns, $NO orders acknowledged)" test "$NT" -gt 100
check "orders were placed through the kills" test "$NO" -gt 0
check "the store passes integrity_check" test "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok
python3 - "$DB" "$T/acks" > "$T/verify" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
lost_t = lost_o = 0
for line in open(sys.argv[2]):
    kind, sid, what = line.rstrip("\n").split("\t")
    if kind == "turn":
        n = db.execute("SELECT count(*) FROM turns WHERE session_id=? AND role='user' AND text=?",
                       (sid, what)).fetchone()[0]
        lost_t += n < 1
    else:
        n = db.execute("SELECT count(*) FROM orders WHERE ref=? AND session_id=?", (what, sid)).fetchone()[0]
        lost_o += n != 1
dup = db.execute("SELECT count(*) FROM (SELECT session_id FROM orders GROUP BY session_id HAVING count(*) > 1)").fetchone()[0]
print(lost_t, lost_o, dup)
PY
read -r LT LO DUP < "$T/verify"
check "0 acknowledged turns lost (lost: $LT)" test "$LT" = 0
check "0 acknowledged orders lost (lost: $LO)" test "$LO" = 0
check "no session has two orders (duplicates: $DUP)" test "$DUP" = 0
echo "crash loop: 20 SIGKILLs, $NT turns and $NO orders acknowledged, $LT and $LO lost"
finish
