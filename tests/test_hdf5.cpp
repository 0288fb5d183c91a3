// core/hdf5: what Keras' files hold (fixed and variable-length strings, empty name lists written
// as empty float arrays, nested dataset paths) reads back, and bad files name file and path.
#include <doctest/doctest.h>

#include "core/error.h"
#include "core/hdf5.h"
#include "core/json_io.h"
#include "tests/fixtures.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using namespace xgrad::test;

TEST_CASE("hdf5: attributes and datasets as Keras writes them" * doctest::skip(!hdf5::available())) {
  TempDir dir;
  const std::string path = dir.path("t.h5");
  {
    const hdf5::Group root = hdf5::create_file(path);
    root.write_string_attr("fixed", "{\"a\": 1}");
    root.write_string_attr("variable", "relu", true);
    root.write_string_list_attr("names", {"conv2d", "dense_1"});
    root.write_string_list_attr("empty", {});
    root.create_group("layer").write_dataset("layer/kernel:0", filled({2, 3}, {1, 2, 3, 4, 5, 6}));
  }
  CHECK(hdf5::has_signature(read_text_file(path)));
  const hdf5::Group root = hdf5::open_file(path);
  CHECK(root.string_attr("fixed") == "{\"a\": 1}");
  CHECK(root.string_attr("variable") == "relu");
  CHECK(root.string_list_attr("names") == std::vector<std::string>{"conv2d", "dense_1"});
  CHECK(root.string_list_attr("empty").empty());
  CHECK(root.children() == std::vector<std::string>{"layer"});
  const hdf5::Group layer = root.group("layer");
  CHECK(layer.path() == "/layer");
  CHECK(layer.has_dataset("layer/kernel:0"));
  CHECK_FALSE(layer.has_group("layer/kernel:0"));
  CHECK(layer.dataset("layer/kernel:0") == filled({2, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK_THROWS_WITH_AS(layer.dataset("layer/bias:0"),
                       (path + ": /layer: no dataset \"layer/bias:0\"").c_str(), Error);
  CHECK_THROWS_WITH_AS(root.string_attr("names"),
                       (path + ": /: attribute \"names\": expected one string, found 2").c_str(), Error);
  CHECK_THROWS_WITH_AS(root.string_attr("nope"), (path + ": /: missing attribute \"nope\"").c_str(), Error);
  CHECK_THROWS_WITH_AS(root.group("../x"), (path + ": /: no group \"../x\"").c_str(), Error);
  // The same bytes from memory (a .keras archive's member).
  const hdf5::Group image = hdf5::open_image(read_text_file(path), "m.keras: model.weights.h5");
  CHECK(image.group("layer").dataset("layer/kernel:0") == filled({2, 3}, {1, 2, 3, 4, 5, 6}));
}

TEST_CASE("hdf5: files that are not HDF5" * doctest::skip(!hdf5::available())) {
  TempDir dir;
  CHECK_THROWS_WITH_AS(hdf5::open_file(dir.write("x.h5", "not hdf5")),
                       doctest::Contains("x.h5: not an HDF5 file"), Error);
  CHECK_THROWS_WITH_AS(hdf5::open_file(dir.path("missing.h5")), doctest::Contains("missing.h5"), Error);
  CHECK_THROWS_WITH_AS(hdf5::open_image("\x89HDF\r\n\x1a\n and then nothing", "m.keras: model.weights.h5"),
                       "m.keras: model.weights.h5: cannot open as HDF5 (corrupt or truncated?)", Error);
}

// A dataset header that claims more elements than the file holds is refused before xgrad allocates
// for them: the dims of a [777] dataset (a v1 object header, no checksum) patched to 2^28.
TEST_CASE("hdf5: a dataset declaring more data than the file stores" * doctest::skip(!hdf5::available())) {
  TempDir dir;
  hdf5::create_file(dir.path("t.h5")).write_dataset("w", make_tensor({777}, 0.5f));
  std::string bytes = read_text_file(dir.path("t.h5"));
  const std::string dims("\x09\x03\0\0\0\0\0\0", 8), forged("\0\0\0\x10\0\0\0\0", 8);  // 777, 2^28
  size_t patched = 0;
  for (size_t at = bytes.find(dims); at != std::string::npos; at = bytes.find(dims, at + 8), ++patched)
    bytes.replace(at, 8, forged);
  REQUIRE(patched >= 1);
  const hdf5::Group root = hdf5::open_image(bytes, "forged.h5");
  CHECK_THROWS_WITH_AS(root.dataset("w"),
                       "forged.h5: /: dataset \"w\": shape [268435456] needs 1073741824 bytes of data, the "
                       "file stores 3108",
                       Error);
}
