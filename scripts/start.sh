#!/usr/bin/env bash
# npm start: set up what is missing, build the wasm module and the demo, run
# the seed example (PyTorch's two documentation examples), then serve the
# interactive demo (web-demo/dist) at http://localhost:8080 until Ctrl-C.
# Another port: PORT=N npm start, or npm start -- --port N.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PORT:-8080}
while (($#)); do
  case $1 in
    --port) port=${2:-}; shift $(($# >= 2 ? 2 : 1)) ;;
    --port=*) port=${1#--port=}; shift ;;
    *) echo "usage: npm start [-- --port N]   (or: PORT=N npm start)" >&2; exit 2 ;;
  esac
done
# Checked before the build, not after a minute of it.
if [[ ! $port =~ ^[0-9]+$ ]] || ((port > 65535)); then
  echo "start: the port must be an integer in [0, 65535], got '$port'" >&2
  exit 2
fi

bash scripts/bootstrap.sh
bash scripts/build.sh demo   # the wasm module, then the demo bundled from it
node examples/seed.mjs
echo
echo "Demo: http://localhost:$port/   (Ctrl-C stops the server; ?simd=0 runs the scalar flavour, ?threads=1 one thread)"
# COOP + COEP make the page cross-origin isolated: SharedArrayBuffer, so threads.
exec node scripts/serve.mjs --root web-demo/dist --port "$port" \
  --header "Cross-Origin-Opener-Policy: same-origin" --header "Cross-Origin-Embedder-Policy: require-corp"
