#include "tools/bench_xgrad.h"

#include <cblas.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <tuple>

#include "core/error.h"
#include "core/parallel.h"
#include "graph/data_fit.h"
#include "graph/engine.h"
#include "graph/fold.h"
#include "graph/metric.h"
#include "graph/params.h"
#include "graph/predict.h"
#include "graph/serialize.h"
#include "graph/train.h"

namespace xgrad::cli {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
// CPU seconds of the whole process (all threads): on a loaded machine this leaves out the time
// spent waiting for a core.
double cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Timing {
  double wall, cpu;  // medians, seconds
};

// Median wall and CPU seconds of `repeats` calls after one warm-up call.
Timing timed(int repeats, const std::function<void()>& f) {
  f();
  std::vector<double> wall, cpu;
  for (int r = 0; r < repeats; ++r) {
    const double start = now(), cpu_start = cpu_now();
    f();
    wall.push_back(now() - start);
    cpu.push_back(cpu_now() - cpu_start);
  }
  return {median(wall), median(cpu)};
}

// `count` random samples: data in [0, 1) of the data input's shape; labels as the model's label
// input takes them (class ids below `classes`, or floats in [0, 1) of its shape).
struct SyntheticData {
  Tensor images, labels;
  SyntheticData(const Graph& g, const BenchModel& b, int64_t count, Rng& rng) {
    Shape s = g.node(g.id(b.data_input)).info.shape, ls = g.node(g.id(b.label_input)).info.shape;
    s[0] = count, ls[0] = count;
    images = make_tensor(s), labels = make_tensor(ls);
    for (float& v : images) v = rng.uniform01();
    for (float& v : labels) v = b.classes > 0 ? float(rng.below(uint64_t(b.classes))) : rng.uniform01();
  }
  Feeds feeds(const BenchModel& b) const { return {{b.data_input, images}, {b.label_input, labels}}; }
  BatchSource source() const {
    const int64_t count = int64_t(shape_of(images)[0]), per = int64_t(images.size()) / count,
                  label_per = int64_t(labels.size()) / count;
    return {size_t(count), [this, per, label_per](const std::vector<uint32_t>& order, size_t start, size_t n,
                                                  Tensor& x, Tensor& y) {
              Shape s = shape_of(images), ls = shape_of(labels);
              s[0] = int64_t(n), ls[0] = int64_t(n);
              ensure_shape(x, s), ensure_shape(y, ls);
              for (size_t i = 0; i < n; ++i) {
                const int64_t k = order[start + i];
                std::copy_n(images.data() + k * per, per, x.data() + int64_t(i) * per);
                std::copy_n(labels.data() + k * label_per, label_per, y.data() + int64_t(i) * label_per);
              }
            }};
  }
};

// Multiply-adds of conv2d and matmul nodes, x2; backward does twice forward's work, minus the
// input gradient of a layer reading a graph input (nobody wants d image).
double train_mflop_per_image(const Graph& g) {
  double total = 0;
  for (const Node& n : g.nodes()) {
    if (n.kind != NodeKind::Op || (n.op->type() != "conv2d" && n.op->type() != "matmul")) continue;
    const Shape& out = n.info.shape;
    double fwd = 2.0 * double(numel(g.node(n.inputs[1]).info.shape));
    if (n.op->type() == "conv2d") fwd *= double(out[2] * out[3]);
    total += fwd * (g.node(n.inputs[0]).kind == NodeKind::Input ? 2 : 3);
  }
  return total * 1e-6;
}

// Training images/s and process CPU µs per training image.
std::pair<double, double> train_rate(const Model& m, const BenchModel& b, int repeats) {
  Rng rng(1);
  Params params = init_params(m.graph, rng);
  const SyntheticData data(m.graph, b, b.batch * b.steps, rng);
  TrainConfig cfg;
  cfg.epochs = 1, cfg.batch = b.batch, cfg.optim = b.optim;
  cfg.image_input = b.data_input, cfg.label_input = b.label_input;
  Trainer trainer(m.graph, params, cfg);
  const BatchSource source = data.source();
  const Timing t = timed(repeats, [&] {
    Progress fresh;
    fresh.rng = Rng(0).state();
    trainer.set_progress(fresh);
    trainer.run(source, nullptr);
  });
  const double images = double(b.batch * b.steps);
  return {images / t.wall, 1e6 * t.cpu / images};
}

double infer_rate(const Model& m, const BenchModel& b, int64_t batch, int steps, int repeats) {
  Rng rng(0);
  const Params params = init_params(m.graph, rng);
  const SyntheticData data(m.graph, b, batch, rng);
  const Feeds feeds = data.feeds(b);
  const InferenceModel folded = fold_for_inference(m.graph, params);  // as predict and evaluate run it
  Engine e(folded.graph);
  return double(steps * batch) / timed(repeats, [&] {
                                   for (int s = 0; s < steps; ++s) e.forward(feeds, folded.weights, false);
                                 }).wall;
}

// 256 images through the library's Predictor (what predict and Network::predict run: the
// cache-sized passes of graph/predict.h), `steps` times.
double predict_rate(const Model& m, const BenchModel& b, int steps, int repeats) {
  Rng rng(0);
  const Params params = init_params(m.graph, rng);
  const SyntheticData data(m.graph, b, 256, rng);
  PredictOptions options;
  options.input = b.data_input;
  Predictor predictor(m.graph, params, prediction_output(m.graph), options);
  return double(steps * 256) / timed(repeats, [&] {
                                 for (int s = 0; s < steps; ++s) predictor(data.images);
                               }).wall;
}

std::string kernel_of(const Graph& g, const Node& n) {
  std::vector<ValueInfo> in;
  for (int id : n.inputs) in.push_back(g.node(id).info);
  return n.op->kernel_name(in);
}

// Median per-node times over several training steps of the model's batch.
std::vector<NodeRow> node_times(const Model& m, const BenchModel& b, int steps) {
  Rng rng(0);
  const Params params = init_params(m.graph, rng);
  const SyntheticData data(m.graph, b, b.batch, rng);
  const Feeds feeds = data.feeds(b);
  const Graph g = fuse_activations(m.graph);  // as the Trainer runs it
  Engine e(g);
  e.set_profiling(true);
  std::vector<std::vector<double>> fw(size_t(g.size())), bw(size_t(g.size()));
  for (int s = 0; s <= steps; ++s) {
    e.forward(feeds, params, true);
    e.backward(g.output("loss"), g.params());
    for (int id = 0; id < g.size() && s > 0; ++id) {  // step 0 is the warm-up
      fw[size_t(id)].push_back(e.op_times()[size_t(id)].forward);
      bw[size_t(id)].push_back(e.op_times()[size_t(id)].backward);
    }
  }
  std::vector<NodeRow> rows;
  for (int id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (n.kind != NodeKind::Op) continue;
    rows.push_back({n.name, std::string(n.op->type()), kernel_of(g, n), 1e6 * median(fw[size_t(id)]),
                    1e6 * median(bw[size_t(id)])});
  }
  return rows;
}

// The model's data and label inputs (the library's rule), and the label's class count.
void find_inputs(const Graph& g, BenchModel& b) {
  const DataInputs io = data_inputs(g);
  if (io.label.empty() || g.inputs().size() != 2 || !g.has_output("loss"))
    throw Error("bench: model \"" + b.path +
                "\" needs one data input, one label input and a \"loss\" output");
  b.data_input = io.data, b.label_input = io.label;
  const Shape& logits = g.node(g.node(g.output("loss")).inputs[0]).info.shape;
  b.classes = g.node(g.id(io.label)).info.dtype == DType::Int32 && logits.size() == 2 ? logits[1] : 0;
}

BenchModel model_entry(const std::string& name, const std::string& path, int64_t batch,
                       const std::string& opt, double lr, double momentum) {
  BenchModel b;
  b.name = name, b.path = path, b.batch = batch;
  b.optim.type = opt, b.optim.lr = lr, b.optim.momentum = momentum;
  return b;
}

// A name given to --models that is not a default model: a built-in model file (models/<name>.json),
// else a model file of the user's.
BenchModel named_entry(const std::string& dir, const std::string& name) {
  const std::string builtin = dir + "/" + name + ".json";
  const std::string path = std::filesystem::exists(builtin) ? builtin : name;
  if (!std::filesystem::is_regular_file(path))
    throw Error("--models: no model named \"" + name + "\" (lenet, lenet-relu, a file in " + dir + "/zoo, " +
                "a model in " + dir + " or a model file)");
  return model_entry(std::filesystem::path(path).stem().string(), path, 64, "sgd", 0.01, 0.9);
}

}  // namespace

