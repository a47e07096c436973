# Sourced by the scripts: the build environment every cargo command here shares.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${STUDIO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aistudio}
export PATH="$CACHE/node-tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
# Queries are checked against the committed .sqlx/ data, so builds need no database.
export SQLX_OFFLINE=${SQLX_OFFLINE:-true}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-always}
unset RUSTFLAGS
# The built-in chat model (scripts/setup.sh downloads it).
export LOCAL_MODEL_PATH=${LOCAL_MODEL_PATH:-$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf}
# The local embedding model's folder (config.json, tokenizer.json, model.safetensors).
export EMBEDDING_MODEL_DIR=${EMBEDDING_MODEL_DIR:-$CACHE/models/all-MiniLM-L6-v2}
# ONNX Runtime runs it when setup installed the library (candle otherwise).
if [ -z "${ONNXRUNTIME_LIB:-}" ] && [ -f "$CACHE/onnxruntime/libonnxruntime.so" ]; then
  export ONNXRUNTIME_LIB=$CACHE/onnxruntime/libonnxruntime.so
fi

# cargo-leptos adds `--cfg erase_components` to debug builds. Every other debug cargo command
# passes exactly the same flags, so checks, tests and the site build share their artifacts
# instead of each rebuilding hundreds of crates.
dev_cargo() { RUSTFLAGS="--cfg erase_components" cargo "$@"; }
