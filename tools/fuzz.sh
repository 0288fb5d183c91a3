#!/usr/bin/env bash
# Fuzzes every loader: builds the libFuzzer harness (tests/fuzz/) with clang-14 and ASan+UBSan in
# build-fuzz/, then runs each target for a bounded time on its seed corpus (tests/fuzz/corpus/NAME)
# and its past findings (tests/fuzz/regressions/NAME). Any crash, leak, hang (an input taking more
# than 10 s), sanitizer report, non-xgrad exception or allocation over 256 MB fails the run; the
# input is saved in build-fuzz/findings/ (add it to tests/fuzz/regressions/NAME once fixed).
# Usage: tools/fuzz.sh [SECONDS_PER_TARGET]   (default: $XGRAD_FUZZ_SECONDS or 30)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-${XGRAD_FUZZ_SECONDS:-30}}"
build="$root/build-fuzz"

fail() {
  echo "xgrad fuzz: error: $*" >&2
  exit 1
}
command -v clang++-14 >/dev/null || fail "clang++-14 is missing (apt-get install clang-14 libclang-rt-14-dev)"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

echo "xgrad fuzz: building the harness in build-fuzz"
# Warnings are errors in the GCC builds of tools/test.sh; clang's extra warnings must not stop the fuzzing.
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXGRAD_WERROR=OFF \
  -DXGRAD_SANITIZE=address,undefined -DXGRAD_FUZZ=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  "${launcher[@]}" >/dev/null
if ! cmake --build "$build" --target xgrad_fuzz -j"$(nproc)" -- --no-print-directory >"$build/build.log" 2>&1; then
  grep -v -E '^\[ *[0-9]+%\] (Building|Linking|Built)' "$build/build.log" >&2
  fail "the harness did not build (full log: build-fuzz/build.log)"
fi

mkdir -p "$build/findings"
failed=()
printf '%-12s %10s %8s %s\n' target executions seconds result
for seeds in "$root"/tests/fuzz/corpus/*/; do
  name="$(basename "$seeds")"
  work="$(mktemp -d)"  # new inputs go here: the committed seeds stay as they are
  log="$build/fuzz-$name.log"
  dirs=("$work" "$seeds")
  [ -d "$root/tests/fuzz/regressions/$name" ] && dirs+=("$root/tests/fuzz/regressions/$name")
  status=0
  XGRAD_FUZZ_TARGET="$name" "$build/xgrad_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 \
    -malloc_limit_mb=256 -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/findings/$name-" \
    "${dirs[@]}" >"$log" 2>&1 || status=$?
  rm -rf "$work"
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  time="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  if [ "$status" -eq 0 ]; then
    printf '%-12s %10s %8s %s\n' "$name" "${runs:-?}" "$seconds" "ok (${time:-?} exec/s)"
  else
    printf '%-12s %10s %8s %s\n' "$name" "${runs:-?}" "$seconds" "FAILED (exit $status, log: build-fuzz/fuzz-$name.log)"
    grep -E 'ERROR|SUMMARY|runtime error|terminate|Test unit written' "$log" | head -20 >&2 || true
    failed+=("$name")
  fi
done
((${#failed[@]} == 0)) || fail "findings in: ${failed[*]} (inputs in build-fuzz/findings/)"
echo "xgrad fuzz: every target ran ${seconds} s without a finding"
