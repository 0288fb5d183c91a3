#!/usr/bin/env bash
# Sets up, builds and runs every test: the Release build (all tests, slow ones included), then an
# AddressSanitizer + UBSan build (all but the slow tests), and prints how long each step took.
# Both are unity builds (CMake joins a few sources into one, so the heavy xtensor and JSON headers are
# parsed once per batch): about half the compile time of a file-by-file build. The sanitizer build is
# optimised lightly (-O1, line tables only): it compiles in about half the time of -O2 -g and still
# reports every finding with file and line.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
steps=()
timed() {
  local name="$1" start=$SECONDS
  shift
  "$@"
  steps+=("$name $((SECONDS - start))s")
}

unity=(-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16)
timed "release build" "$root/tools/setup.sh" build "${unity[@]}"
timed "release tests" ctest --test-dir "$root/build" --output-on-failure --parallel 2

echo "xgrad test: AddressSanitizer + UndefinedBehaviorSanitizer build"
timed "sanitizer build" "$root/tools/setup.sh" build-asan "${unity[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXGRAD_SANITIZE=address,undefined "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
timed "sanitizer tests" ctest --test-dir "$root/build-asan" --output-on-failure -LE slow -E format
summary="$(printf '%s, ' "${steps[@]}")"
echo "xgrad test: done in ${SECONDS}s (${summary%, })"
