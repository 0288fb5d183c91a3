// Zip archives over minizip, with an in-memory file layer so archives are parsed from a buffer and
// built into one (then written atomically).
#include "core/zip.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/json_io.h"

#ifdef XGRAD_HAVE_MINIZIP
#include <minizip/unzip.h>
#include <minizip/zip.h>
#endif

namespace xgrad {

namespace {
constexpr uint64_t kMaxDeflateRatio = 1032;  // deflate's largest expansion (RFC 1951 blocks)
}  // namespace

#ifdef XGRAD_HAVE_MINIZIP
// A growable byte buffer that minizip reads and writes through its file callbacks. Not in the
// anonymous namespace: ZipReader::Impl, which has external linkage, holds one.
struct MemFile {
  std::string* bytes;
  uint64_t pos = 0;
};

namespace {

voidpf ZCALLBACK mem_open(voidpf opaque, const void*, int) { return opaque; }

uLong ZCALLBACK mem_read(voidpf, voidpf stream, void* buf, uLong size) {
  auto* f = static_cast<MemFile*>(stream);
  const uint64_t left = f->pos < f->bytes->size() ? f->bytes->size() - f->pos : 0;
  const uLong n = uLong(std::min<uint64_t>(size, left));
  std::memcpy(buf, f->bytes->data() + f->pos, n);
  f->pos += n;
  return n;
}

uLong ZCALLBACK mem_write(voidpf, voidpf stream, const void* buf, uLong size) {
  auto* f = static_cast<MemFile*>(stream);
  if (f->pos + size > f->bytes->size()) f->bytes->resize(size_t(f->pos + size));
  std::memcpy(f->bytes->data() + f->pos, buf, size);
  f->pos += size;
  return size;
}

ZPOS64_T ZCALLBACK mem_tell(voidpf, voidpf stream) { return static_cast<MemFile*>(stream)->pos; }

long ZCALLBACK mem_seek(voidpf, voidpf stream, ZPOS64_T offset, int origin) {
  auto* f = static_cast<MemFile*>(stream);
  uint64_t base = 0;
  if (origin == ZLIB_FILEFUNC_SEEK_CUR) base = f->pos;
  if (origin == ZLIB_FILEFUNC_SEEK_END) base = f->bytes->size();
  if (base + offset > f->bytes->size() && origin != ZLIB_FILEFUNC_SEEK_SET) return -1;
  f->pos = base + offset;
  return 0;
}

int ZCALLBACK mem_close(voidpf, voidpf) { return 0; }
int ZCALLBACK mem_error(voidpf, voidpf) { return 0; }

zlib_filefunc64_def mem_functions(MemFile* f) {
  zlib_filefunc64_def d{};
  d.zopen64_file = mem_open;
  d.zread_file = mem_read;
  d.zwrite_file = mem_write;
  d.ztell64_file = mem_tell;
  d.zseek64_file = mem_seek;
  d.zclose_file = mem_close;
  d.zerror_file = mem_error;
  d.opaque = f;
  return d;
}

std::string unz_error(int rc) {
  switch (rc) {
    case UNZ_CRCERROR:
      return "CRC check failed (corrupt data)";
    case UNZ_BADZIPFILE:
      return "bad zip structure";
    case UNZ_ERRNO:
    case Z_DATA_ERROR:
      return "corrupt or truncated data";
  }
  return "minizip error " + std::to_string(rc);
}

}  // namespace

struct ZipReader::Impl {
  std::string bytes, source;
  MemFile file{&bytes};
  unzFile zip = nullptr;
  std::vector<std::string> names;
  ~Impl() {
    if (zip) unzClose(zip);
  }
  void open();
  void seek(const std::string& name) const;
};

void ZipReader::Impl::open() {
  zlib_filefunc64_def funcs = mem_functions(&file);
  zip = unzOpen2_64("", &funcs);
  if (!zip) throw Error(source + ": not a zip archive (no valid end-of-central-directory record)");
  std::set<std::string> seen;
  for (int rc = unzGoToFirstFile(zip); rc != UNZ_END_OF_LIST_OF_FILE; rc = unzGoToNextFile(zip)) {
    if (rc != UNZ_OK) throw Error(source + ": corrupt zip directory (" + unz_error(rc) + ")");
    unz_file_info64 info{};
    char name[1024];
    rc = unzGetCurrentFileInfo64(zip, &info, name, sizeof name, nullptr, 0, nullptr, 0);
    if (rc != UNZ_OK) throw Error(source + ": corrupt zip directory (" + unz_error(rc) + ")");
    if (info.size_filename >= sizeof name)
      throw Error(source + ": an entry name is " + std::to_string(info.size_filename) +
                  " bytes long, at most 1023 supported");
    if (!seen.insert(name).second) throw Error(source + ": duplicate entry \"" + std::string(name) + "\"");
    names.emplace_back(name);
  }
}

void ZipReader::Impl::seek(const std::string& name) const {
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw Error(source + ": no entry \"" + name + "\"");
  if (unzLocateFile(zip, name.c_str(), 1) != UNZ_OK) throw Error(source + ": cannot locate \"" + name + "\"");
}

ZipReader::ZipReader(const std::string& path, size_t max_file_bytes)
    : ZipReader(read_text_file(path, max_file_bytes), path) {}

ZipReader::ZipReader(std::string bytes, std::string source) : impl_(std::make_unique<Impl>()) {
  impl_->bytes = std::move(bytes);
  impl_->source = std::move(source);
  impl_->open();
}

void ZipReader::stream(const std::string& name, uint64_t max_bytes,
                       const std::function<void(uint64_t size, const ReadFn& read)>& consume) const {
  impl_->seek(name);
  const std::string where = impl_->source + ": " + name;
  unzFile zip = impl_->zip;
  unz_file_info64 info{};
  if (unzGetCurrentFileInfo64(zip, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK)
    throw Error(where + ": cannot read the entry's header");
  if (info.flag & 1) throw Error(where + ": encrypted entries are not supported");
  if (info.compression_method != 0 && info.compression_method != Z_DEFLATED)
    throw Error(where + ": compression method " + std::to_string(info.compression_method) +
                " is not supported, expected stored (0) or deflate (8)");
  if (info.uncompressed_size > max_bytes)
    throw Error(where + ": " + std::to_string(info.uncompressed_size) + " bytes, more than the limit of " +
                std::to_string(max_bytes));
  // A size the entry's data cannot hold is refused before anything is allocated for it: stored
  // data is as long as its compressed form, and deflate expands at most 1032 to 1.
  const uint64_t packed = info.compressed_size, declared = info.uncompressed_size;
  if (packed > impl_->bytes.size() ||
      (info.compression_method == 0 ? declared != packed : declared / kMaxDeflateRatio > packed))
    throw Error(where + ": the entry declares " + std::to_string(declared) + " bytes from " +
                std::to_string(packed) + " bytes of " +
                (info.compression_method == 0 ? "stored" : "deflated") +
                " data (truncated or corrupt archive)");
  const int rc = unzOpenCurrentFile(zip);
  if (rc != UNZ_OK) throw Error(where + ": cannot open the entry (" + unz_error(rc) + ")");
  const uint64_t size = info.uncompressed_size;
  uint64_t pos = 0;
  const ReadFn read = [&](char* dst, size_t n) {
    const auto short_data = [&] {
      return Error(where + ": the entry's data does not match its declared size of " + std::to_string(size) +
                   " bytes (truncated or corrupt archive)");
    };
    if (n > size - pos) throw short_data();
    for (size_t got = 0; got < n;) {
      const int r = unzReadCurrentFile(zip, dst + got, unsigned(std::min<size_t>(n - got, 1u << 30)));
      if (r < 0) throw Error(where + ": " + unz_error(r));
      if (r == 0) throw short_data();
      got += size_t(r);
    }
    pos += n;
  };
  try {
    consume(size, read);
  } catch (...) {
    unzCloseCurrentFile(zip);
    throw;
  }
  char extra = 0;
  const int more = unzReadCurrentFile(zip, &extra, 1);
  const int close_rc = unzCloseCurrentFile(zip);
  if (more < 0) throw Error(where + ": " + unz_error(more));
  if (more > 0 || pos != size)
    throw Error(where + ": the entry's data does not match its declared size of " + std::to_string(size) +
                " bytes (truncated or corrupt archive)");
  if (close_rc != UNZ_OK) throw Error(where + ": " + unz_error(close_rc));
}

std::string ZipReader::read(const std::string& name, uint64_t max_bytes) const {
  std::string out;
  stream(name, max_bytes, [&out](uint64_t size, const ReadFn& read) {
    out.resize(size_t(size));
    read(out.data(), out.size());
  });
  return out;
}

std::string zip_bytes(const std::vector<ZipEntry>& entries, bool deflate) {
  std::string bytes;
  MemFile file{&bytes};
  zlib_filefunc64_def funcs = mem_functions(&file);
  zipFile zip = zipOpen2_64("", APPEND_STATUS_CREATE, nullptr, &funcs);
  if (!zip) throw Error("zip: cannot start an archive");
  auto fail = [&](const std::string& what) {
    zipClose(zip, nullptr);
    throw Error("zip: " + what);
  };
  for (const ZipEntry& e : entries) {
    zip_fileinfo info{};
    info.tmz_date.tm_year = 1980;  // the zip epoch: the same entries always give the same bytes
    info.tmz_date.tm_mday = 1;
    const int zip64 = e.data.size() >= 0xffffffffu ? 1 : 0;
    if (zipOpenNewFileInZip64(zip, e.name.c_str(), &info, nullptr, 0, nullptr, 0, nullptr,
                              deflate ? Z_DEFLATED : 0, deflate ? Z_DEFAULT_COMPRESSION : 0, zip64) != ZIP_OK)
      fail("cannot add entry \"" + e.name + "\"");
    for (size_t done = 0; done < e.data.size();) {
      const unsigned n = unsigned(std::min<size_t>(e.data.size() - done, 1u << 30));
      if (zipWriteInFileInZip(zip, e.data.data() + done, n) != ZIP_OK)
        fail("cannot write \"" + e.name + "\"");
      done += n;
    }
    if (zipCloseFileInZip(zip) != ZIP_OK) fail("cannot finish entry \"" + e.name + "\"");
  }
  if (zipClose(zip, nullptr) != ZIP_OK) throw Error("zip: cannot finish the archive");
  return bytes;
}

bool zip_available() { return true; }

#else  // built without minizip

struct ZipReader::Impl {
  std::string source;
  std::vector<std::string> names;
};

namespace {
[[noreturn]] void no_minizip(const std::string& what) {
  throw Error(what +
              ": zip archives need minizip, and this xgrad was built without it (install "
              "libminizip-dev and rebuild)");
}
}  // namespace

ZipReader::ZipReader(const std::string& path, size_t) { no_minizip(path); }
ZipReader::ZipReader(std::string, std::string source) { no_minizip(source); }
std::string ZipReader::read(const std::string&, uint64_t) const { no_minizip(impl_->source); }
void ZipReader::stream(const std::string&, uint64_t,
                       const std::function<void(uint64_t, const ReadFn&)>&) const {
  no_minizip(impl_->source);
}
std::string zip_bytes(const std::vector<ZipEntry>&, bool) { no_minizip("zip"); }
bool zip_available() { return false; }

#endif

ZipReader::~ZipReader() = default;
ZipReader::ZipReader(ZipReader&&) noexcept = default;
ZipReader& ZipReader::operator=(ZipReader&&) noexcept = default;
const std::string& ZipReader::source() const { return impl_->source; }
const std::vector<std::string>& ZipReader::names() const { return impl_->names; }
bool ZipReader::contains(const std::string& name) const {
  return std::find(impl_->names.begin(), impl_->names.end(), name) != impl_->names.end();
}

void write_zip(const std::string& path, const std::vector<ZipEntry>& entries, bool deflate) {
  write_file_atomic(path, zip_bytes(entries, deflate));
}

}  // namespace xgrad
