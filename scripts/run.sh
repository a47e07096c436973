#!/usr/bin/env bash
# Builds AI Studio (release) and serves it on http://127.0.0.1:3000 with the embedded
# defaults: a local Postgres with pgvector unless DATABASE_URL is set.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh run
source scripts/env.sh
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/postgres.sh start)
  export DATABASE_URL
fi
if [ "${1:-}" = watch ]; then
  exec cargo leptos watch
fi
exec cargo leptos serve --release
