#include "tests/fuzz/targets.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/idx.h"
#include "core/npz.h"
#include "graph/checkpoint.h"
#include "graph/feeds.h"
#include "graph/keras_import.h"
#include "graph/onnx.h"
#include "graph/serialize.h"
#include "models/lenet.h"

// Read by AddressSanitizer and LeakSanitizer at start-up (weak hooks; unused in other builds).
// libhdf5 is not instrumented, so its own reads go unchecked, but the libc calls it makes and the
// memory it allocates are. Debian 12's libhdf5 1.10.8 over-reads the name of a corrupt attribute in
// H5MM_strdup (keras_h5 target, tests/fuzz/regressions/keras_h5/libhdf5-attribute-name-overread.h5)
// and leaks metadata-cache entries when H5Fopen fails on a corrupt root group. xgrad cannot fix or
// avoid either, so reports from interceptors called by libhdf5 and leaks of memory libhdf5
// allocated are suppressed in the fuzz harness and the tests; a crash in libhdf5 and any report from
// xgrad's own code still fail.
extern "C" const char* __asan_default_suppressions() { return "interceptor_via_lib:libhdf5_serial.so\n"; }
extern "C" const char* __lsan_default_suppressions() { return "leak:libhdf5_serial.so\n"; }
// libhdf5 also sizes metadata-cache entries from the file: a corrupt one asks malloc for exabytes
// (keras_h5 target, tests/fuzz/regressions/keras_h5/libhdf5-huge-metadata-alloc.h5) and handles
// the null it gets back as an error. ASan's default is to abort on such a request; with this, C
// malloc returns null as it would without ASan, while C++ operator new (all of xgrad's own
// allocations) still reports any failed allocation.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace xgrad::fuzz {
namespace {

void load_model_file(const std::string& path) { load_model(path); }
void load_idx_file(const std::string& path) { read_idx(path); }
void load_npy_file(const std::string& path) { npy_to_tensor(read_npy(path)); }
void load_npz_file(const std::string& path) {
  for (const auto& [name, array] : read_npz(path)) npy_to_tensor(array);
}
void load_onnx_file(const std::string& path) { import_onnx(path); }
void load_keras_file(const std::string& path) { import_keras(path); }

// The inputs of LeNet: image [-1, 1, 28, 28] and label [-1].
void load_feeds_file(const std::string& path) {
  static const Graph g = lenet();
  load_feeds(path, g);
}

// The checkpoint reader, then resume into the graph the seeds were made with (checks settings,
// weights and optimizer state).
void load_checkpoint_file(const std::string& path) {
  const Checkpoint c = load_checkpoint(path);
  static const Graph g = mlp({2}, "relu", 10);
  Rng rng(0);
  Params params = init_params(g, rng);
  Trainer trainer(g, params, c.config);
  try {
    trainer.resume(c);
  } catch (const std::exception& e) {
    rethrow_with_context(path, e);
  }
}

// The input as a file with a name no other process can hold (mkstemps), removed after each run
// (also when the loader throws). A name made from the PID alone is shared by processes with the
// same PID in other PID namespaces (containers sharing /tmp), which could overwrite each other's input.
struct InputFile {
  std::string path;
  InputFile(const char* suffix, const uint8_t* bytes, size_t size) {
    std::string name = (std::filesystem::temp_directory_path() / "xgrad-fuzz-XXXXXX").string() + suffix;
    const int fd = ::mkstemps(name.data(), int(std::strlen(suffix)));
    if (fd < 0) {
      std::perror("fuzz harness: mkstemps");
      std::abort();
    }
    path = name;
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd, bytes + done, size - done);
      if (n <= 0) {
        std::perror("fuzz harness: write");
        std::abort();
      }
      done += size_t(n);
    }
    ::close(fd);
  }
  ~InputFile() { std::remove(path.c_str()); }
};

}  // namespace

const std::vector<Target>& targets() {
  static const std::vector<Target> all = {
      {"model", ".json", load_model_file},            // model format incl. gzip and graph validation
      {"idx", ".idx", load_idx_file},                 // IDX, raw or gzip by content
      {"idx_gz", ".gz", load_idx_file},               // IDX named .gz: gzip required
      {"feeds", ".json", load_feeds_file},            // `xgrad run --inputs`
      {"checkpoint", ".json", load_checkpoint_file},  // checkpoint reader + Trainer::resume
      {"npy", ".npy", load_npy_file},                 // NumPy .npy
      {"npz", ".npz", load_npz_file},                 // NumPy .npz (zip)
      {"onnx", ".onnx", load_onnx_file},              // ONNX import
      // Keras import (the kind is told by content; one corpus per kind): a model config JSON, a
      // Keras 2 HDF5 model, a Keras 3 .keras archive (zip of config.json + model.weights.h5).
      {"keras_json", ".json", load_keras_file},
      {"keras_h5", ".h5", load_keras_file},
      {"keras_archive", ".keras", load_keras_file},
  };
  return all;
}

const Target* find_target(const std::string& name) {
  for (const Target& t : targets())
    if (name == t.name) return &t;
  return nullptr;
}

std::string run_target(const Target& t, const uint8_t* bytes, size_t size) {
  const InputFile input(t.suffix, bytes, size);
  std::string refused;
  try {
    t.load(input.path);
  } catch (const Error& e) {
    refused = e.what();
    if (refused.empty()) refused = "(empty message)";
  }
  if (refused != printable(refused)) {
    std::fprintf(stderr, "fuzz target %s: error message is not printable: %s\n", t.name, refused.c_str());
    std::abort();
  }
  return refused;
}

}  // namespace xgrad::fuzz
