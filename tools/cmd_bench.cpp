// `xgrad bench`: every benchmark model (LeNet, lenet-relu, models/zoo/*.json, or the models and
// files named by --models) trained through the library's Trainer on synthetic data, inference at
// batch 256 and latency at batch 1, with 1 and 2 threads; per-node kernel and time; GFLOP/s against
// OpenBLAS's sgemm peak; and the same figures from PyTorch (tools/bench_torch.py interprets the same model
// files, in the same invocation) as ratios. A measurement, never a pass/fail test: on a shared machine read
// the ratios and the load.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "core/json_io.h"
#include "core/parallel.h"
#include "tools/bench_xgrad.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct BenchOptions {
  std::vector<int> threads{1, 2};
  std::vector<std::string> models;
  int repeats = 5, steps = 20;
  int64_t batch = 0;  // 0: each model's own
  bool torch = true, nodes = true;
  std::string python, root;
};

bool can_import_torch(const std::string& python) {
  const std::string cmd = python + " -c 'import torch' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// The source tree beside the binary (build/xgrad -> ..), else the current directory.
std::string default_root() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::exists(exe.parent_path().parent_path() / "tools" / "bench_torch.py"))
    return exe.parent_path().parent_path().string();
  return ".";
}

// PyTorch's figures per model name, or nothing (with a note) when it cannot run.
std::optional<json> run_torch(const BenchOptions& o, const std::vector<BenchModel>& models, int threads) {
  json spec = json::array();
  for (const auto& m : models) spec.push_back(m.to_json());
  const fs::path spec_file =
      fs::temp_directory_path() / ("xgrad-bench-" + std::to_string(getpid()) + ".json");
  write_file_atomic(spec_file.string(), spec.dump());
  // OpenBLAS pinned to one thread: PyTorch's best setting here (its own threads split the batch).
  // PyTorch's CPU allocator frees its large blocks back to the system each step and maps fresh ones
  // the next; where first touches of pages are slow (some VMs: `first_touch_us_per_page`) that, not
  // the arithmetic, would dominate its figures. Glibc's tunables keep the freed memory in its heap:
  // no block of its own mapping (a threshold caps at 32 MB, below keras-mnist's batch-256 activations).
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string malloc_env =
      tunables ? "" : "GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295 ";
  const std::string cmd = malloc_env + "OPENBLAS_NUM_THREADS=1 " + o.python + " '" + o.root +
                          "/tools/bench_torch.py' --threads " + std::to_string(threads) + " --repeats " +
                          std::to_string(o.repeats) + " --spec '" + spec_file.string() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  char buf[4096];
  while (size_t n = pipe ? fread(buf, 1, sizeof buf, pipe.get()) : 0) out.append(buf, n);
  pipe.reset();
  fs::remove(spec_file);
  try {
    return json::parse(out.substr(out.find('{')));
  } catch (const std::exception&) {
    std::cerr << "xgrad bench: PyTorch script gave no figures: " << cmd << "\n";
    return std::nullopt;
  }
}

// Why PyTorch has no figures for this model (an op bench_torch.py does not interpret), or "".
std::string torch_error(const std::optional<json>& t, const std::string& model) {
  if (!t || !t->contains(model) || !(*t)[model].contains("error")) return "";
  return (*t)[model]["error"].get<std::string>();
}

double torch_figure(const std::optional<json>& t, const std::string& model, const char* key) {
  if (!t || !t->contains(model) || !(*t)[model].contains(key)) return 0;
  return (*t)[model][key].get<double>();
}

void print_nodes(const ModelFigures& f) {
  double total = 0;
  for (const auto& r : f.nodes) total += r.forward_us + r.backward_us;
  std::printf("    %-12s %-22s %-18s %9s %9s %6s\n", "node", "op", "kernel", "fwd us", "bwd us", "share");
  for (const auto& r : f.nodes)
    std::printf("    %-12s %-22s %-18s %9.1f %9.1f %5.1f%%\n", r.node.c_str(), r.op.c_str(), r.kernel.c_str(),
                r.forward_us, r.backward_us, 100 * (r.forward_us + r.backward_us) / total);
}

