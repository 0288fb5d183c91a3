// Faults around saving and loading: a full disk, short writes, a process killed while writing,
// symbolic links, the umask, concurrent readers, truncated and corrupted files.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <thread>

#include "core/json_io.h"
#include "graph/checkpoint.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using test::TempDir;

namespace {

// A write(2) that stops with `error` once `limit` bytes have been written.
WriteCall failing_after(size_t limit, int error) {
  auto written = std::make_shared<size_t>(0);
  return [=](int fd, const char* data, size_t size) -> long {
    if (*written >= limit) {
      errno = error;
      return -1;
    }
    const long n = long(::write(fd, data, std::min(size, limit - *written)));
    if (n > 0) *written += size_t(n);
    return n;
  };
}

}  // namespace

TEST_CASE("a full disk or a stalled write: error, the old file intact, no temp file") {
  TempDir dir;
  const std::string p = dir.write("model.json", "the previous model");
  CHECK_ERROR_HAS(write_file_atomic(p, std::string(100000, 'x'), failing_after(4096, ENOSPC)), "model.json",
                  "write failed", "No space left on device");
  CHECK_ERROR_HAS(write_file_atomic(p, "new", [](int, const char*, size_t) { return 0L; }), "no progress");
  CHECK(test::slurp(p) == "the previous model");
  CHECK(dir.entries() == std::vector<std::string>{"model.json"});
}

TEST_CASE("short writes and interrupted writes are resumed until everything is written") {
  TempDir dir;
  const std::string p = dir.path("out.txt");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += char('a' + i % 26);
  bool interrupted = false;
  write_file_atomic(p, text, [&](int fd, const char* data, size_t size) -> long {
    if (!interrupted) {
      interrupted = true;
      errno = EINTR;
      return -1;
    }
    return long(::write(fd, data, std::min<size_t>(size, 7)));
  });
  CHECK(test::slurp(p) == text);
  CHECK(dir.entries() == std::vector<std::string>{"out.txt"});
}

TEST_CASE("a process killed (SIGKILL) while writing leaves the old file and no temp file") {
  TempDir dir;
  const std::string p = dir.write("ck.json", "the previous checkpoint");
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    write_file_atomic(p, std::string(1 << 20, 'x'), [](int fd, const char* data, size_t size) -> long {
      const long n = long(::write(fd, data, std::min<size_t>(size, 1000)));
      ::kill(::getpid(), SIGKILL);  // half-way through
      return n;
    });
    ::_exit(0);  // not reached
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(test::slurp(p) == "the previous checkpoint");
  CHECK(dir.entries() == std::vector<std::string>{"ck.json"});
}

