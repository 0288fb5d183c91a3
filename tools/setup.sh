#!/usr/bin/env bash
# Sets xgrad up: installs the Debian packages it needs (only those missing), then configures and
# builds. A no-op apart from the incremental build when everything is present.
# Usage: tools/setup.sh [BUILD_DIR [extra cmake arguments...]]   (BUILD_DIR defaults to build)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
shift || true
case "$build" in /*) ;; *) build="$root/$build" ;; esac

packages=(cmake make g++ libxtensor-dev libxtensor-blas-dev libopenblas-dev nlohmann-json3-dev doctest-dev
  zlib1g-dev libcli11-dev dataset-fashion-mnist
  # Optional at build time (features are left out without them); installed so every feature is built.
  libhdf5-dev libminizip-dev libonnx-dev libprotobuf-dev libopenmpi-dev openmpi-bin
  clang-14 libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

fail() {
  echo "xgrad setup: error: $*" >&2
  exit 1
}

if ((${#missing[@]})); then
  echo "xgrad setup: installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
      fail "these packages are missing and installing them needs root: ${missing[*]} (run: sudo apt-get install ${missing[*]})"
    sudo=(sudo -n)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq ||
    fail "apt-get update failed (is the network or the package mirror reachable?)"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install ${missing[*]} failed"
  echo "xgrad setup: installed ${#missing[@]} package(s)"
else
  echo "xgrad setup: all ${#packages[@]} packages present"
fi

echo "xgrad setup: building in ${build#"$root"/}"
cmake -S "$root" -B "$build" "$@" >/dev/null
# Progress lines are dropped; warnings and errors are shown.
if ! cmake --build "$build" -j"$(nproc)" -- --no-print-directory >"$build/build.log" 2>&1; then
  grep -v -E '^\[ *[0-9]+%\] (Building|Linking|Built)' "$build/build.log" >&2
  fail "the build failed (full log: ${build#"$root"/}/build.log)"
fi
grep -v -E '^\[ *[0-9]+%\] (Building|Linking|Built)' "$build/build.log" || true
