#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, slow, subproject, package, format) in one build
# instrumented with AddressSanitizer + UBSan, and prints how long each step took.
#   tools/test.sh            the sanitizer build in build-asan/ (the README's test command)
#   tools/test.sh --release  the same tests on a plain Release build in build/ (CI runs both)
# One build, not two: compiling everything twice was most of this command's time. The sanitizer
# build is optimised lightly (-O1, line tables only), which compiles in about half the time of
# -O2 -g and still reports every finding with file and line. Both are unity builds (CMake joins a
# few sources into one, so the heavy xtensor and JSON headers are parsed once per batch).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps=()
timed() {
  local name="$1" start=$SECONDS
  shift
  "$@"
  steps+=("$name $((SECONDS - start))s")
}

config=(-DCMAKE_UNITY_BUILD=ON)
case "${1:-}" in
  --release)
    build=build
    config+=(-DCMAKE_UNITY_BUILD_BATCH_SIZE=16)
    ;;
  "")
    build=build-asan
    echo "xgrad test: AddressSanitizer + UndefinedBehaviorSanitizer build"
    # Batches of 32: each batch re-instantiates the same xtensor templates, which instrumentation makes dear.
    config+=(-DCMAKE_UNITY_BUILD_BATCH_SIZE=32 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_SANITIZE=address,undefined
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
    ;;
  *)
    echo "usage: tools/test.sh [--release]" >&2
    exit 2
    ;;
esac
timed "build" "$root/tools/setup.sh" "$build" "${config[@]}"
timed "tests" ctest --test-dir "$root/$build" --output-on-failure --parallel 2
summary="$(printf '%s, ' "${steps[@]}")"
echo "xgrad test: done in ${SECONDS}s (${summary%, })"
