// Every fuzz target's seed corpus and every input a fuzzer ever found (tests/fuzz/regressions/)
// through the same code the libFuzzer harness runs: valid seeds load, bad seeds and findings are
// refused with an xgrad::Error whose message names the file and is printable.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "tests/fuzz/targets.h"
#include "tests/paths.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
namespace fs = std::filesystem;

namespace {

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Seeds named valid-* must load; every other input must be refused cleanly (or load).
void check_input(const fuzz::Target& t, const fs::path& file) {
  const std::string bytes = test::slurp(file.string());
  INFO("target " << std::string(t.name) << ", input " << file.string());
  std::string refused;
  try {
    refused = fuzz::run_target(t, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  } catch (const std::exception& e) {
    FAIL("threw a non-xgrad exception: " << e.what());
  }
  const std::string name = file.filename().string();
  if (name.rfind("valid-", 0) == 0) CHECK(refused == "");
  if (name.rfind("bad-", 0) == 0) CHECK(refused != "");
  if (!refused.empty()) CHECK(refused.find("xgrad-fuzz-") != std::string::npos);  // names the file
}

}  // namespace

TEST_CASE("fuzz corpora: every target has seeds, every seed and finding is handled cleanly") {
  const fs::path root = fs::path(test::source_dir()) / "tests" / "fuzz";
  std::set<std::string> names;
  for (const auto& t : fuzz::targets()) {
    names.insert(t.name);
    const auto seeds = files_in(root / "corpus" / t.name);
    CHECK_MESSAGE(seeds.size() >= 2, "tests/fuzz/corpus/" << t.name << " needs a valid and a bad seed");
    CHECK(std::any_of(seeds.begin(), seeds.end(),
                      [](const fs::path& p) { return p.filename().string().rfind("valid-", 0) == 0; }));
    for (const auto& file : seeds) check_input(t, file);
    for (const auto& file : files_in(root / "regressions" / t.name)) check_input(t, file);
  }
  for (const auto& dir : fs::directory_iterator(root / "corpus"))
    CHECK_MESSAGE(names.count(dir.path().filename().string()),
                  "tests/fuzz/corpus/" << dir.path().filename().string() << " has no target in targets.cpp");
}
