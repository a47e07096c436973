#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints on both sides, the WASM purity
# check, unit and database tests, the site build, and the browser tests.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh test
source scripts/env.sh

started=$SECONDS
step() {
  local name=$1
  shift
  local t0=$SECONDS
  printf '\n\033[1m== %s\033[0m\n' "$name"
  "$@"
  printf '\033[1m== %s: %ss\033[0m\n' "$name" $((SECONDS - t0))
}

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(scripts/postgres.sh start)
  export DATABASE_URL
fi
# The AWS paths (S3, SQS) are tested against moto.
if [ -z "${MOTO_URL:-}" ]; then
  MOTO_URL=$(scripts/moto.sh start)
  export MOTO_URL
fi

wasm_is_pure() {
  # The browser bundle must not pull in the server: no database, runtime or backend crates.
  local tree forbidden
  tree=$(cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none --format '{p}')
  forbidden=$(grep -E '^(sqlx|sqlx-[a-z-]+|tokio|mio|studio-core|workers|axum|hyper|aws-[a-z-]+|candle-[a-z-]+|tokenizers|syntect|two-face|pulldown-latex) v' <<<"$tree" | sort -u || true)
  if [ -n "$forbidden" ]; then
    echo "the WASM build depends on server crates:" >&2
    echo "$forbidden" >&2
    return 1
  fi
  echo "frontend (wasm32): $(wc -l <<<"$tree") dependency entries, none of them server-only"
}

formatted() {
  cargo fmt --all --check
  # view! macros, which rustfmt leaves alone.
  leptosfmt --quiet --check app/src frontend/src
  (cd end2end && npx prettier --check --log-level warn .)
}

step "format" formatted
# No import circles between files, no SQL outside studio-core.
step "structure" python3 scripts/check-structure.py
step "clippy (server side)" dev_cargo clippy -p server -p workers -p studio-core -p app --features app/ssr,workers/lambda --all-targets -- -D warnings
step "clippy (browser side)" dev_cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings
step "wasm purity" wasm_is_pure
step "unit and database tests" dev_cargo nextest run -p server -p workers -p studio-core -p app --features app/ssr --no-fail-fast
# nextest runs no doc tests: the compile_fail examples (a job payload that is no job kind) run here.
# The same packages and features as above, so the dependencies resolve to the same features and
# their builds are reused (studio-core alone resolves differently and rebuilds hundreds of crates).
step "doc tests" dev_cargo test --doc -p server -p workers -p studio-core -p app --features app/ssr
# The browser tests run the release build, as shipped (precompressed).
# Among them, tests/first-load.spec.ts fails when a page's first load passes its ceiling.
step "site build (release)" cargo leptos build --release --precompress --split
step "browser tests" bash -c "cd end2end && E2E_PROFILE=release npx playwright test"
printf '\n\033[1mall checks passed in %ss\033[0m\n' $((SECONDS - started))
