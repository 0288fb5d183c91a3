#!/usr/bin/env bash
# Sets up, builds and runs every test: the Release build (all tests, slow ones included), then an
# AddressSanitizer + UBSan build (all but the slow tests).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

"$root/tools/setup.sh" build
ctest --test-dir "$root/build" --output-on-failure

echo "xgrad test: AddressSanitizer + UndefinedBehaviorSanitizer build"
"$root/tools/setup.sh" build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_SANITIZE=address,undefined
ctest --test-dir "$root/build-asan" --output-on-failure -LE slow -E format
