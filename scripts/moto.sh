#!/usr/bin/env bash
# moto, the AWS stand-in the tests of the AWS paths run against (S3, SQS, S3 -> SQS event
# notifications, dead-letter queues, Textract), on loopback.
#
#   scripts/moto.sh start   install on first use (PyPI moto[server]), start; prints its URL
#   scripts/moto.sh stop    stop it
#   scripts/moto.sh url     print its URL
#
# moto keeps everything in memory: a restart starts empty. Its canned Textract answer does not
# parse in the AWS SDKs, so the launcher gives it one page of LINE blocks
# (MOTO_TEXTRACT_TEXT) before starting the server.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEV=${STUDIO_DEV_DIR:-$ROOT/.dev}
CACHE=${STUDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aistudio}
PORT=${STUDIO_MOTO_PORT:-5055}
VERSION=5.2.5
VENV=$CACHE/moto-$VERSION
URL="http://127.0.0.1:$PORT"
PIDFILE=$DEV/moto.pid

log() { printf 'moto: %s\n' "$*" >&2; }

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  mkdir -p "$DEV"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import moto.server' 2>/dev/null; then
    log "installing moto $VERSION (PyPI)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$VERSION"
  fi
  if ! running; then
    cat >"$DEV/moto_launcher.py" <<'PY'
import os, sys
from moto.textract.models import TextractBackend
text = os.environ.get("MOTO_TEXTRACT_TEXT", "Hello from Textract\nSecond line")
TextractBackend.PAGES = 1
TextractBackend.BLOCKS = [{"BlockType": "PAGE", "Id": "page-1", "Page": 1}] + [
    {"BlockType": "LINE", "Id": f"line-{i}", "Page": 1, "Text": line, "Confidence": 99.0}
    for i, line in enumerate(text.splitlines())]
from moto.server import main
main(sys.argv[1:])
PY
    "$VENV/bin/python" "$DEV/moto_launcher.py" -H 127.0.0.1 -p "$PORT" >"$DEV/moto.log" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
  fi
  for _ in $(seq 100); do
    if curl -fs -o /dev/null "$URL/moto-api/"; then
      echo "$URL"
      return
    fi
    running || break
    sleep 0.2
  done
  log "moto did not start; its log:"
  tail -n 20 "$DEV/moto.log" >&2
  exit 1
}

stop() {
  if running; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; fi
  rm -f "$PIDFILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
