# syntax=docker/dockerfile:1.7
# One image: the server (pages, API, embedded workers), the standalone worker, and the site.
# The build runs the same commands as `make build`.

ARG RUST_VERSION=1.99.1

# --- tools: toolchain, cargo-chef, cargo-leptos, wasm-bindgen (`make build` adds wasm-opt) --
FROM rust:${RUST_VERSION}-bookworm AS tools
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm mold \
 && rm -rf /var/lib/apt/lists/*
# Link the server with mold: several times faster than the default linker. Set through the
# environment, not a config file, so builds from any checkout share one fingerprint.
ENV CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold"
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-chef --locked \
 && cargo install cargo-leptos --version 0.3.11 --locked --features no_downloads \
 && cargo install wasm-bindgen-cli --version 0.2.130
WORKDIR /src

# --- planner: the dependency recipe, so dependencies cache apart from our code -----------
FROM tools AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# --- builder ------------------------------------------------------------------------------
FROM tools AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release -p server -p workers --recipe-path recipe.json \
 && cargo chef cook --profile wasm-release --target wasm32-unknown-unknown -p frontend --recipe-path recipe.json
COPY . .
# Queries are checked against the committed .sqlx/ data: no database during the build.
ENV SQLX_OFFLINE=true
RUN make build

# --- runtime: glibc and CA certificates only, as an unprivileged user ---------------------
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
WORKDIR /app
COPY --from=builder /src/target/release/server /src/target/release/worker /src/target/release/hash.txt /app/
COPY --from=builder /src/target/site /app/site
ENV LEPTOS_OUTPUT_NAME=aistudio \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=0.0.0.0:3000 \
    LEPTOS_HASH_FILES=true \
    LEPTOS_ENV=PROD \
    LOG_FORMAT=json \
    RUST_LOG=info \
    STORAGE_DIR=/home/nonroot/files
USER nonroot:nonroot
# Knowledge originals: mount a volume at /home/nonroot/files to keep them.
EXPOSE 3000
# The worker service runs the same image with: ["/app/worker"]
CMD ["/app/server"]
