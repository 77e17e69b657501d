#!/usr/bin/env bash
# npm pack / npm publish run this first: it builds what the package ships
# (dist/: the wasm modules, their glue and worker scripts, the CommonJS API)
# from these sources, then checks that every file package.json "files"
# names is there, so a clean clone packs a complete package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --wasm-only
bash scripts/build.sh wasm
node scripts/check-package-files.mjs
