#pragma once
// Every loader that reads untrusted bytes, as a fuzz target: the libFuzzer harness
// (tests/fuzz/fuzz_main.cpp) and the corpus regression test (tests/test_fuzz_corpus.cpp) both run
// these. A new loader is one line in targets.cpp plus a seed directory tests/fuzz/corpus/<name>/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xgrad::fuzz {

struct Target {
  const char* name;    // also the corpus directory name
  const char* suffix;  // the file name's ending the loader is given (".gz" makes gzip mandatory)
  void (*load)(const std::string& path);
};

const std::vector<Target>& targets();
const Target* find_target(const std::string& name);  // nullptr if unknown

// Writes `bytes` to a private temp file ending in the target's suffix and loads it. Returns the
// xgrad::Error message when the input was refused, "" when it loaded. Anything else the loader
// throws propagates, and a message that is not printable() aborts: both are findings.
std::string run_target(const Target& t, const uint8_t* bytes, size_t size);

}  // namespace xgrad::fuzz
