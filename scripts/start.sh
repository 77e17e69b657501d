#!/usr/bin/env bash
# npm start: set up what is missing, build the wasm module if needed, and run
# the seed example (PyTorch's two documentation examples).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh wasm
node examples/seed.mjs
