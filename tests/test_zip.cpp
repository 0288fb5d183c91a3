// The zip wrapper: stored and deflated round trips, determinism, and every bad archive giving an
// Error that names the archive (and the entry).
#include <doctest/doctest.h>

#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"
#include "core/zip.h"

using namespace xgrad;

namespace {

std::vector<ZipEntry> sample_entries() {
  std::string big(100000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = char(i % 7 == 0 ? i % 251 : 'a');
  return {{"config.json", "{\"a\": 1}"}, {"empty", ""}, {"dir/weights.bin", big}};
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("xgrad_test_zip_" + name)).string();
}

}  // namespace

TEST_CASE("zip: stored and deflated archives round trip in order") {
  if (!zip_available()) {
    CHECK_THROWS_WITH_AS(zip_bytes({}, false), doctest::Contains("libminizip-dev"), Error);
    return;
  }
  const auto entries = sample_entries();
  for (bool deflate : {false, true}) {
    CAPTURE(deflate);
    const std::string bytes = zip_bytes(entries, deflate);
    CHECK(bytes == zip_bytes(entries, deflate));  // deterministic
    const ZipReader zip(bytes, "mem.zip");
    REQUIRE(zip.names() == std::vector<std::string>{"config.json", "empty", "dir/weights.bin"});
    for (const auto& e : entries) CHECK(zip.read(e.name) == e.data);
    CHECK(zip.contains("empty"));
    CHECK_FALSE(zip.contains("nope"));
  }
  // Deflate actually compresses the repetitive entry.
  CHECK(zip_bytes(entries, true).size() < zip_bytes(entries, false).size() / 2);
}

TEST_CASE("zip: files are written atomically and read back") {
  if (!zip_available()) return;
  const std::string path = temp_path("file.zip");
  write_zip(path, sample_entries(), true);
  const ZipReader zip(path);
  CHECK(zip.source() == path);
  CHECK(zip.read("config.json") == "{\"a\": 1}");
  std::filesystem::remove(path);
}

TEST_CASE("zip: bad archives are errors naming the archive and the entry") {
  if (!zip_available()) return;
  const std::string good = zip_bytes(sample_entries(), true);
  auto error_of = [](std::string bytes, const std::string& entry = "") -> std::string {
    try {
      const ZipReader zip(std::move(bytes), "bad.zip");
      if (!entry.empty()) zip.read(entry);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(error_of("") == "bad.zip: not a zip archive (no valid end-of-central-directory record)");
  CHECK(error_of("PK\3\4 hello").find("not a zip archive") != std::string::npos);
  CHECK(error_of(good.substr(0, good.size() - 10)).find("bad.zip: ") == 0);  // cut in the directory
  CHECK(error_of(good, "missing.bin") == "bad.zip: no entry \"missing.bin\"");

  // A flipped byte inside the deflated data fails the CRC or the inflate.
  std::string corrupt = zip_bytes(sample_entries(), false);
  const size_t at = corrupt.find("aaaaaa");
  REQUIRE(at != std::string::npos);
  corrupt[at] = 'b';
  CHECK(error_of(corrupt, "dir/weights.bin") == "bad.zip: dir/weights.bin: CRC check failed (corrupt data)");

  // Entries over the caller's limit are refused before inflating.
  const ZipReader zip(good, "big.zip");
  CHECK_THROWS_WITH_AS(zip.read("dir/weights.bin", 1000),
                       "big.zip: dir/weights.bin: 100000 bytes, more than the limit of 1000", Error);

  // A declared size the data cannot hold is refused before anything is allocated (a fuzzer's 2 GB).
  std::string inflated = zip_bytes({{"a", "hello"}}, false);
  const size_t directory = inflated.find("PK\1\2");
  REQUIRE(directory != std::string::npos);
  inflated.replace(directory + 24, 4, "\xff\xff\xff\x7f");  // the central directory's uncompressed size
  CHECK(error_of(inflated, "a") ==
        "bad.zip: a: the entry declares 2147483647 bytes from 5 bytes of stored data (truncated or corrupt "
        "archive)");

  // Duplicate names are refused: which one would a reader mean?
  CHECK(error_of(zip_bytes({{"a", "1"}, {"a", "2"}}, false)) == "bad.zip: duplicate entry \"a\"");
  CHECK_THROWS_WITH_AS(ZipReader("/nonexistent/x.zip"), doctest::Contains("/nonexistent/x.zip: cannot open"),
                       Error);
}
