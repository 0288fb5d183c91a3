#pragma once
// xgrad's side of `xgrad bench`: for each model file, training through the library's Trainer and
// optimizers on synthetic data, inference at batch 256, latency at batch 1, per-node kernel and
// time, and OpenBLAS's sgemm peak on this machine. Every figure is a median of `repeats` runs.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/optim.h"

namespace xgrad::cli {

// One model as both sides run it (the PyTorch script gets the same description as JSON).
struct BenchModel {
  std::string name, path;
  int64_t batch = 64;
  int steps = 20;  // training steps per timed run
  OptimConfig optim;
  std::string data_input, label_input;  // the graph's two inputs
  int64_t classes = 0;                  // label ids below this; 0: float labels
  nlohmann::json to_json() const;
};

struct NodeRow {
  std::string node, op, kernel;
  double forward_us = 0, backward_us = 0;
};

struct ModelFigures {
  double train_img_s = 0;
  double train_cpu_us = 0;   // process CPU time per training image (all threads)
  double infer_img_s = 0;    // batch 256, one forward pass
  double predict_img_s = 0;  // 256 images through the Predictor (cache-sized passes)
  double latency_us = 0;     // batch 1
  double train_mflop_per_image = 0;
  std::vector<NodeRow> nodes;  // one training step
};

// The benchmark's models: LeNet (SGD, batch 32), lenet-relu (Adam, batch 64), then every
// models/zoo/*.json (SGD with momentum, batch 64), found under `models_dir`. `only` picks models
// by name instead, in its order: those, a built-in model (`models_dir`/<name>.json: resnet, ...) or
// any model file with one data input, one label input and a "loss" output (SGD with momentum, batch 64).
// `batch` > 0 sets every model's training batch. Steps per timed run shrink for heavy models so that
// each run is about the same work.
std::vector<BenchModel> bench_models(const std::string& models_dir, const std::vector<std::string>& only,
                                     int max_steps, int64_t batch = 0);

// Runs on the current thread setting (set_num_threads).
ModelFigures bench_model(const BenchModel& m, int repeats);
// OpenBLAS sgemm GFLOP/s with the pool's thread count, by wall time and by CPU time per thread.
struct SgemmPeak {
  double wall, cpu;
};
SgemmPeak sgemm_peak_gflops(int repeats);
// µs to fault in one fresh 4 KiB page (median of 3 runs over 16 MiB): about 0.1-0.5 on bare
// metal, far more in some VMs, where a framework that maps fresh memory each step pays it each step.
double first_touch_us_per_page();
double peak_rss_mb();

// Runs the calling thread, and the processes and threads it starts from now on, on the CPU it is on
// (restored when destroyed): the one-thread figures of both peers then come from the same CPU, since the
// vCPUs of a shared host can differ (here one trained dilated-1x1 36 % faster than the other). cpu() is
// -1 where the mask could not be set (not Linux, or not allowed).
class PinnedToThisCpu {
 public:
  PinnedToThisCpu();
  ~PinnedToThisCpu();
  PinnedToThisCpu(const PinnedToThisCpu&) = delete;
  PinnedToThisCpu& operator=(const PinnedToThisCpu&) = delete;
  int cpu() const { return cpu_; }

 private:
  int cpu_ = -1;
  std::vector<unsigned char> saved_;  // the mask before (a cpu_set_t)
};

}  // namespace xgrad::cli
