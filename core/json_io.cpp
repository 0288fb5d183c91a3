// Bounded file reads and atomic file writes (POSIX).
#include "core/json_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
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

void write_all(int fd, const std::string& data, const std::string& path, const WriteCall& write_call) {
  size_t done = 0;
  while (done < data.size()) {
    const long n = write_call(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path + ": write failed: " + (n < 0 ? errno_text() : "no progress"));
    done += size_t(n);
  }
}

// The file a path names once its symbolic links are followed (a dangling link names its target).
std::string follow_symlinks(const std::string& path) {
  std::string target = path;
  for (int depth = 0; depth < 40; ++depth) {
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return target;
    std::string link(size_t(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
    const ssize_t n = ::readlink(target.c_str(), link.data(), link.size());
    if (n < 0) throw Error(path + ": cannot read the symbolic link " + target + ": " + errno_text());
    link.resize(size_t(n));
    target = link[0] == '/' ? link : parent_dir(target) + "/" + link;
  }
  throw Error(path + ": too many levels of symbolic links");
}

// Removes a named temp file unless the write was committed; an unnamed one (path "") vanishes with
// its descriptor.
struct TempFile {
  std::string path;
  Fd file;
  bool committed = false;
  ~TempFile() {
    if (!committed && !path.empty()) ::unlink(path.c_str());
  }
};

std::string temp_name(const std::string& target) {
  static std::atomic<unsigned> counter{0};
  return target + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// A new file for the contents, created with mode 0666 so open(2) applies the umask (reading the
// umask would mean changing it, which races with other threads). Preferably unnamed (O_TMPFILE):
// a process killed while writing then leaves nothing behind. `name` is "" for an unnamed file.
int create_temp(const std::string& target, std::string& name) {
  static const bool can_link_unnamed = ::access("/proc/self/fd", X_OK) == 0;
  if (can_link_unnamed) {
    const int fd = ::open(parent_dir(target).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
  }
  for (;;) {
    name = temp_name(target);
    const int fd = ::open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
}

// Gives an unnamed temp file a name beside the target, for the final rename.
std::string link_unnamed(int fd, const std::string& target) {
  const std::string self = "/proc/self/fd/" + std::to_string(fd);
  for (;;) {
    std::string name = temp_name(target);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return name;
    if (errno != EEXIST) throw Error(target + ": cannot name the new file: " + errno_text());
  }
}

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
  write_file_atomic(path, contents,
                    [](int fd, const char* data, size_t size) { return long(::write(fd, data, size)); });
}

void write_file_atomic(const std::string& path, const std::string& contents, const WriteCall& write_call) {
  if (path.empty()) throw Error("cannot write a file with an empty name");
  const std::string target = follow_symlinks(path);
  struct stat st {};
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) throw Error(path + ": is a directory, cannot write a file over it");

  TempFile tmp;
  tmp.file.fd = create_temp(target, tmp.path);
  if (tmp.file.fd < 0)
    throw Error(path + ": cannot create a file in " + parent_dir(target) + ": " + errno_text());
  write_all(tmp.file.fd, contents, path, write_call);
  // A replaced file keeps its permission bits; a new one has what open(2) gave it.
  if (exists && ::fchmod(tmp.file.fd, st.st_mode & 07777) != 0)
    throw Error(path + ": cannot set permissions: " + errno_text());
  if (::fsync(tmp.file.fd) != 0) throw Error(path + ": fsync failed: " + errno_text());
  if (tmp.path.empty()) tmp.path = link_unnamed(tmp.file.fd, target);
  const int fd = tmp.file.fd;
  tmp.file.fd = -1;
  if (::close(fd) != 0) throw Error(path + ": close failed: " + errno_text());
  if (::rename(tmp.path.c_str(), target.c_str()) != 0)
    throw Error(path + ": cannot replace the file: " + errno_text());
  tmp.committed = true;
  // Make the rename itself durable; a directory that cannot be synced is not an error.
  Fd dir;
  dir.fd = ::open(parent_dir(target).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir.fd >= 0) ::fsync(dir.fd);
}

nlohmann::json read_json_file(const std::string& path, size_t max_bytes) {
  std::string text = read_text_file(path, max_bytes);
  if (is_gzip(text)) text = gzip_decompress(text, path, max_bytes);
  return parse_json(text, path);
}

}  // namespace xgrad