// chmod does not stop root, so as root the save runs in a child process that has dropped to the
// unprivileged user "nobody" (uid/gid 65534); as any other user it runs in the child as it is.
TEST_CASE("a save into a directory the user cannot write: error, the old file intact, no temp file") {
  namespace fs = std::filesystem;
  TempDir dir;
  fs::create_directory(dir.path("ro"));
  const std::string p = dir.write("ro/model.json", "the previous model");
  fs::permissions(dir.path(""), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(dir.path("ro"), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_exec |
                                      fs::perms::others_exec);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
    try {
      write_file_atomic(p, "the new model");
    } catch (const Error& e) {
      const std::string want = p + ": cannot create a file in " + dir.path("ro") + ": Permission denied";
      ::_exit(std::string(e.what()) == want ? 0 : 2);
    }
    ::_exit(1);  // the save went through
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 1: saved anyway, 2: another message, 3: could not drop root
  CHECK(test::slurp(p) == "the previous model");
  fs::permissions(dir.path("ro"), fs::perms::owner_all);
  CHECK(fs::directory_iterator(dir.path("ro"))->path().filename() == "model.json");
  CHECK(std::distance(fs::directory_iterator(dir.path("ro")), fs::directory_iterator()) == 1);
}

TEST_CASE("saving through a symbolic link writes the link's target and keeps the link") {
  TempDir dir;
  std::filesystem::create_directory(dir.path("real"));
  const std::string target = dir.write("real/model.json", "old");
  std::filesystem::create_symlink("real/model.json", dir.path("link.json"));       // relative link
  std::filesystem::create_symlink(dir.path("link.json"), dir.path("link2.json"));  // a chain
  write_file_atomic(dir.path("link2.json"), "new");
  CHECK(std::filesystem::is_symlink(dir.path("link.json")));
  CHECK(std::filesystem::is_symlink(dir.path("link2.json")));
  CHECK(test::slurp(target) == "new");
  // A dangling link: the file it names is created.
  std::filesystem::create_symlink("real/fresh.json", dir.path("dangling.json"));
  write_file_atomic(dir.path("dangling.json"), "fresh");
  CHECK(test::slurp(dir.path("real/fresh.json")) == "fresh");
  CHECK(std::filesystem::is_symlink(dir.path("dangling.json")));
  // A loop is an error, not a hang.
  std::filesystem::create_symlink("loop-b", dir.path("loop-a"));
  std::filesystem::create_symlink("loop-a", dir.path("loop-b"));
  CHECK_ERROR_HAS(write_file_atomic(dir.path("loop-a"), "x"), "loop-a", "too many levels of symbolic links");
}

TEST_CASE("new files get 0666 minus the umask, and saving never changes the umask another thread sees") {
  TempDir dir;
  const mode_t old_mask = ::umask(077);
  write_file_atomic(dir.path("private.json"), "{}");
  struct stat st {};
  REQUIRE(::stat(dir.path("private.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // Another thread creating files all the while must always get the 077 umask's mode.
  std::atomic<bool> done{false};
  std::thread saver([&] {
    for (int i = 0; i < 300; ++i) write_file_atomic(dir.path("s" + std::to_string(i % 5)), "x");
    done = true;
  });
  int wrong = 0, created = 0;
  while (!done) {
    const std::string p = dir.path("probe");
    const int fd = ::open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0666);
    if (fd >= 0) {
      struct stat ps {};
      ::fstat(fd, &ps);
      wrong += (ps.st_mode & 0777) != 0600;
      ++created;
      ::close(fd);
      ::unlink(p.c_str());
    }
  }
  saver.join();
  ::umask(old_mask);
  CHECK(created > 0);
  CHECK(wrong == 0);
}

TEST_CASE("readers of a model being re-saved see the complete old or the complete new file") {
  TempDir dir;
  const Graph g = mlp({4}, "relu", 3);
  Rng rng(1);
  const Params a = init_params(g, rng), b = init_params(g, rng);
  const std::string text_a = model_to_string(g, &a, nlohmann::json::object());
  const std::string text_b = model_to_string(g, &b, nlohmann::json::object());
  const std::string p = dir.path("m.json");
  save_model(p, g, &a, nlohmann::json::object());
  std::atomic<bool> done{false};
  std::thread saver([&] {
    for (int i = 0; i < 100; ++i) save_model(p, g, i % 2 ? &a : &b, nlohmann::json::object());
    done = true;
  });
  int reads = 0, torn = 0;
  while (!done || reads == 0) {
    const std::string seen = read_text_file(p);
    torn += seen != text_a && seen != text_b;
    load_model(p);  // and the loader accepts every version it sees
    ++reads;
  }
  saver.join();
  CHECK(reads > 0);
  CHECK(torn == 0);
  CHECK(dir.entries() == std::vector<std::string>{"m.json"});
}

TEST_CASE("a truncated or corrupted model or checkpoint is refused with a message naming the file") {
  TempDir dir;
  const Graph g = mlp({3}, "relu", 3);
  Rng rng(2);
  Params p = init_params(g, rng);
  TrainConfig c;
  Trainer t(g, p, c);
  const std::string model = model_to_string(g, &p, nlohmann::json::object());
  const std::string checkpoint = dump_json(checkpoint_to_json(t.checkpoint()));
  const std::string model_gz = gzip_compress(model);
  for (size_t k = 1; k < 20; ++k) {
    const std::string m = dir.write("m.json", model.substr(0, model.size() * k / 20));
    CHECK_ERROR_HAS(load_model(m), "m.json: ");
    const std::string z = dir.write("m.json.gz", model_gz.substr(0, model_gz.size() * k / 20));
    CHECK_ERROR_HAS(load_model(z), "m.json.gz: ");
    const std::string ck = dir.write("ck.json", checkpoint.substr(0, checkpoint.size() * k / 20));
    CHECK_ERROR_HAS(load_checkpoint(ck), "ck.json: ");
  }
  // A flipped byte inside the gzip stream fails its CRC; a stray byte in the JSON breaks its syntax.
  std::string flipped = model_gz;
  flipped[flipped.size() / 2] = char(flipped[flipped.size() / 2] ^ 0x40);
  CHECK_ERROR_HAS(load_model(dir.write("f.json.gz", flipped)), "f.json.gz: ");
  std::string stray = checkpoint;
  stray[stray.find("\"progress\"")] = '\x01';
  CHECK_ERROR_HAS(load_checkpoint(dir.write("s.json", stray)), "s.json: ");
}
