#include "core/hdf5.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/error.h"

#ifdef XGRAD_HAVE_HDF5
#include <hdf5.h>
#endif

namespace xgrad::hdf5 {

bool has_signature(const std::string& bytes) {
  return bytes.size() >= 8 && std::memcmp(bytes.data(), "\x89HDF\r\n\x1a\n", 8) == 0;
}

#ifndef XGRAD_HAVE_HDF5

namespace {
[[noreturn]] void missing(const std::string& what) {
  throw Error(what +
              ": this xgrad was built without HDF5 (install libhdf5-dev and rebuild to read .h5 files)");
}
}  // namespace

bool available() { return false; }
Group::Group(long long id, std::string source, std::string path)
    : id_(id), source_(std::move(source)), path_(std::move(path)) {}
Group::Group(Group&&) noexcept = default;
Group& Group::operator=(Group&&) noexcept = default;
Group::~Group() = default;
bool Group::has_group(const std::string&) const { missing(source_); }
bool Group::has_dataset(const std::string&) const { missing(source_); }
bool Group::has_attr(const std::string&) const { missing(source_); }
Group Group::group(const std::string&) const { missing(source_); }
std::vector<std::string> Group::children() const { missing(source_); }
std::vector<std::string> Group::string_list_attr(const std::string&) const { missing(source_); }
std::string Group::string_attr(const std::string&) const { missing(source_); }
Tensor Group::dataset(const std::string&) const { missing(source_); }
Group Group::create_group(const std::string&) const { missing(source_); }
void Group::write_string_attr(const std::string&, const std::string&, bool) const { missing(source_); }
void Group::write_string_list_attr(const std::string&, const std::vector<std::string>&) const {
  missing(source_);
}
void Group::write_dataset(const std::string&, const Tensor&) const { missing(source_); }
Group open_file(const std::string& path) { missing(path); }
Group open_image(const std::string&, const std::string& source) { missing(source); }
Group create_file(const std::string& path) { missing(path); }

#else

namespace {

// The library prints its error stack to stderr by default; xgrad reports its own errors.
void silence() {
  static const bool done = (H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), true);
  (void)done;
}

// Closes any HDF5 identifier on scope exit.
class Handle {
 public:
  explicit Handle(hid_t id = H5I_INVALID_HID) : id_(id) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (id_ < 0) return;
    switch (H5Iget_type(id_)) {
      case H5I_FILE:
        H5Fclose(id_);
        break;
      case H5I_GROUP:
        H5Gclose(id_);
        break;
      case H5I_DATASET:
        H5Dclose(id_);
        break;
      case H5I_ATTR:
        H5Aclose(id_);
        break;
      case H5I_DATATYPE:
        H5Tclose(id_);
        break;
      case H5I_DATASPACE:
        H5Sclose(id_);
        break;
      case H5I_GENPROP_LST:
        H5Pclose(id_);
        break;
      default:
        break;
    }
  }
  hid_t get() const { return id_; }
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
};

std::string join(const std::string& path, const std::string& name) {
  return path == "/" ? "/" + name : path + "/" + name;
}

