#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the second test pass (Debian's postgresql package).
#   .ci/postgres.sh start   start one, print its URL (postgresql+psycopg://postgres@127.0.0.1:PORT/shop_test)
#   .ci/postgres.sh createdb NAME   add an empty database to the running server, print its URL
#   .ci/postgres.sh stop    stop it and delete its files
# The cluster lives in a temporary directory recorded in $PIXELPLUS_PG_STATE (default /tmp/pixelplus-pg.state),
# trusts connections from 127.0.0.1 only, and runs without fsync: it holds nothing worth keeping.
set -euo pipefail
state=${PIXELPLUS_PG_STATE:-/tmp/pixelplus-pg.state}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ]; then
  echo "PostgreSQL is not installed (Debian package postgresql)" >&2
  exit 1
fi

as_owner() {
  # PostgreSQL refuses to run as root: use the postgres account the Debian package creates.
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local dir port
  dir=$(mktemp -d /tmp/pixelplus-pg.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start -o \
    "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres shop_test
  echo "$dir" >"$state"
  echo "$port" >"$dir/port"
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/shop_test"
}

createdb() {
  local dir port
  dir=$(cat "$state")
  port=$(cat "$dir/port")
  as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$1"
  echo "postgresql+psycopg://postgres@127.0.0.1:$port/$1"
}

stop() {
  [ -f "$state" ] || exit 0
  local dir
  dir=$(cat "$state")
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir" "$state"
}

case "${1:-}" in
  start) start ;;
  createdb) createdb "${2:?database name}" ;;
  stop) stop ;;
  *) echo "usage: $0 start|createdb NAME|stop" >&2; exit 2 ;;
esac
