#!/usr/bin/env bash
# Throwaway PostgreSQL + PostGIS cluster for the store tests.
#
#   eval "$(.ci/postgis.sh start)"   # installs if needed, starts, exports QAUIPSIZ_TEST_PG_URL
#   source .ci/postgis.sh            # the same, setting QAUIPSIZ_TEST_PG_URL in the calling shell
#   .ci/postgis.sh url               # prints the URL of the running cluster
#   .ci/postgis.sh stop              # stops the cluster and deletes its data directory
#
# Installs Debian's `postgresql` and `postgresql-<major>-postgis-3` with apt-get when PostgreSQL
# or the PostGIS extension is missing (needs root).  The cluster listens on 127.0.0.1 only
# (port $QAUIPSIZ_PG_PORT, default 55432), trusts local connections, and lives in
# $QAUIPSIZ_PG_DIR (default /tmp/qauipsiz-pg).  Logs go to stderr; stdout carries only the
# `export QAUIPSIZ_TEST_PG_URL=...` line, so `eval "$(...)"` is safe.
set -euo pipefail

PORT="${QAUIPSIZ_PG_PORT:-55432}"
DIR="${QAUIPSIZ_PG_DIR:-/tmp/qauipsiz-pg}"
DB="${QAUIPSIZ_PG_DB:-qauipsiz_test}"
PGUSER_NAME="postgres"
log() { echo "[postgis.sh] $*" >&2; }

pg_bindir() {
  local major
  major="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$major" ] && echo "/usr/lib/postgresql/$major/bin"
}

install_if_missing() {
  local bin major
  bin="$(pg_bindir || true)"
  major="$(basename "$(dirname "${bin:-/x/x}")")"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || ! ls /usr/share/postgresql/"$major"/extension/postgis.control >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      log "PostgreSQL/PostGIS missing and not root: install 'postgresql' and 'postgresql-<major>-postgis-3'"; exit 1
    fi
    log "installing postgresql + postgis from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -q --no-install-recommends postgresql >&2
    bin="$(pg_bindir)"
    major="$(basename "$(dirname "$bin")")"
    apt-get install -y -q --no-install-recommends "postgresql-${major}-postgis-3" "postgresql-${major}-postgis-3-scripts" >&2
  fi
}

as_owner() {  # run a command as the cluster owner (initdb refuses to run as root)
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

url() { echo "postgresql+psycopg2://${PGUSER_NAME}@127.0.0.1:${PORT}/${DB}"; }

start() {
  install_if_missing
  local bin; bin="$(pg_bindir)"
  if [ "$(id -u)" != 0 ]; then PGUSER_NAME="$(id -un)"; fi
  if [ ! -f "$DIR/PG_VERSION" ]; then
    mkdir -p "$DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
    log "initdb $DIR"
    as_owner "$bin/initdb" -D "$DIR" -U "$PGUSER_NAME" -A trust -E UTF8 --locale=C.UTF-8 >&2
  fi
  if ! as_owner "$bin/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
    log "starting on 127.0.0.1:$PORT"
    as_owner "$bin/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c full_page_writes=off" start >&2
  fi
  if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    as_owner "$bin/psql" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" -d postgres -qc "CREATE DATABASE $DB" >&2
  fi
  as_owner "$bin/psql" -h 127.0.0.1 -p "$PORT" -U "$PGUSER_NAME" -d "$DB" -qc "CREATE EXTENSION IF NOT EXISTS postgis" >&2
  log "ready: $(url)"
  export QAUIPSIZ_TEST_PG_URL="$(url)"
  echo "export QAUIPSIZ_TEST_PG_URL=$(url)"
}

stop() {
  local bin; bin="$(pg_bindir || true)"
  if [ -n "$bin" ] && [ -f "$DIR/PG_VERSION" ]; then
    as_owner "$bin/pg_ctl" -D "$DIR" -m fast stop >&2 || true
  fi
  rm -rf "$DIR"
  log "stopped and removed $DIR"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  url) if [ "$(id -u)" != 0 ]; then PGUSER_NAME="$(id -un)"; fi; url ;;
  *) echo "usage: $0 [start|stop|url]" >&2; exit 2 ;;
esac
