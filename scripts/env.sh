# Sourced by the build scripts: the environment Debian's emcc needs.
# Debian's emscripten finds its JS optimizer's modules (acorn) only there.
if [[ -d /usr/share/nodejs && -z ${NODE_PATH:-} ]]; then
  export NODE_PATH=/usr/share/nodejs
fi
