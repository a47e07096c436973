#!/usr/bin/env bash
# Starts the built server for the browser tests on a fresh database. Playwright runs this
# (see end2end/playwright.config.ts) and waits for /healthz.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${E2E_PROFILE:-debug}

if [ -n "${E2E_DATABASE_URL:-}" ]; then
  export DATABASE_URL=$E2E_DATABASE_URL
else
  DATABASE_URL=$(scripts/postgres.sh fresh "${E2E_DATABASE_NAME:-aistudio_e2e}")
  export DATABASE_URL
fi
export LEPTOS_OUTPUT_NAME=aistudio
export LEPTOS_SITE_ROOT=$ROOT/target/site
export LEPTOS_SITE_PKG_DIR=pkg
export LEPTOS_SITE_ADDR=127.0.0.1:${E2E_PORT:-3100}
export LEPTOS_HASH_FILES=true
export PUBLIC_URL=http://$LEPTOS_SITE_ADDR
# The test OpenID Connect provider Playwright starts (end2end/support/oidc-provider.mjs).
export OIDC_PROVIDERS=test
export OIDC_TEST_ISSUER=http://127.0.0.1:${E2E_OIDC_PORT:-$(( ${E2E_PORT:-3100} + 1 ))}
export OIDC_TEST_CLIENT_ID=aistudio-e2e
export OIDC_TEST_LABEL="Test provider"
# Knowledge uploads go to a fresh folder, or with E2E_STORAGE=s3 to a fresh bucket on moto
# (MOTO_URL) that browsers upload to directly; with a limit small enough to test.
if [ "${E2E_STORAGE:-local}" = s3 ]; then
  export STORAGE_BACKEND=s3 STORAGE_S3_PATH_STYLE=true
  export STORAGE_S3_BUCKET=aistudio-e2e-$RANDOM$RANDOM
  export AWS_ENDPOINT_URL=$MOTO_URL AWS_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  curl -sf -X PUT "$MOTO_URL/$STORAGE_S3_BUCKET" >/dev/null
  # What a real bucket needs too: browsers on the site may PUT (and read) objects.
  curl -sf -X PUT "$MOTO_URL/$STORAGE_S3_BUCKET?cors" -H "Content-Type: application/xml" \
    --data "<CORSConfiguration><CORSRule><AllowedOrigin>$PUBLIC_URL</AllowedOrigin>\
<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader>\
<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>" >/dev/null
else
  STORAGE_DIR=$(mktemp -d)
  export STORAGE_DIR
fi
export KNOWLEDGE_MAX_UPLOAD_MB=5
# Mail goes to the loopback SMTP server Playwright starts (end2end/support/mail-server.mjs).
export SMTP_HOST=127.0.0.1 SMTP_PORT=${E2E_MAIL_PORT:-$(( ${E2E_PORT:-3100} + 5 ))} SMTP_SECURITY=none
export SMTP_USERNAME=studio SMTP_PASSWORD=mail-secret
export MAIL_FROM="AI Studio <no-reply@school.example>"
# Provider keys are sealed with a key of this run's own.
SECRETS_KEY=$(head -c 32 /dev/urandom | base64)
export SECRETS_KEY
# One browser on one machine plays every user: the per-client limits are for strangers.
export LIMIT_ACCOUNT_REQUESTS_PER_IP_HOUR=100000 LIMIT_ACCOUNT_REQUESTS_PER_MINUTE=100000
# The test web site (end2end/support/web-site.mjs) runs on loopback; nothing else private.
export KNOWLEDGE_FETCH_ALLOW=127.0.0.1/32
# Scans fail as "needs OCR" whatever the machine has installed (the jobs page tests use one).
export OCR_PROVIDER=none
export RUST_LOG=${RUST_LOG:-info,tower_http=warn}
# The log is kept in a file too: the first test reads the setup link there, as a person would
# read it in the terminal.
LOG=${E2E_SERVER_LOG:-/tmp/aistudio-e2e-${E2E_PORT:-3100}.log}
: >"$LOG"
exec "$TARGET/$PROFILE/server" > >(tee -a "$LOG") 2>&1