struct Result {
  ModelFigures x;
  double torch_train = 0, torch_infer = 0, torch_latency = 0, torch_cpu_us = 0;
};

// Training GFLOP/s by wall time, and by CPU time per thread (what a loaded machine distorts least),
// each against sgemm's peak measured the same way.
void print_model(const BenchModel& m, const Result& r, const SgemmPeak& peak, int threads, bool nodes) {
  const double gflops = r.x.train_img_s * r.x.train_mflop_per_image * 1e-3;
  const double gflops_cpu = r.x.train_mflop_per_image / r.x.train_cpu_us * 1e3 * threads;
  std::printf(
      "\n  %s (batch %lld, %s, %.1f MFLOP/image training): %.1f GFLOP/s = %.0f%% of sgemm peak; "
      "by CPU time %.1f GFLOP/s = %.0f%%\n",
      m.name.c_str(), static_cast<long long>(m.batch), m.optim.type.c_str(), r.x.train_mflop_per_image,
      gflops, 100 * gflops / peak.wall, gflops_cpu, 100 * gflops_cpu / peak.cpu);
  std::printf("    %-28s %12s %12s %8s\n", "figure", "xgrad", "PyTorch", "ratio");
  auto row = [](const char* name, double x, double t, const char* target) {
    std::printf("    %-28s %12.1f", name, x);
    if (t > 0) std::printf(" %12.1f %7.2fx  %s", t, x / t, target);
    std::printf("\n");
  };
  row("train images/s", r.x.train_img_s, r.torch_train, "");
  row("  time per image (ratio)", 1e6 / r.x.train_img_s, r.torch_train > 0 ? 1e6 / r.torch_train : 0,
      "(target <= 0.5)");
  row("  CPU us per image (ratio)", r.x.train_cpu_us, r.torch_cpu_us, "(process CPU time, all threads)");
  row("inference b256 images/s", r.x.infer_img_s, r.torch_infer, "(target >= 2)");
  row("  predict 256 images/s", r.x.predict_img_s, r.torch_infer, "(xgrad's Predictor: cache-sized passes)");
  row("latency b1 us", r.x.latency_us, r.torch_latency, "(lower is better)");
  if (nodes) print_nodes(r.x);
}

void print_table(const std::vector<BenchModel>& models, const std::map<int, std::vector<Result>>& results) {
  std::printf("\n| model | MFLOP/image (train) |");
  for (const auto& [t, _] : results)
    std::printf(
        " xgrad %dT img/s | PyTorch %dT | time ratio %dT | CPU time ratio %dT | infer ratio %dT | predict "
        "ratio %dT |",
        t, t, t, t, t, t);
  std::printf("\n|---|---:|");
  for (size_t i = 0; i < results.size(); ++i) std::printf("---:|---:|---:|---:|---:|---:|");
  std::printf("\n");
  for (size_t i = 0; i < models.size(); ++i) {
    std::printf("| %s | %.1f |", models[i].name.c_str(), results.begin()->second[i].x.train_mflop_per_image);
    for (const auto& [t, rs] : results) {
      const Result& r = rs[i];
      if (r.torch_train > 0)
        std::printf(" %.0f | %.0f | %.2f | %.2f | %.2f | %.2f |", r.x.train_img_s, r.torch_train,
                    r.torch_train / r.x.train_img_s, r.x.train_cpu_us / r.torch_cpu_us,
                    r.x.infer_img_s / r.torch_infer, r.x.predict_img_s / r.torch_infer);
      else
        std::printf(" %.0f | | | | | |", r.x.train_img_s);
    }
    std::printf("\n");
  }
  if (results.count(1) && results.count(2))
    for (size_t i = 0; i < models.size(); ++i)
      std::printf("%s: training 2 threads / 1 thread = %.2fx\n", models[i].name.c_str(),
                  results.at(2)[i].x.train_img_s / results.at(1)[i].x.train_img_s);
}

