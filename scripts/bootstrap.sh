#!/usr/bin/env bash
# Makes sure the toolchain and node_modules are present. Idempotent and quick
# when everything is there. On Debian as root it installs what is missing
# with apt-get; elsewhere it names the missing tools and stops.
# Usage: scripts/bootstrap.sh [--no-npm | --wasm-only]
#   --no-npm     everything but node_modules
#   --wasm-only  only what building dist/ needs (Emscripten, CMake, make,
#                Node): npm pack's prepack step
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

missing_packages=()
missing_tools=()
check() {  # check <tool-or-path> <debian package>
  local what=$1 package=$2
  if [[ $what == /* ]]; then [[ -e $what ]] && return 0; else have "$what" && return 0; fi
  missing_tools+=("$what")
  missing_packages+=("$package")
}
can_apt() { [[ -f /etc/debian_version && $(id -u) == 0 ]] && have apt-get; }
mode=${1:-}
optional_packages=()
check emcc emscripten
check cmake cmake
check make make
if [[ $mode != --wasm-only ]]; then
  check g++ g++
  check /usr/include/gtest/gtest.h libgtest-dev
  check /usr/include/simde/wasm/simd128.h libsimde-dev
  # clang with its libFuzzer and sanitizer runtimes: the fuzz harnesses and the
  # sanitized unit tests (npm test runs both briefly; npm run fuzz at length).
  check clang++ clang
  compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-$(uname -m).a" >/dev/null \
    || check /usr/lib/llvm-fuzzer-runtime libclang-rt-dev
  # Chromium for the browser tests (tests/browser, driven by playwright-core):
  # Debian's package at /usr/bin/chromium, or the binary CHROMIUM_PATH names.
  # Needed where apt-get can install it; elsewhere the browser tests report as
  # skipped, naming the reason.
  chromium_path=${CHROMIUM_PATH:-/usr/bin/chromium}
  if [[ ! -x $chromium_path ]]; then
    if [[ -z ${CHROMIUM_PATH:-} ]] && can_apt; then
      check /usr/bin/chromium chromium
    else
      echo "bootstrap: chromium is missing (no executable $chromium_path), so the browser tests will be skipped" >&2
      echo "  (Debian/Ubuntu package: chromium; or set CHROMIUM_PATH to a Chromium binary)." >&2
    fi
  fi
  # Optional: XNNPACK (and the pthreadpool header its header includes) for the
  # native differential test, which reports as skipped without them.
  [[ -e /usr/include/xnnpack.h ]] || optional_packages+=(libxnnpack-dev)
  [[ -e /usr/include/pthreadpool.h ]] || optional_packages+=(libpthreadpool-dev)
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major < 20)); then
  echo "qconv-wasm needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

if ((${#missing_packages[@]})); then
  if can_apt; then
    echo "bootstrap: installing ${missing_packages[*]} with apt-get" >&2
    # apt-get update once per machine, or when an install fails on stale lists.
    if [[ ! -f /var/lib/apt/periodic/qconv-updated ]]; then
      apt-get update -qq
      mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/qconv-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}" >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing_packages[@]}" >/dev/null; }
  else
    echo "qconv-wasm needs these tools, which are not installed: ${missing_tools[*]}" >&2
    echo "  (Debian/Ubuntu packages: ${missing_packages[*]}; Emscripten can also come from emsdk:" >&2
    echo "   put emcc on PATH). Install them and run the command again." >&2
    exit 1
  fi
fi
if ((${#optional_packages[@]})) && can_apt; then
  echo "bootstrap: installing ${optional_packages[*]} with apt-get (optional)" >&2
  install_optional() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${optional_packages[@]}" >/dev/null; }
  install_optional || { apt-get update -qq && install_optional; } \
    || echo "bootstrap: could not install ${optional_packages[*]}; the XNNPACK differential test will be skipped" >&2
fi

if [[ $mode != --no-npm && $mode != --wasm-only ]]; then
  # npm ci when node_modules is missing or older than the lock file.
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "bootstrap: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
fi