nlohmann::json BenchModel::to_json() const {
  return {{"name", name},
          {"path", path},
          {"batch", batch},
          {"steps", steps},
          {"optim", optim.to_json()},
          {"data_input", data_input},
          {"label_input", label_input},
          {"classes", classes}};
}

std::vector<BenchModel> bench_models(const std::string& dir, const std::vector<std::string>& only,
                                     int max_steps, int64_t batch) {
  std::vector<BenchModel> all = {model_entry("lenet", dir + "/lenet.json", 32, "sgd", 0.9, 0),
                                 model_entry("lenet-relu", dir + "/lenet-relu.json", 64, "adam", 1e-3, 0)};
  // Without the source tree's models (a build elsewhere, no --root) only a user's own files can run.
  const bool have_models = std::filesystem::is_directory(dir + "/zoo");
  if (!have_models && only.empty())
    throw Error("no model zoo in " + dir +
                "/zoo: run xgrad from the source tree, pass --root with its path, "
                "or name your own model files with --models");
  std::vector<std::string> zoo;
  if (have_models)
    for (const auto& e : std::filesystem::directory_iterator(dir + "/zoo"))
      if (e.path().extension() == ".json") zoo.push_back(e.path().string());
  std::sort(zoo.begin(), zoo.end());
  for (const auto& path : zoo)
    all.push_back(model_entry(std::filesystem::path(path).stem().string(), path, 64, "sgd", 0.01, 0.9));
  std::vector<BenchModel> out;
  if (only.empty()) out = all;
  for (const auto& name : only) {
    auto it = std::find_if(all.begin(), all.end(), [&](const BenchModel& b) { return b.name == name; });
    out.push_back(it != all.end() ? *it : named_entry(dir, name));
  }
  for (BenchModel& b : out) {
    if (batch > 0) b.batch = batch;
    const Graph g = load_model(b.path).graph;
    find_inputs(g, b);
    // About 2 GFLOP of training per timed run (LeNet: max_steps * 3 steps).
    const double mflop_step = std::max(1e-3, train_mflop_per_image(g)) * double(b.batch);
    b.steps = int(std::clamp(2000.0 / mflop_step, 4.0, double(max_steps) * 3));
  }
  return out;
}

