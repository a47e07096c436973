#!/usr/bin/env bash
# Runs the benchmarks against a fresh local database and prints their numbers.
#
#   scripts/bench.sh    the chat relay (server overhead, relay latency, concurrent streams),
#                       100 assistant runs at once (time to first text and to the end, memory),
#                       a sign-up flood (memory and other users' page loads under 400
#                       attempts at once),
#                       local embedding throughput, knowledge ingestion end to end and
#                       search latency over 100,000 chunks
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh run
source scripts/env.sh
# The flags of `cargo leptos build --release` (view types erased), so the benchmarks reuse the
# release build's artifacts.
export RUSTFLAGS="--cfg erase_components"
DATABASE_URL=$(scripts/postgres.sh fresh aistudio_bench)
export DATABASE_URL
export RUST_LOG=${RUST_LOG:-warn}
cargo bench -p server --bench chat_relay
cargo bench -p server --bench assistant_runs
cargo bench -p server --bench sign_up_flood
cargo bench -p studio-core --bench embed
cargo bench -p studio-core --bench knowledge
