#!/usr/bin/env bash
# on_pg.sh: the store's unit tests again, on PostgreSQL: starts a
# throwaway server (tests/integration/pg.bash), points FD_TEST_PG_URL at
# it and runs every store test program given, each database fresh.
# usage: on_pg.sh TEST_PROGRAM...
set -u
. "$(dirname "$0")/../integration/pg.bash"
T=$(mktemp -d)
trap 'pg_stop; rm -rf "$T"' EXIT
pg_start "$T" || exit 1
export FD_TEST_PG_URL=$PG_URL
rc=0
for t in "$@"; do
  echo "== $(basename "$t") on PostgreSQL"
  "$t" || rc=1
done
exit $rc
