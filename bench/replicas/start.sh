#!/usr/bin/env bash
# start.sh: how long a replica takes to be ready (issue 16 target: <= 1 s),
# two builds side by side in one run:
#   bench/replicas/start.sh FRONTDESK_A FRONTDESK_B [ROUNDS] [DOCS]
# A knowledge base of DOCS synthetic documents (default 20000, 60 words
# each, one JSONL file) is ingested once into a PostgreSQL store and once
# into a SQLite data dir, by each build into stores of its own (so A and B
# may differ in schema and in how they keep the shared snapshot); then each
# build is started ROUNDS times (default
# 5, alternating A and B) on a data dir whose snapshot is already built,
# and on PostgreSQL also as a new replica (store "pgnew": an empty data
# dir, which fetches the snapshot the ingest shared through the store, or
# builds it), timed from exec to the first 200 from /readyz. Extra settings for
# A or B in A_ENV / B_ENV ("FRONTDESK_INDEX_SHARE_SNAPSHOTS=false": the
# same build, every new replica building its own index). PostgreSQL runs on
# 127.0.0.1 (tests/integration/pg.bash), stopped by PID.
# Out: one JSON line per build and store on stdout, with p50/min/max in ms.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/replicas/start.sh FRONTDESK_A FRONTDESK_B [ROUNDS] [DOCS]" >&2; exit 2; }
A=$(readlink -f "$1")
B=$(readlink -f "$2")
ROUNDS=${3:-5}
DOCS=${4:-20000}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
T=$(mktemp -d)
. "$ROOT/tests/integration/pg.bash"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  pg_stop 2> /dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

python3 - "$T/corpus.jsonl" "$DOCS" <<'PY'
import json, random, sys
random.seed(7)
words = [w.strip() for w in open("/usr/share/dict/words") if w.strip().isalpha()][:50000]
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"_id": f"d{i}", "title": f"Document {i}",
                            "text": " ".join(random.choice(words) for _ in range(60))}) + "\n")
PY

pg_start "$T" > /dev/null || { echo "bench: PostgreSQL did not start" >&2; exit 1; }
declare -A PGDB
for name in a b; do
  bin=$A
  [ $name = b ] && bin=$B
  PGDB[$name]=$(pg_createdb "start_bench_$name")
  FRONTDESK_STORE_URL=${PGDB[$name]} "$bin" --data "$T/pg-data-$name" --log-level warn \
    ingest "$T/corpus.jsonl" > /dev/null
  "$bin" --data "$T/sqlite-data-$name" --log-level warn ingest "$T/corpus.jsonl" > /dev/null
done

# start_ms BINARY DATA [STORE_URL]: exec to the first /readyz 200, in ms.
start_ms() {
  local bin=$1 data=$2 url=${3:-} envs=${4:-} port t0 t1
  port=$(pg_free_port)
  t0=$(date +%s%N)
  env $envs FRONTDESK_STORE_URL=$url "$bin" --data "$data" --log-level warn serve --port "$port" \
    > /dev/null 2> "$T/serve.log" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 3000); do
    if curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz" 2> /dev/null | grep -q 200; then
      break
    fi
    sleep 0.005
  done
  t1=$(date +%s%N)
  kill -TERM "$pid" 2> /dev/null || true
  for _ in $(seq 200); do kill -0 "$pid" 2> /dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2> /dev/null || true
  echo $(((t1 - t0) / 1000000))
}

declare -A RUNS
for _ in $(seq "$ROUNDS"); do
  for name in a b; do
    bin=$A envs=${A_ENV:-}
    [ $name = b ] && bin=$B envs=${B_ENV:-}
    RUNS[$name-sqlite]+="$(start_ms "$bin" "$T/sqlite-data-$name" "" "$envs") "
    RUNS[$name-pg]+="$(start_ms "$bin" "$T/pg-data-$name" "${PGDB[$name]}" "$envs") "
    # a new replica: an empty data dir, the snapshot fetched from the store
    rm -rf "$T/new-data"
    RUNS[$name-pgnew]+="$(start_ms "$bin" "$T/new-data" "${PGDB[$name]}" "$envs") "
  done
done
for key in a-sqlite b-sqlite a-pg b-pg a-pgnew b-pgnew; do
  bin=$A
  [ "${key%%-*}" = b ] && bin=$B
  python3 - "$key" "$bin" "$DOCS" ${RUNS[$key]} <<'PY'
import json, statistics, sys
key, binary, docs = sys.argv[1], sys.argv[2], int(sys.argv[3])
ms = [int(x) for x in sys.argv[4:]]
print(json.dumps({"build": key.split("-")[0], "binary": binary, "store": key.split("-")[1],
                  "docs": docs, "runs": len(ms), "ready_ms_p50": statistics.median(ms),
                  "ready_ms_min": min(ms), "ready_ms_max": max(ms)}))
PY
done