// True when every component of `name` is a hard link (Keras refuses soft and external links too).
bool hard_path_exists(hid_t loc, const std::string& name) {
  if (name.empty() || name.front() == '/') return false;
  std::string prefix;
  for (size_t start = 0; start <= name.size();) {
    const size_t slash = std::min(name.find('/', start), name.size());
    if (slash == start) return false;
    prefix = name.substr(0, slash);
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    H5L_info_t info;
    if (H5Lget_info(loc, prefix.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_HARD) return false;
    start = slash + 1;
  }
  return true;
}

H5I_type_t object_type(hid_t loc, const std::string& name) {
  if (!hard_path_exists(loc, name)) return H5I_BADID;
  Handle obj(H5Oopen(loc, name.c_str(), H5P_DEFAULT));
  return obj.ok() ? H5Iget_type(obj.get()) : H5I_BADID;
}

std::vector<std::string> read_strings(hid_t attr, hid_t type, hssize_t count, const std::string& where) {
  std::vector<std::string> out;
  if (H5Tis_variable_str(type) > 0) {
    std::vector<char*> ptrs(size_t(count), nullptr);
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type));
    if (H5Aread(attr, mem.get(), ptrs.data()) < 0) throw Error(where + ": unreadable string attribute");
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
    return out;
  }
  const size_t width = H5Tget_size(type);
  std::vector<char> buf(size_t(count) * width);
  if (H5Aread(attr, type, buf.data()) < 0) throw Error(where + ": unreadable string attribute");
  for (hssize_t i = 0; i < count; ++i) {
    std::string s(buf.data() + size_t(i) * width, width);
    s = s.substr(0, s.find('\0'));
    if (H5Tget_strpad(type) == H5T_STR_SPACEPAD) s = s.substr(0, s.find_last_not_of(' ') + 1);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

bool available() { return true; }

Group::Group(long long id, std::string source, std::string path)
    : id_(id), source_(std::move(source)), path_(std::move(path)) {}
Group::Group(Group&& o) noexcept
    : id_(std::exchange(o.id_, -1)), source_(std::move(o.source_)), path_(std::move(o.path_)) {}
Group& Group::operator=(Group&& o) noexcept {
  std::swap(id_, o.id_);
  std::swap(source_, o.source_);
  std::swap(path_, o.path_);
  return *this;
}
Group::~Group() { Handle closer{hid_t(id_)}; }

bool Group::has_group(const std::string& name) const { return object_type(id_, name) == H5I_GROUP; }
bool Group::has_dataset(const std::string& name) const { return object_type(id_, name) == H5I_DATASET; }
bool Group::has_attr(const std::string& name) const { return H5Aexists(id_, name.c_str()) > 0; }

Group Group::group(const std::string& name) const {
  if (!has_group(name)) throw Error(where() + ": no group \"" + name + "\"");
  Handle g(H5Gopen2(id_, name.c_str(), H5P_DEFAULT));
  if (!g.ok()) throw Error(where() + ": cannot open group \"" + name + "\"");
  return Group(g.release(), source_, join(path_, name));
}

std::vector<std::string> Group::children() const {
  std::vector<std::string> names;
  H5Literate(
      id_, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  return names;
}

std::vector<std::string> Group::string_list_attr(const std::string& name) const {
  const std::string at = where() + ": attribute \"" + name + "\"";
  if (!has_attr(name)) throw Error(where() + ": missing attribute \"" + name + "\"");
  Handle attr(H5Aopen(id_, name.c_str(), H5P_DEFAULT));
  Handle type(H5Aget_type(attr.get()));
  Handle space(H5Aget_space(attr.get()));
  if (!attr.ok() || !type.ok() || !space.ok()) throw Error(at + ": unreadable");
  const hssize_t count =
      H5Sget_simple_extent_type(space.get()) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space.get());
  if (count == 0) return {};
  if (H5Sget_simple_extent_ndims(space.get()) > 1)
    throw Error(at + ": expected a string or a 1-D list of strings");
  if (H5Tget_class(type.get()) != H5T_STRING) throw Error(at + ": expected strings, found numbers");
  return read_strings(attr.get(), type.get(), count, at);
}

std::string Group::string_attr(const std::string& name) const {
  std::vector<std::string> v = string_list_attr(name);
  if (v.size() != 1)
    throw Error(where() + ": attribute \"" + name + "\": expected one string, found " +
                std::to_string(v.size()));
  return v[0];
}

Tensor Group::dataset(const std::string& name) const {
  const std::string at = where() + ": dataset \"" + name + "\"";
  if (!has_dataset(name)) throw Error(where() + ": no dataset \"" + name + "\"");
  Handle ds(H5Dopen2(id_, name.c_str(), H5P_DEFAULT));
  Handle type(H5Dget_type(ds.get()));
  Handle space(H5Dget_space(ds.get()));
  if (!ds.ok() || !type.ok() || !space.ok()) throw Error(at + ": unreadable");
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) throw Error(at + ": expected numbers");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > kMaxDatasetRank) throw Error(at + ": unsupported rank " + std::to_string(rank));
  std::vector<hsize_t> dims(size_t(rank), 0);
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  Shape shape(dims.begin(), dims.end());
  const int64_t n = checked_numel(shape);
  if (n > kMaxDatasetElements) throw Error(at + ": too large " + to_string(shape));
  // The data must be in the file before xgrad allocates for it: an uncompressed dataset stores every
  // element, a compressed one at least 1/1032 of the bytes (deflate's best ratio).
  Handle plist(H5Dget_create_plist(ds.get()));
  const int filters = plist.ok() ? H5Pget_nfilters(plist.get()) : -1;
  const double stored = double(H5Dget_storage_size(ds.get())),
               need = double(n) * double(H5Tget_size(type.get()));
  if (n > 0 && (filters < 0 || stored * (filters == 0 ? 1.0 : 1032.0) < need))
    throw Error(at + ": shape " + to_string(shape) + " needs " + std::to_string(int64_t(need)) +
                " bytes of data, the file stores " + std::to_string(int64_t(stored)));
  Tensor t = make_tensor(shape);
  if (t.size() > 0 && H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data()) < 0)
    throw Error(at + ": unreadable data");
  return t;
}

