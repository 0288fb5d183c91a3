#pragma once
// xgrad's side of `xgrad bench`: LeNet training, inference and latency on synthetic data, time per
// op, and OpenBLAS's sgemm peak on this machine. Every figure is a median of `repeats` timed runs.
#include <string>
#include <vector>

namespace xgrad::cli {

struct BenchConfig {
  int repeats = 5;
  int steps = 60;  // training steps of batch 32 per timed run (others scale from it)
};

struct OpRow {
  std::string node, op;
  double forward_us = 0, backward_us = 0;
};

struct XgradFigures {
  double train_sgd_img_s = 0;   // lenet (sigmoid), SGD lr 0.9, batch 32
  double train_adam_img_s = 0;  // lenet-relu, Adam lr 1e-3, batch 64
  double infer_img_s = 0;       // batch 256
  double latency_us = 0;        // batch 1
  double peak_rss_mb = 0;       // after the training runs
  double train_mflop_per_image = 0;
  double sgemm_peak_gflops = 0;
  std::vector<OpRow> ops;  // one reference training step
};

// Runs on the current thread setting (set_num_threads).
XgradFigures bench_xgrad(const BenchConfig& cfg);

}  // namespace xgrad::cli
