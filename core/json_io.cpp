// Bounded file reads and atomic file writes (POSIX).
#include "core/json_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace xgrad {
namespace {

std::string errno_text() { return std::strerror(errno); }

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The mode a new file gets from open(2): 0666 minus the umask (read without changing it for good).
mode_t default_file_mode() {
  const mode_t mask = ::umask(022);
  ::umask(mask);
  return 0666 & ~mask;
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path + ": write failed: " + (n < 0 ? errno_text() : "no progress"));
    done += size_t(n);
  }
}

// Removes the temp file unless the write was committed.
struct TempFile {
  std::string path;
  Fd file;
  bool committed = false;
  ~TempFile() {
    if (!committed) ::unlink(path.c_str());
  }
};

}  // namespace

std::string read_text_file(const std::string& path, size_t max_bytes) {
  Fd f;
  // O_NONBLOCK: opening a FIFO without a writer must not hang.
  f.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (f.fd < 0) throw Error(path + ": cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw Error(path + ": cannot stat: " + errno_text());
  if (S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, expected a file");
  const bool regular = S_ISREG(st.st_mode);
  if (regular && uint64_t(st.st_size) > max_bytes)
    throw Error(path + ": file is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                std::to_string(max_bytes));
  ::fcntl(f.fd, F_SETFL, ::fcntl(f.fd, F_GETFL) & ~O_NONBLOCK);
  std::string out;
  if (regular) out.reserve(size_t(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path + ": read failed: " + errno_text());
    if (n == 0) break;
    if (out.size() + size_t(n) > max_bytes)
      throw Error(path + ": more than the limit of " + std::to_string(max_bytes) + " bytes");
    out.append(buf, size_t(n));
  }
  return out;
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  if (path.empty()) throw Error("cannot write a file with an empty name");
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, cannot write a file over it");
  // A replaced file keeps its permission bits; a new one gets what open(2) would give it.
  const mode_t mode = exists ? (st.st_mode & 07777) : default_file_mode();

  TempFile tmp;
  tmp.path = path + ".tmp-XXXXXX";
  tmp.file.fd = ::mkstemp(tmp.path.data());
  if (tmp.file.fd < 0) {
    tmp.committed = true;  // nothing was created
    throw Error(path + ": cannot create a file in " + parent_dir(path) + ": " + errno_text());
  }
  write_all(tmp.file.fd, contents, path);
  if (::fchmod(tmp.file.fd, mode) != 0) throw Error(path + ": cannot set permissions: " + errno_text());
  if (::fsync(tmp.file.fd) != 0) throw Error(path + ": fsync failed: " + errno_text());
  const int fd = tmp.file.fd;
  tmp.file.fd = -1;
  if (::close(fd) != 0) throw Error(path + ": close failed: " + errno_text());
  if (::rename(tmp.path.c_str(), path.c_str()) != 0)
    throw Error(path + ": cannot replace the file: " + errno_text());
  tmp.committed = true;
  // Make the rename itself durable; a directory that cannot be synced is not an error.
  Fd dir;
  dir.fd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir.fd >= 0) ::fsync(dir.fd);
}

nlohmann::json read_json_file(const std::string& path, size_t max_bytes) {
  std::string text = read_text_file(path, max_bytes);
  if (is_gzip(text)) text = gzip_decompress(text, path, max_bytes);
  return parse_json(text, path);
}

}  // namespace xgrad