Group Group::create_group(const std::string& name) const {
  Handle g(H5Gcreate2(id_, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!g.ok()) throw Error(where() + ": cannot create group \"" + name + "\"");
  return Group(g.release(), source_, join(path_, name));
}

void Group::write_string_attr(const std::string& name, const std::string& value, bool variable_length) const {
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), variable_length ? H5T_VARIABLE : std::max<size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr(H5Acreate2(id_, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  const char* ptr = value.c_str();
  const herr_t rc =
      variable_length ? H5Awrite(attr.get(), type.get(), &ptr) : H5Awrite(attr.get(), type.get(), ptr);
  if (!attr.ok() || rc < 0) throw Error(where() + ": cannot write attribute \"" + name + "\"");
}

void Group::write_string_list_attr(const std::string& name, const std::vector<std::string>& values) const {
  const hsize_t count = values.size();
  size_t width = 1;
  for (const std::string& v : values) width = std::max(width, v.size());
  Handle type(values.empty() ? H5Tcopy(H5T_IEEE_F64LE) : H5Tcopy(H5T_C_S1));
  if (!values.empty()) H5Tset_size(type.get(), width), H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  std::vector<char> buf(std::max<size_t>(values.size() * width, 1), '\0');
  for (size_t i = 0; i < values.size(); ++i)
    std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
  Handle space(H5Screate_simple(1, &count, nullptr));
  Handle attr(H5Acreate2(id_, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), buf.data()) < 0)
    throw Error(where() + ": cannot write attribute \"" + name + "\"");
}

void Group::write_dataset(const std::string& name, const Tensor& values) const {
  std::vector<hsize_t> dims(values.shape().begin(), values.shape().end());
  Handle space(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(int(dims.size()), dims.data(), nullptr));
  Handle links(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(links.get(), 1);
  Handle ds(
      H5Dcreate2(id_, name.c_str(), H5T_IEEE_F32LE, space.get(), links.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!ds.ok() || H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
    throw Error(where() + ": cannot write dataset \"" + name + "\"");
}

Group open_file(const std::string& path) {
  silence();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (or unreadable)");
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!f.ok()) throw Error(path + ": cannot open as HDF5 (corrupt or truncated?)");
  return Group(f.release(), path, "/");
}

Group open_image(const std::string& bytes, const std::string& source) {
  silence();
  if (!has_signature(bytes)) throw Error(source + ": not an HDF5 file");
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  // The core driver reads from memory; the image is copied, so `bytes` may go away afterwards.
  if (H5Pset_fapl_core(fapl.get(), 1 << 16, 0) < 0 ||
      H5Pset_file_image(fapl.get(), const_cast<char*>(bytes.data()), bytes.size()) < 0)
    throw Error(source + ": cannot hand the HDF5 image to the library");
  Handle f(H5Fopen(source.c_str(), H5F_ACC_RDONLY, fapl.get()));
  if (!f.ok()) throw Error(source + ": cannot open as HDF5 (corrupt or truncated?)");
  return Group(f.release(), source, "/");
}

Group create_file(const std::string& path) {
  silence();
  Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!f.ok()) throw Error(path + ": cannot create HDF5 file");
  return Group(f.release(), path, "/");
}

#endif

}  // namespace xgrad::hdf5
