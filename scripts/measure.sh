#!/usr/bin/env bash
# Prints the footprint numbers we track: release bundle sizes (raw, gzip, brotli), the first
# load of every page as Chromium receives it (the browser tests check these against
# end2end/first-load.json), time from process start to serving, and the idle server's
# resident memory.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh test >/dev/null
source scripts/env.sh
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PORT=${MEASURE_PORT:-3150}

[ "${SKIP_BUILD:-}" = 1 ] || cargo leptos build --release --precompress --split >&2

sizes() { # file -> "raw gzip brotli" in bytes
  node -e '
    const fs = require("fs"), zlib = require("zlib");
    const data = fs.readFileSync(process.argv[1]);
    const br = zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
    console.log(data.length, zlib.gzipSync(data, { level: 9 }).length, br.length);' "$1"
}
kb() { awk '{ printf "%.1f KB raw, %.1f KB gzip, %.1f KB brotli", $1/1024, $2/1024, $3/1024 }'; }

echo "## release bundles"
for file in target/site/pkg/aistudio.*.{wasm,js,css}; do
  read -r raw gz br < <(sizes "$file")
  printf '%-40s %s\n' "${file##*/}" "$(echo "$raw $gz $br" | kb)"
done
echo
echo "## first load per page, in Chromium (HTML + JS + WASM + CSS + data, as served)"
report=$(mktemp)
(cd end2end && E2E_PROFILE=release E2E_PORT=$((PORT + 10)) FIRST_LOAD_REPORT=$report \
  npx playwright test tests/first-load.spec.ts --project=desktop --reporter=line >&2)
node -e '
  const rows = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const r of rows) console.log(`${r.page.padEnd(32)} ${r.kb.toFixed(1).padStart(7)} KB  (${r.requests} requests)`);' "$report"
echo

DATABASE_URL=$(scripts/postgres.sh fresh aistudio_measure)
export DATABASE_URL LEPTOS_OUTPUT_NAME=aistudio LEPTOS_SITE_ROOT=$ROOT/target/site LEPTOS_SITE_PKG_DIR=pkg \
  LEPTOS_SITE_ADDR=127.0.0.1:$PORT LEPTOS_HASH_FILES=true RUST_LOG=warn
start=$(date +%s%N)
"$TARGET/release/server" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz"; do sleep 0.01; done
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "## server"
echo "process start to serving (fresh database, migrations included): ${ready_ms} ms"
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/"; done
sleep 2
echo "RSS after start and 50 page renders, idle: $(( $(ps -o rss= -p $pid) / 1024 )) MB"
