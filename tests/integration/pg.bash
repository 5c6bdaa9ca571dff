# pg.bash: a throwaway PostgreSQL 15 server for a test, on 127.0.0.1 on a
# free port, in a temp dir, stopped by PID. Source it, then:
#   pg_start DIR        # sets PG_URL (admin URL, database "postgres"), PG_PID
#   pg_createdb NAME    # prints a URL for a new empty database
#   pg_stop / pg_kill   # fast shutdown / SIGKILL of the postmaster
# The server refuses to run as root: as root it runs as the "postgres"
# user the Debian package creates. fsync is off: tests check behaviour,
# not the disk (PG_DURABLE=1 turns it on, for benchmarks).
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1)}
PG_URL= PG_PID= PG_DIR= PG_PORT=

pg_as() { # runs a command as the server's user
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pg_start() {
  [ -x "$PG_BIN/initdb" ] || { echo "pg.bash: PostgreSQL not found (scripts/deps.sh installs it)" >&2; return 1; }
  PG_DIR=$1/pg
  mkdir -p "$PG_DIR"
  # The server's user must reach its directory through the (0700) temp dir.
  [ "$(id -u)" = 0 ] && chmod o+x "$1" && chown postgres "$PG_DIR" && chmod 700 "$PG_DIR"
  [ -d "$PG_DIR/data" ] || pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U frontdesk -A trust \
    --locale=C.UTF-8 -E UTF8 > "$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; return 1; }
  pg_run
}

pg_run() { # (re)starts the server of pg_start's data dir, on the same port
  [ -n "$PG_PORT" ] || PG_PORT=$(pg_free_port)
  local fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ -n "${PG_DURABLE:-}" ] && fast="" # benchmarks: every commit flushed, as in production
  # shellcheck disable=SC2086
  # PG_CPUS=LIST pins the server to those CPUs (benchmarks: the store on
  # cores of its own, as on a database machine).
  pg_as ${PG_CPUS:+taskset -c "$PG_CPUS"} "$PG_BIN/postgres" -D "$PG_DIR/data" -c listen_addresses=127.0.0.1 -c port="$PG_PORT" \
    -c unix_socket_directories="$PG_DIR" $fast -c max_connections=200 ${PG_EXTRA:-} \
    >> "$PG_DIR/server.log" 2>&1 &
  local launcher=$!
  PG_URL="postgresql://frontdesk@127.0.0.1:$PG_PORT/postgres"
  for _ in $(seq 200); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
      # As root, $! is runuser's PID: the postmaster's own is in its pid file.
      PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
      return 0
    fi
    kill -0 "$launcher" 2> /dev/null || break
    sleep 0.05
  done
  echo "pg.bash: PostgreSQL did not start:" >&2
  tail -20 "$PG_DIR/server.log" >&2
  return 1
}

pg_createdb() {
  psql -q -X "$PG_URL" -c "CREATE DATABASE \"$1\"" > /dev/null || return 1
  echo "postgresql://frontdesk@127.0.0.1:$PG_PORT/$1"
}

pg_stop() {
  [ -n "$PG_PID" ] || return 0
  kill -INT "$PG_PID" 2> /dev/null
  for _ in $(seq 200); do kill -0 "$PG_PID" 2> /dev/null || break; sleep 0.05; done
  kill -9 "$PG_PID" 2> /dev/null
  PG_PID=
  wait 2> /dev/null
}

pg_kill() {
  [ -n "$PG_PID" ] || return 0
  kill -9 "$PG_PID" 2> /dev/null
  # The postmaster's children notice it is gone and exit by themselves.
  for _ in $(seq 100); do pgrep -f "postgres.*$PG_DIR" > /dev/null || break; sleep 0.05; done
  PG_PID=
}
