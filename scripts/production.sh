#!/usr/bin/env bash
# The production topology on one machine: PostgreSQL, gunicorn serving app:create_app() with several workers,
# and delivery workers (`flask pixelplus worker`) beside it; the web processes never send (PIXELPLUS_DISPATCH=worker).
#
#   FLASK_SQLALCHEMY_DATABASE_URI=postgresql+psycopg://… scripts/production.sh
#
# Without FLASK_SQLALCHEMY_DATABASE_URI a throwaway PostgreSQL server on loopback is started (.ci/postgres.sh) and
# the demo data is loaded into it. Settings: HOST, PORT (default 127.0.0.1:8000), WEB_WORKERS (2),
# DELIVERY_WORKERS (2). Ctrl-C or SIGTERM stops every process; delivery workers finish their batch first.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
WEB_WORKERS=${WEB_WORKERS:-2}
DELIVERY_WORKERS=${DELIVERY_WORKERS:-2}
export FLASK_PIXELPLUS_DISPATCH=worker

pids=()
throwaway=""
stop() {
  trap - INT TERM EXIT
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "$throwaway" ] && bash .ci/postgres.sh stop
}
trap stop INT TERM EXIT

if [ -z "${FLASK_SQLALCHEMY_DATABASE_URI:-}" ]; then
  export PIXELPLUS_PG_STATE=/tmp/pixelplus-production-pg.state
  FLASK_SQLALCHEMY_DATABASE_URI=$(bash .ci/postgres.sh start)
  export FLASK_SQLALCHEMY_DATABASE_URI
  throwaway=1
  echo "throwaway PostgreSQL: $FLASK_SQLALCHEMY_DATABASE_URI"
  # The demo's Meta settings point at the embedded sandbox of this very server.
  FLASK_PIXELPLUS_DEMO_GRAPH_URL="http://$HOST:$PORT/sandbox/graph" $BIN/flask --app app shop init-demo
else
  $BIN/flask --app app db upgrade
fi

$BIN/gunicorn --workers "$WEB_WORKERS" --bind "$HOST:$PORT" --access-logfile - 'app:create_app()' &
pids+=($!)
for _ in $(seq "$DELIVERY_WORKERS"); do
  $BIN/flask --app app pixelplus worker &
  pids+=($!)
done
# Received refund postbacks and Stripe events are only queued by the web processes: one worker processes them.
$BIN/flask --app app postbacks worker &
pids+=($!)
echo "serving http://$HOST:$PORT with $WEB_WORKERS web, $DELIVERY_WORKERS delivery and 1 postbacks workers (Ctrl-C stops)"
wait -n "${pids[@]}"
