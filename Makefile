# AI Studio: the two entry points and a few conveniences. The work is in scripts/.
.PHONY: run dev test build measure bench db db-stop sqlx-prepare fmt setup clean-dev

## Install what is missing, start a local Postgres, build (release) and serve on :3000.
run:
	@scripts/run.sh

## Like run, but a debug build that rebuilds and reloads on every change.
dev:
	@scripts/run.sh watch

## Everything CI runs: format, lints, WASM purity, unit/database tests, site build, browser tests.
test:
	@scripts/test.sh

## Release build of the site, the server and the worker (what the Dockerfile runs).
build:
	@scripts/setup.sh run
	@bash -c 'source scripts/env.sh && cargo leptos build --release --precompress --split && cargo build --release -p workers --bin worker'

## Print bundle sizes, start-up time and idle memory of a release build.
measure:
	@scripts/measure.sh

## Benchmarks (release build): chat relay, sign-up flood, embeddings, ingestion and search.
bench:
	@scripts/bench.sh

## Start the embedded Postgres and print its DATABASE_URL.
db:
	@scripts/postgres.sh start

db-stop:
	@scripts/postgres.sh stop

## Refresh .sqlx/ after changing a query or a migration.
sqlx-prepare:
	@bash -c 'source scripts/env.sh && RUSTFLAGS="--cfg erase_components" scripts/sqlx-prepare.sh'

fmt:
	@leptosfmt --quiet app/src frontend/src && cargo fmt --all
	@cd end2end && npx prettier --write --log-level warn .

setup:
	@scripts/setup.sh test

## Stop and delete the local database and caches under .dev/.
clean-dev: db-stop
	rm -rf .dev