ModelFigures bench_model(const BenchModel& b, int repeats) {
  const Model m = load_model(b.path);
  ModelFigures f;
  f.train_mflop_per_image = train_mflop_per_image(m.graph);
  std::tie(f.train_img_s, f.train_cpu_us) = train_rate(m, b, repeats);
  const int infer_steps = std::max(2, b.steps * int(b.batch) / 256);
  f.infer_img_s = infer_rate(m, b, 256, infer_steps, repeats);
  f.predict_img_s = predict_rate(m, b, infer_steps, repeats);
  f.latency_us = 1e6 / infer_rate(m, b, 1, std::max(8, b.steps * 4), repeats);
  f.nodes = node_times(m, b, std::max(5, b.steps / 2));
  return f;
}

// OpenBLAS sgemm on 512x512 matrices with the pool's thread count, then back to one thread.
SgemmPeak sgemm_peak_gflops(int repeats) {
  const int n = 512;
  std::vector<float> a(size_t(n * n), 0.5f), b(size_t(n * n), 0.25f), c(size_t(n * n));
  openblas_set_num_threads(num_threads());
  const Timing s = timed(repeats, [&] {
    for (int r = 0; r < 4; ++r)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
                  c.data(), n);
  });
  openblas_set_num_threads(1);
  const double flop = 4 * 2.0 * n * n * n;
  return {flop / s.wall * 1e-9, flop / (s.cpu / num_threads()) * 1e-9};
}

double first_touch_us_per_page() {
  const size_t page = 4096, bytes = size_t(16) << 20;
  std::vector<double> per_page;
  for (int r = 0; r < 3; ++r) {
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 0;
    volatile char* p = static_cast<char*>(m);
    const double start = now();
    for (size_t i = 0; i < bytes; i += page) p[i] = 1;
    per_page.push_back((now() - start) * 1e6 / double(bytes / page));
    munmap(m, bytes);
  }
  return median(per_page);
}

PinnedToThisCpu::PinnedToThisCpu() {
#ifdef __linux__
  cpu_set_t old, one;
  const int here = sched_getcpu();
  if (here < 0 || sched_getaffinity(0, sizeof old, &old) != 0) return;
  CPU_ZERO(&one);
  CPU_SET(here, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) return;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&old);
  saved_.assign(bytes, bytes + sizeof old);
  cpu_ = here;
#endif
}

PinnedToThisCpu::~PinnedToThisCpu() {
#ifdef __linux__
  if (cpu_ >= 0) {
    cpu_set_t old;
    std::copy(saved_.begin(), saved_.end(), reinterpret_cast<unsigned char*>(&old));
    sched_setaffinity(0, sizeof old, &old);
  }
#endif
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

}  // namespace xgrad::cli
