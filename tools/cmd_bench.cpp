// `xgrad bench`: LeNet training, inference and latency on synthetic data with 1 and 2 threads,
// time per op, achieved GFLOP/s against OpenBLAS's sgemm peak, and the same figures from PyTorch
// (tools/bench_torch.py, run in the same invocation when `import torch` works) as ratios.
// A measurement, never a pass/fail test: timings on a shared machine vary, so read the ratios.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.h"
#include "core/parallel.h"
#include "tools/bench_xgrad.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

namespace fs = std::filesystem;

struct BenchOptions {
  std::vector<int> threads{1, 2};
  BenchConfig cfg;
  bool torch = true;
  std::string python, script;
};

bool can_import_torch(const std::string& python) {
  const std::string cmd = python + " -c 'import torch' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// The script beside the binary's source tree (build/xgrad -> tools/bench_torch.py), else ./tools.
std::string default_script() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path p = exe.parent_path().parent_path() / "tools" / "bench_torch.py";
    if (fs::exists(p)) return p.string();
  }
  return "tools/bench_torch.py";
}

// PyTorch's figures as JSON, or nothing (with a note) when it cannot run.
std::optional<nlohmann::json> run_torch(const BenchOptions& o, int threads) {
  // OpenBLAS pinned to one thread: PyTorch's best setting here (its own threads split the batch).
  const std::string cmd = "OPENBLAS_NUM_THREADS=1 " + o.python + " '" + o.script + "' --threads " +
                          std::to_string(threads) + " --repeats " + std::to_string(o.cfg.repeats) +
                          " --steps " + std::to_string(o.cfg.steps);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return std::nullopt;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe.get())) out.append(buf, n);
  try {
    return nlohmann::json::parse(out.substr(out.find('{')));
  } catch (const std::exception&) {
    std::cerr << "xgrad bench: PyTorch script gave no figures: " << cmd << "\n";
    return std::nullopt;
  }
}

void row(const std::string& name, double x, const std::optional<nlohmann::json>& t, const char* key,
         const char* better) {
  std::printf("  %-34s %12.1f", name.c_str(), x);
  if (t && t->contains(key)) {
    const double p = (*t)[key].get<double>();
    std::printf(" %12.1f %8.2fx  (%s)", p, x / p, better);
  }
  std::printf("\n");
}

void print_ops(const XgradFigures& f) {
  double total = 0;
  for (const auto& r : f.ops) total += r.forward_us + r.backward_us;
  std::printf("  time per op, one training step (batch 32), microseconds:\n");
  std::printf("    %-10s %-22s %9s %9s %6s\n", "node", "op", "forward", "backward", "share");
  for (const auto& r : f.ops)
    std::printf("    %-10s %-22s %9.1f %9.1f %5.1f%%\n", r.node.c_str(), r.op.c_str(), r.forward_us,
                r.backward_us, 100 * (r.forward_us + r.backward_us) / total);
  std::printf("    %-33s %19.1f\n", "sum", total);
}

void report(int threads, const XgradFigures& f, const std::optional<nlohmann::json>& t) {
  std::printf("\nthreads %d%s\n", threads,
              t ? (" (PyTorch " + (*t)["torch"].get<std::string>() + ")").c_str() : "");
  std::printf("  %-34s %12s %12s %9s\n", "figure", "xgrad", "PyTorch", "ratio");
  row("train lenet SGD b32 (images/s)", f.train_sgd_img_s, t, "train_sgd_b32_img_s", "higher is better");
  std::optional<nlohmann::json> epoch;
  if (t) epoch = nlohmann::json{{"e", 60000.0 / (*t)["train_sgd_b32_img_s"].get<double>()}};
  row("  epoch of 60000 images (s)", 60000.0 / f.train_sgd_img_s, epoch, "e", "target <= 0.5");
  row("train lenet-relu Adam b64 (images/s)", f.train_adam_img_s, t, "train_adam_relu_b64_img_s", "higher");
  row("inference b256 (images/s)", f.infer_img_s, t, "infer_b256_img_s", "target >= 2");
  row("latency b1 (us)", f.latency_us, t, "latency_b1_us", "target <= 0.5");
  row("peak resident memory (MB)", f.peak_rss_mb, t, "peak_rss_mb", "lower is better");
  const double gflops = f.train_sgd_img_s * f.train_mflop_per_image * 1e-3;
  std::printf("  training: %.3f MFLOP/image, %.1f GFLOP/s = %.0f%% of sgemm peak %.1f GFLOP/s\n",
              f.train_mflop_per_image, gflops, 100 * gflops / f.sgemm_peak_gflops, f.sgemm_peak_gflops);
  print_ops(f);
}

void run_bench(BenchOptions o) {
  if (o.threads.empty()) throw Error("--threads: give at least one thread count");
  for (int t : o.threads)
    if (t < 1 || t > 256) throw Error("--threads: expected counts in [1, 256], found " + std::to_string(t));
  if (o.script.empty()) o.script = default_script();
  if (o.torch && o.python.empty()) o.python = can_import_torch("python3") ? "python3" : "/usr/bin/python3";
  if (o.torch && !can_import_torch(o.python)) {
    std::cerr << "xgrad bench: PyTorch not found (" << o.python
              << " cannot import torch): xgrad figures only\n";
    o.torch = false;
  }
  std::map<int, double> train;
  for (int t : o.threads) {
    set_num_threads(t);
    const XgradFigures f = bench_xgrad(o.cfg);
    train[t] = f.train_sgd_img_s;
    report(t, f, o.torch ? run_torch(o, t) : std::nullopt);
  }
  if (train.count(1) && train.count(2))
    std::printf("\ntraining speed-up, 2 threads over 1: %.2fx (target >= 1.6)\n", train[2] / train[1]);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto opts = std::make_shared<BenchOptions>();
  auto* cmd = app.add_subcommand("bench", "Measure LeNet training and inference speed, against PyTorch");
  cmd->add_option("--threads", opts->threads, "Thread counts to measure")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--repeats", opts->cfg.repeats, "Timed runs per figure (the median is shown)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--steps", opts->cfg.steps, "Training steps of batch 32 per timed run")
      ->check(CLI::Range(4, 100000))
      ->capture_default_str();
  cmd->add_flag("!--no-torch", opts->torch, "Skip PyTorch");
  cmd->add_option("--python", opts->python, "Python with torch (default: python3, else /usr/bin/python3)");
  cmd->add_option("--torch-script", opts->script, "Path of tools/bench_torch.py");
  cmd->callback([opts] { run_bench(*opts); });
}

}  // namespace xgrad::cli
