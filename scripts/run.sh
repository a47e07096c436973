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
# The key that seals provider keys lives with the local database.
export SECRETS_KEY_FILE=${SECRETS_KEY_FILE:-${STUDIO_DEV_DIR:-$ROOT/.dev}/secrets.key}
# On an empty database the server prints a one-time link to create the administrator.
echo "AI Studio: on a new database the server prints a one-time setup link below; open it to create the administrator." >&2
if [ "${1:-}" = watch ]; then
  exec cargo leptos watch
fi
# `--precompress`: the bundles are served as brotli/gzip files written once at build time.
exec cargo leptos serve --release --precompress --split
