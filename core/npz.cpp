// .npy per NumPy's format spec (numpy/lib/format.py): magic "\x93NUMPY", version, little-endian
// header length (2 bytes in 1.0, 4 in 2.0/3.0), a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and '\n', the data.
#include "core/npz.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/json_io.h"
#include "core/zip.h"

namespace xgrad {
namespace {

const std::string kMagic = "\x93NUMPY";

// The subset of Python literal syntax numpy writes in .npy headers.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

  void parse(std::string& descr, bool& fortran, Shape& shape) {
    bool has_descr = false, has_fortran = false, has_shape = false;
    expect('{');
    while (!eat('}')) {
      const std::string key = str();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (i_ < s_.size() && s_[i_] == '[')
          fail("structured dtypes are not supported, expected a numeric dtype");
        descr = str(), has_descr = true;
      } else if (key == "fortran_order") {
        fortran = boolean(), has_fortran = true;
      } else if (key == "shape") {
        shape = tuple(), has_shape = true;
      } else {
        fail("unknown header key '" + key + "', expected descr, fortran_order and shape");
      }
      if (!eat(',')) {
        expect('}');
        break;
      }
    }
    skip_ws();
    if (i_ != s_.size()) fail("unexpected text after the header dict");
    if (!has_descr || !has_fortran || !has_shape)
      fail("the header dict lacks " + std::string(!has_descr     ? "'descr'"
                                                  : !has_fortran ? "'fortran_order'"
                                                                 : "'shape'"));
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where_ + ": bad .npy header: " + what + " (header: " + s_.substr(0, 200) + ")");
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  std::string str() {
    skip_ws();
    const char q = i_ < s_.size() ? s_[i_] : 0;
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(i_ + 1, end - i_ - 1);
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_ws();
    for (const char* word : {"True", "False"})
      if (s_.compare(i_, std::strlen(word), word) == 0) return i_ += std::strlen(word), word[0] == 'T';
    fail("expected True or False for fortran_order");
  }
  Shape tuple() {
    expect('(');
    Shape shape;
    while (!eat(')')) {
      skip_ws();
      size_t used = 0;
      int64_t d = -1;
      if (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
        try {
          d = std::stoll(s_.substr(i_, 20), &used);
        } catch (const std::exception&) {
          fail("shape dimension out of range");
        }
      }
      if (d < 0) fail("expected a non-negative integer in the shape tuple");
      shape.push_back(d);
      i_ += used;
      if (!eat(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  const std::string& s_;
  const std::string& where_;
  size_t i_ = 0;
};

// "<f4" -> kind 'f', itemsize 4, swap false; throws for dtypes xgrad cannot use.
void parse_descr(const std::string& d, NpyArray& a, bool& swap, const std::string& where) {
  auto unsupported = [&] {
    throw Error(where + ": dtype '" + d +
                "' is not supported, expected a numeric dtype (<f4, <f8, |u1, |i1, <i2, <i4, <i8, <u2, "
                "<u4, <u8, |b1)");
  };
  if (d.size() < 3 || std::string("<>|=").find(d[0]) == std::string::npos) unsupported();
  a.kind = d[1];
  const std::string size = d.substr(2);
  if (size != "1" && size != "2" && size != "4" && size != "8") unsupported();
  a.itemsize = size_t(size[0] - '0');
  const bool ok = (a.kind == 'f' && a.itemsize >= 4) || a.kind == 'i' || a.kind == 'u' ||
                  (a.kind == 'b' && a.itemsize == 1);
  if (!ok || (d[0] == '|' && a.itemsize != 1)) unsupported();
  swap = d[0] == '>' && a.itemsize > 1;
}

void byteswap_all(std::string& data, size_t itemsize) {
  for (size_t i = 0; i + itemsize <= data.size(); i += itemsize) std::reverse(&data[i], &data[i] + itemsize);
}

template <class T>
T element(const char* data, size_t i) {
  T v;
  std::memcpy(&v, data + i * sizeof(T), sizeof(T));
  return v;
}

// Calls f(value) for each of the n little-endian elements of `kind` and `itemsize` at `data`.
template <class F>
void for_each_value(char kind, size_t itemsize, const char* data, size_t n, F&& f) {
  auto loop = [&](auto zero) {
    for (size_t i = 0; i < n; ++i) f(element<decltype(zero)>(data, i));
  };
  if (kind == 'f') return itemsize == 4 ? loop(float()) : loop(double());
  if (kind == 'u' || kind == 'b') {
    if (itemsize == 1) return loop(uint8_t());
    if (itemsize == 2) return loop(uint16_t());
    return itemsize == 4 ? loop(uint32_t()) : loop(uint64_t());
  }
  if (itemsize == 1) return loop(int8_t());
  if (itemsize == 2) return loop(int16_t());
  return itemsize == 4 ? loop(int32_t()) : loop(int64_t());
}

template <class F>
void for_each_value(const NpyArray& a, F&& f) {
  for_each_value(a.kind, a.itemsize, a.data.data(), size_t(a.numel()), std::forward<F>(f));
}

}  // namespace

NpyArray read_npy_header(const NpyReadFn& read, uint64_t total, bool& swap, const std::string& where) {
  char prefix[12];
  if (total < 10) throw Error(where + ": not a .npy file: expected the magic bytes \\x93NUMPY and a version");
  read(prefix, 8);
  if (kMagic.compare(0, kMagic.size(), prefix, kMagic.size()) != 0)
    throw Error(where + ": not a .npy file: expected the magic bytes \\x93NUMPY and a version");
  const int major = uint8_t(prefix[6]);
  if (major < 1 || major > 3)
    throw Error(where + ": .npy format version " + std::to_string(major) + "." +
                std::to_string(uint8_t(prefix[7])) + " is not supported, expected 1.0, 2.0 or 3.0");
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (total < 8 + len_bytes) throw Error(where + ": file ends inside the .npy header");
  read(prefix + 8, len_bytes);
  uint64_t header_len = 0;
  for (size_t k = 0; k < len_bytes; ++k) header_len |= uint64_t(uint8_t(prefix[8 + k])) << (8 * k);
  const uint64_t data_start = 8 + len_bytes + header_len;
  if (data_start > total)
    throw Error(where + ": file ends inside the .npy header: it declares " + std::to_string(header_len) +
                " header bytes, the file has " + std::to_string(total - 8 - len_bytes));
  std::string header(size_t(header_len), '\0');  // at most the file's size
  read(header.data(), header.size());
  NpyArray a;
  std::string descr;
  bool fortran = false;
  HeaderParser(header, where).parse(descr, fortran, a.shape);
  parse_descr(descr, a, swap, where);
  if (fortran && a.shape.size() > 1)
    throw Error(where +
                ": Fortran-order arrays are not supported, expected C order (save "
                "np.ascontiguousarray(x))");
  // A zero dim makes no bytes, but the other dims still size the tensor's strides: they must fit too.
  uint64_t need = a.itemsize, span = a.itemsize;
  for (int64_t d : a.shape) {
    if (__builtin_mul_overflow(span, uint64_t(std::max<int64_t>(d, 1)), &span) || span > kMaxNpyBytes)
      throw Error(where + ": shape " + to_string(a.shape) + " is too large");
    need *= uint64_t(d);  // at most span
  }
  const uint64_t have = total - data_start;
  if (have != need)
    throw Error(where + ": data has " + std::to_string(have) + " bytes, shape " + to_string(a.shape) + " " +
                descr + " needs " + std::to_string(need) + (have < need ? " (truncated file)" : ""));
  return a;
}

void read_npy_floats(const NpyReadFn& read, const NpyArray& h, bool swap, float* out) {
  const size_t n = size_t(h.numel());
  if (h.kind == 'f' && h.itemsize == 4 && !swap) return read(reinterpret_cast<char*>(out), n * sizeof(float));
  std::string chunk;
  for (size_t done = 0; done < n;) {
    const size_t count = std::min<size_t>(n - done, size_t(1) << 16);
    chunk.resize(count * h.itemsize);
    read(chunk.data(), chunk.size());
    if (swap) byteswap_all(chunk, h.itemsize);
    for_each_value(h.kind, h.itemsize, chunk.data(), count, [&out](auto v) { *out++ = float(v); });
    done += count;
  }
}

std::string NpyArray::descr() const {
  return std::string(itemsize == 1 ? "|" : "<") + kind + std::to_string(itemsize);
}

NpyArray parse_npy(const std::string& bytes, const std::string& where) {
  size_t pos = 0;
  const auto read = [&](char* dst, size_t n) {
    std::memcpy(dst, bytes.data() + pos, n);  // read_npy_header never reads past `total`
    pos += n;
  };
  bool swap = false;
  NpyArray a = read_npy_header(read, bytes.size(), swap, where);
  a.data = bytes.substr(pos);
  if (swap) byteswap_all(a.data, a.itemsize);
  return a;
}

std::string npy_bytes(const NpyArray& a) {
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(a.shape[i]);
  shape += a.shape.size() == 1 ? ",)" : ")";
  std::string header = "{'descr': '" + a.descr() + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const bool v2 = header.size() + 1 + 10 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  header.append(63 - (prefix + header.size()) % 64, ' ');  // data starts 64-byte aligned
  header += '\n';
  std::string out = kMagic + char(v2 ? 2 : 1) + char(0);
  for (size_t k = 0; k < (v2 ? 4u : 2u); ++k) out += char((header.size() >> (8 * k)) & 0xff);
  return out + header + a.data;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_text_file(path, kMaxNpyBytes), path); }

void write_npy(const std::string& path, const NpyArray& a) { write_file_atomic(path, npy_bytes(a)); }

NpyArray npy_from_tensor(const Tensor& t) {
  NpyArray a;
  a.shape = shape_of(t);
  a.data.assign(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(float));
  return a;
}

NpyArray npy_uint8(const Shape& shape, const std::vector<uint8_t>& values) {
  NpyArray a{'u', 1, shape, std::string(values.begin(), values.end())};
  if (int64_t(values.size()) != a.numel())
    throw Error("npy_uint8: " + std::to_string(values.size()) + " values for shape " + to_string(shape));
  return a;
}

Tensor npy_to_tensor(const NpyArray& a) {
  Tensor t = make_tensor(a.shape);
  float* out = t.data();
  for_each_value(a, [&out](auto v) { *out++ = float(v); });
  return t;
}

std::vector<int64_t> npy_to_int64(const NpyArray& a, const std::string& where) {
  std::vector<int64_t> out;
  out.reserve(size_t(a.numel()));
  for_each_value(a, [&](auto v) {
    if constexpr (std::is_floating_point_v<decltype(v)>) {
      if (!(std::nearbyint(v) == v && std::abs(v) < 9e15))
        throw Error(where + ": element " + std::to_string(out.size()) + " is " + std::to_string(v) +
                    ", expected an integer value");
    }
    out.push_back(int64_t(v));
  });
  return out;
}

}  // namespace xgrad
