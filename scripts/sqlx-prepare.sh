#!/usr/bin/env bash
# Refreshes `.sqlx/`, the offline query data that lets every build check SQL without a
# database (builds run with SQLX_OFFLINE=true). Run after changing a query or a migration.
#
# It migrates a scratch database `aistudio_schema` from core/migrations, then recompiles every
# crate that holds queries with SQLX_OFFLINE_DIR set, which makes the sqlx macros write one
# file per query.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
base=$(scripts/postgres.sh start)
PGBIN=$(dirname "$(find "${STUDIO_DEV_DIR:-$ROOT/.dev}/pg" -name psql -type f | head -n 1)")
server_url=${base%/*}
schema_url="$server_url/aistudio_schema?sslmode=disable"
psql=("$PGBIN/psql" -qAt -v ON_ERROR_STOP=1)
"${psql[@]}" "$server_url/postgres?sslmode=disable" -c "drop database if exists aistudio_schema" -c "create database aistudio_schema"
for migration in core/migrations/*.sql; do
  "${psql[@]}" "$schema_url" -f "$migration" >/dev/null
done

out=$(mktemp -d)
# The macros only run when their crate compiles: make sure each one does.
touch core/src/lib.rs workers/src/lib.rs app/src/lib.rs server/src/lib.rs
for dir in core workers server; do
  find "$dir/src" "$dir/tests" -name '*.rs' -exec touch {} + 2>/dev/null || true
done
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" DATABASE_URL="$schema_url" \
  cargo check -p studio-core -p workers -p server --all-targets
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" DATABASE_URL="$schema_url" \
  cargo check -p app --features ssr --all-targets
rm -rf .sqlx
mkdir -p .sqlx
cp "$out"/query-*.json .sqlx/ 2>/dev/null || true
rm -rf "$out"
echo "sqlx-prepare: $(ls .sqlx | wc -l) queries in .sqlx/"
