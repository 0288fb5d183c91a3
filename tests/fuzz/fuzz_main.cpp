// The libFuzzer entry point; the loader is chosen by the environment: XGRAD_FUZZ_TARGET=model.
// An xgrad::Error is the expected answer to bad bytes; any other exception, a crash, a hang, a
// leak, a sanitizer report or an allocation over libFuzzer's -malloc_limit_mb is a finding.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const xgrad::fuzz::Target* target = [] {
    const char* name = std::getenv("XGRAD_FUZZ_TARGET");
    const xgrad::fuzz::Target* t = xgrad::fuzz::find_target(name ? name : "");
    if (!t) {
      std::fprintf(stderr, "set XGRAD_FUZZ_TARGET to one of:");
      for (const auto& known : xgrad::fuzz::targets()) std::fprintf(stderr, " %s", known.name);
      std::fprintf(stderr, "\n");
      std::exit(2);
    }
    return t;
  }();
  xgrad::fuzz::run_target(*target, data, size);
  return 0;
}
