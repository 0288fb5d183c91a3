// .npy/.npz: files written by NumPy itself (tests/data/npy, made by make_fixtures.py there) read
// back exactly, xgrad's files byte-identical to NumPy's and readable by numpy.load, and every bad
// input an Error naming the file and the entry.
#include <doctest/doctest.h>

#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"
#include "core/npz.h"
#include "core/zip.h"
#include "tests/fixtures.h"
#include "tests/paths.h"
#include "tests/python.h"

using namespace xgrad;
using xgrad::test::filled;

namespace {

std::string fixture(const std::string& name) { return test::source_dir() + "/tests/data/npy/" + name; }

std::vector<float> values_of(const NpyArray& a) {
  const Tensor t = npy_to_tensor(a);
  return std::vector<float>(t.begin(), t.end());
}

const std::vector<float> kA = {0.5f, -1.0f, 2.25f, 3.0f, 1e-3f, -0.0f};

std::string parse_error(const std::string& bytes) {
  try {
    parse_npy(bytes, "x.npy");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("npy: NumPy's files of every supported dtype and version read back exactly") {
  for (const char* name : {"f4.npy", "f8_big.npy", "v2.npy"}) {
    CAPTURE(name);
    const NpyArray a = read_npy(fixture(name));
    CHECK(a.shape == Shape{2, 3});
    CHECK(values_of(a) == kA);
  }
  CHECK(read_npy(fixture("f8_big.npy")).descr() == "<f8");  // swapped to little-endian on read
  const NpyArray u = read_npy(fixture("u1.npy"));
  CHECK(u.descr() == "|u1");
  CHECK(npy_to_int64(u, "u") == std::vector<int64_t>{0, 1, 255});
  CHECK(npy_to_int64(read_npy(fixture("i8.npy")), "i") == std::vector<int64_t>{-3, 0, 7, int64_t(1) << 40});
  CHECK(npy_to_int64(read_npy(fixture("bool.npy")), "b") == std::vector<int64_t>{1, 0});
  const NpyArray s = read_npy(fixture("scalar.npy"));
  CHECK(s.shape.empty());
  CHECK(values_of(s) == std::vector<float>{4.5f});
  CHECK(read_npy(fixture("empty.npy")).shape == Shape{0, 3});
  CHECK_THROWS_WITH_AS(npy_to_int64(read_npy(fixture("f4.npy")), "w"),
                       "w: element 0 is 0.500000, expected an integer value", Error);
}

TEST_CASE("npy: xgrad writes the bytes NumPy writes") {
  const NpyArray a = npy_from_tensor(filled({2, 3}, kA));
  CHECK(npy_bytes(a) == read_text_file(fixture("f4.npy")));
  CHECK(npy_bytes(npy_uint8({3}, {0, 1, 255})) == read_text_file(fixture("u1.npy")));
  CHECK(npy_bytes(npy_from_tensor(make_tensor({}, 4.5f))) == read_text_file(fixture("scalar.npy")));
  // A round trip through the parser keeps shape and bits.
  const NpyArray back = parse_npy(npy_bytes(a), "a");
  CHECK(back.shape == a.shape);
  CHECK(back.data == a.data);
}

TEST_CASE("npz: NumPy's stored and compressed archives, and xgrad's, in order") {
  if (!zip_available()) return;
  for (const char* name : {"stored.npz", "deflated.npz"}) {
    CAPTURE(name);
    const NpzArrays arrays = read_npz(fixture(name));
    REQUIRE(arrays.size() == 2);
    CHECK(arrays[0].first == "w");
    CHECK(values_of(arrays[0].second) == kA);
    CHECK(npy_to_int64(*find_array(arrays, "labels"), "labels") == std::vector<int64_t>{1, 2});
    CHECK(find_array(arrays, "nope") == nullptr);
  }
  const std::string path = (std::filesystem::temp_directory_path() / "xgrad_test_npz.npz").string();
  for (bool compress : {false, true}) {
    write_npz(path, {{"b", npy_from_tensor(filled({3}, {1, 2, 3}))}, {"a", npy_uint8({1}, {7})}}, compress);
    const NpzArrays back = read_npz(path);
    REQUIRE(back.size() == 2);
    CHECK(back[0].first == "b");
    CHECK(values_of(back[0].second) == std::vector<float>{1, 2, 3});
    CHECK(back[1].second.descr() == "|u1");
  }
  const std::string python = test::python_with("numpy");
  if (!python.empty()) {  // numpy.load reads what xgrad wrote
    const char* script =
        "import numpy as np, sys\n"
        "d = np.load(sys.argv[1])\n"
        "assert list(d.keys()) == ['b', 'a'], list(d.keys())\n"
        "assert d['b'].dtype == np.float32 and d['b'].tolist() == [1, 2, 3]\n"
        "assert d['a'].dtype == np.uint8 and d['a'].tolist() == [7]\n";
    CHECK(test::run_python(python, script, path) == 0);
  }
  std::filesystem::remove(path);
}

TEST_CASE("npy: bad files are errors that say what is wrong") {
  const std::string good = read_text_file(fixture("f4.npy"));
  CHECK(parse_error("") == "x.npy: not a .npy file: expected the magic bytes \\x93NUMPY and a version");
  CHECK(parse_error("PK\3\4abcdefgh").find("not a .npy file") != std::string::npos);
  std::string v9 = good;
  v9[6] = 9;
  CHECK(parse_error(v9) == "x.npy: .npy format version 9.0 is not supported, expected 1.0, 2.0 or 3.0");
  CHECK(parse_error(good.substr(0, 40)).find("x.npy: file ends inside the .npy header") == 0);
  CHECK(parse_error(good.substr(0, good.size() - 1)) ==
        "x.npy: data has 23 bytes, shape [2, 3] <f4 needs 24 (truncated file)");
  CHECK(parse_error(good + "x") == "x.npy: data has 25 bytes, shape [2, 3] <f4 needs 24");
  auto with_header = [&](std::string h) {
    std::string s = good;
    const size_t start = 10, len = 118;
    h.resize(len - 1, ' ');
    return s.replace(start, len, h + "\n");
  };
  CHECK(parse_error(with_header("{'descr': '<f4', 'fortran_order': False}")).find("lacks 'shape'") !=
        std::string::npos);
  CHECK(parse_error(with_header("{'descr': '<f4', 'fortran_order': Nope, 'shape': (2, 3), }"))
            .find("expected True or False") != std::string::npos);
  CHECK(parse_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }"))
            .find("expected a non-negative integer") != std::string::npos);
  CHECK(parse_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}"))
            .find("unknown header key 'x'") != std::string::npos);
  CHECK(parse_error(with_header("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }"))
            .find("dtype '<f2' is not supported") != std::string::npos);
  CHECK(parse_error(with_header("not a dict")).find("bad .npy header: expected '{'") != std::string::npos);
  // No elements, but dims whose product overflows (a fuzzer's find): refused, not built.
  CHECK(parse_error(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9934592, 592, "
                                "4294967296), }"))
            .find("is too large") != std::string::npos);

