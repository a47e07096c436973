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
step "clippy (server side)" dev_cargo clippy -p server -p workers -p studio-core -p app --features app/ssr,workers/lambda --all-targets -- -D warnings
step "clippy (browser side)" dev_cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown -- -D warnings
step "wasm purity" wasm_is_pure
# Debug builds erase view types (`--cfg erase_components`); release builds keep them, and
# deep views can overflow the compiler's limits when they are compiled (a check does not go
# that far). Building the browser side without the flag, in a target directory of its own so
# the two flag sets do not rebuild each other's artifacts, finds that here.
step "view types as release builds see them" cargo build -p frontend --target wasm32-unknown-unknown --target-dir "${CARGO_TARGET_DIR:-$ROOT/target}/unerased"
step "unit and database tests" dev_cargo nextest run -p server -p workers -p studio-core -p app --features app/ssr --no-fail-fast
# nextest runs no doc tests: the compile_fail examples (a job payload that is no job kind) run here.
step "doc tests" dev_cargo test --doc -p studio-core
step "site build" cargo leptos build
step "browser tests" bash -c "cd end2end && npx playwright test"
printf '\n\033[1mall checks passed in %ss\033[0m\n' $((SECONDS - started))