void run_bench(BenchOptions o) {
  if (o.threads.empty()) throw Error("--threads: give at least one thread count");
  for (int t : o.threads)
    if (t < 1 || t > 256) throw Error("--threads: expected counts in [1, 256], found " + std::to_string(t));
  if (o.root.empty()) o.root = default_root();
  if (o.torch && o.python.empty()) o.python = can_import_torch("python3") ? "python3" : "/usr/bin/python3";
  if (o.torch && !can_import_torch(o.python)) {
    std::cerr << "xgrad bench: PyTorch not found (" << o.python
              << " cannot import torch): xgrad figures only\n";
    o.torch = false;
  }
  const std::vector<BenchModel> models = bench_models(o.root + "/models", o.models, o.steps, o.batch);
  double load[3] = {0, 0, 0};
  std::map<int, std::vector<Result>> results;
  for (int t : o.threads) {
    std::optional<PinnedToThisCpu> pin;  // one thread: both peers on the same CPU
    if (t == 1) pin.emplace();
    set_num_threads(t);
    const SgemmPeak peak = sgemm_peak_gflops(o.repeats);
    getloadavg(load, 3);
    std::printf("\nthreads %d: sgemm peak %.1f GFLOP/s (by CPU time per thread %.1f), load average %.2f", t,
                peak.wall, peak.cpu, load[0]);
    if (pin && pin->cpu() >= 0) std::printf("; xgrad and PyTorch on CPU %d", pin->cpu());
    std::printf("\n");
    if (o.torch)
      std::printf(
          "first touch of a fresh page: %.2f us here; PyTorch runs %s, each model just before xgrad's\n",
          first_touch_us_per_page(),
          std::getenv("GLIBC_TUNABLES") ? "with the caller's GLIBC_TUNABLES"
                                        : "with glibc's malloc keeping freed memory (GLIBC_TUNABLES)");
    for (const BenchModel& m : models) {
      // One model at a time, PyTorch then xgrad: a slow spell of a shared machine then lands on both
      // sides of a ratio rather than on one side's whole run.
      const std::optional<json> torch = o.torch ? run_torch(o, {m}, t) : std::nullopt;
      if (torch && &m == &models.front())
        std::printf("PyTorch %s\n", (*torch)["torch"].get<std::string>().c_str());
      Result r{bench_model(m, o.repeats), torch_figure(torch, m.name, "train_img_s"),
               torch_figure(torch, m.name, "infer_b256_img_s"), torch_figure(torch, m.name, "latency_b1_us"),
               torch_figure(torch, m.name, "train_cpu_us")};
      print_model(m, r, peak, t, o.nodes);
      if (const std::string why = torch_error(torch, m.name); !why.empty())
        std::printf("    (no PyTorch figures: %s)\n", why.c_str());
      results[t].push_back(r);
    }
  }
  print_table(models, results);
  getloadavg(load, 3);
  std::printf("load average at the end %.2f; bench peak resident memory %.1f MB\n", load[0], peak_rss_mb());
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  auto* cmd =
      app.add_subcommand("bench", "Measure training and inference speed of the model zoo, against PyTorch");
  cmd->add_option("--threads", opts->threads, "Thread counts to measure")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option(
         "--models", opts->models,
         "Models to measure: names (lenet, lenet-relu, the zoo's, the built-in resnet, mobilenet, vgg) "
         "or model files (default: lenet, lenet-relu and the zoo)")
      ->delimiter(',');
  cmd->add_option("--repeats", opts->repeats, "Timed runs per figure (the median is shown)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--steps", opts->steps, "Most training steps per timed run (heavy models take fewer)")
      ->check(CLI::Range(4, 100000))
      ->capture_default_str();
  cmd->add_option("--batch", opts->batch,
                  "Training batch for every model (default: LeNet's 32, lenet-relu's and the others' 64)")
      ->check(CLI::Range(int64_t(1), int64_t(4096)));
  cmd->add_flag("!--no-torch", opts->torch, "Skip PyTorch");
  cmd->add_flag("!--no-nodes", opts->nodes, "Skip the per-node table");
  cmd->add_option("--python", opts->python, "Python with torch (default: python3, else /usr/bin/python3)");
  cmd->add_option("--root", opts->root, "Source tree with models/ and tools/bench_torch.py");
  cmd->callback([opts] { run_bench(*opts); });
}

}  // namespace xgrad::cli