  auto file_error = [](const std::string& name) -> std::string {
    try {
      read_npy(fixture(name));
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  CHECK(file_error("fortran.npy").find("fortran.npy: Fortran-order arrays are not supported") !=
        std::string::npos);
  CHECK(file_error("unicode.npy").find("unicode.npy: dtype '<U2' is not supported") != std::string::npos);
  CHECK(file_error("structured.npy").find("structured dtypes are not supported") != std::string::npos);
}

TEST_CASE("npz: bad archives name the file and the entry") {
  if (!zip_available()) return;
  const std::string path = (std::filesystem::temp_directory_path() / "xgrad_test_bad.npz").string();
  auto error_of = [&](const std::vector<ZipEntry>& entries) -> std::string {
    write_zip(path, entries, false);
    try {
      read_npz(path);
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string good = read_text_file(fixture("f4.npy"));
  CHECK(error_of({{"w.npy", good.substr(0, 100)}}) == path +
                                                          ": w.npy: file ends inside the .npy header: it "
                                                          "declares 118 header bytes, the file has 90");
  CHECK(error_of({{"readme.txt", "hi"}}) ==
        path + ": entry \"readme.txt\" is not a .npy file, expected only NAME.npy entries");
  write_file_atomic(path, "not a zip");
  CHECK_THROWS_WITH_AS(read_npz(path), doctest::Contains("not a zip archive"), Error);
  std::filesystem::remove(path);
}

// read_samples converts while it inflates, chunk by chunk: the values equal npy_to_tensor's for
// every dtype, across chunk boundaries (70,000 elements) and for big-endian data.
TEST_CASE("npz: samples read straight from the archive equal the arrays read whole") {
  if (!zip_available()) return;
  const std::string path = (std::filesystem::temp_directory_path() / "xgrad_test_samples.npz").string();
  NpyArray f8{'f', 8, {70000}, ""}, i2{'i', 2, {7, 10000}, ""},
      u1{'u', 1, {3, 2}, std::string("\x01\x02\x03\xff\x00\x07", 6)};
  for (size_t i = 0; i < 70000; ++i) {
    const double d = 0.001 * double(i) - 7.5;
    const auto s = int16_t(int(i) * 37 - 30000);
    f8.data.append(reinterpret_cast<const char*>(&d), 8);
    i2.data.append(reinterpret_cast<const char*>(&s), 2);
  }
  for (bool deflate : {false, true}) {
    CAPTURE(deflate);
    write_zip(path,
              {{"f8.npy", npy_bytes(f8)},
               {"i2.npy", npy_bytes(i2)},
               {"u1.npy", npy_bytes(u1)},
               {"big.npy", read_text_file(fixture("f8_big.npy"))}},
              deflate);
    const NpzReader npz(path);
    CHECK(npz.names() == std::vector<std::string>{"f8", "i2", "u1", "big"});
    for (const char* name : {"f8", "i2", "big"}) {
      CAPTURE(name);
      const NpySamples s = npz.read_samples(name);
      CHECK(s.bytes.empty());
      CHECK(s.header.shape == npz.read(name).shape);
      CHECK(s.floats == values_of(npz.read(name)));
    }
    const NpySamples bytes = npz.read_samples("u1");
    CHECK(bytes.floats.empty());
    CHECK(bytes.bytes == std::vector<uint8_t>{1, 2, 3, 255, 0, 7});
  }
  std::string zip = zip_bytes({{"f8.npy", npy_bytes(f8)}}, true);
  zip[zip.size() / 2] ^= 0x55;  // corrupt the deflated data
  write_file_atomic(path, zip);
  CHECK_THROWS_WITH_AS(NpzReader(path).read_samples("f8"), doctest::Contains((path + ": f8.npy: ").c_str()),
                       Error);
  std::filesystem::remove(path);
}
