// `xgrad eval`: a trained model on the Fashion-MNIST test set (or --data): loss and the metric
// that fits the loss (graph/metric.h); for classification also per-class accuracy with the class
// names from the model's meta, and the confusion matrix.
#include <cstdio>
#include <thread>

#include "core/dataset.h"
#include "core/error.h"
#include "core/parallel.h"
#include "graph/data_fit.h"
#include "graph/predict.h"
#include "graph/serialize.h"
#include "graph/train.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

struct EvalOptions {
  std::string model = "lenet-trained.json", data, layout = "nhwc";
  int64_t batch = 256, samples = 0;
  int threads = 0;
};

void print_evaluation(const Evaluation& e, const std::vector<std::string>& names) {
  const size_t k = e.confusion.size();
  std::printf("test loss %.4f", e.loss);
  if (e.metric != MetricKind::None)
    std::printf("  %s %.4f", metric_name(e.metric), MetricValues{e.accuracy, e.mse}.of(e.metric));
  std::printf("  (%lld samples)\n", (long long)e.samples);
  if (k == 0) return;  // per class and confusion: classification (accuracy) only
  std::printf("\nper class:\n");
  const auto acc = e.class_accuracy();
  for (size_t c = 0; c < k; ++c) std::printf("  %2zu %-12s %.4f\n", c, names[c].c_str(), acc[c]);
  std::printf("\nconfusion matrix (rows: true class, columns: predicted class):\n     ");
  for (size_t c = 0; c < k; ++c) std::printf("%6zu", c);
  std::printf("\n");
  for (size_t r = 0; r < k; ++r) {
    std::printf("  %2zu ", r);
    for (size_t c = 0; c < k; ++c) std::printf("%6lld", (long long)e.confusion[r][c]);
    std::printf("\n");
  }
}

void run_eval(const EvalOptions& o) {
  if (o.batch < 1) throw Error("--batch must be >= 1, got " + std::to_string(o.batch));
  if (o.samples < 0) throw Error("--test-samples must be >= 0, got " + std::to_string(o.samples));
  set_num_threads(o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency())));
  const Model model = load_model(o.model);
  check_params(model.graph, model.weights);
  const Dataset test_set = load_test_data(o.data, image_layout_from_name(o.layout));
  check_data_fits(model.graph, test_set, o.data.empty() ? default_data_dir() : o.data, "test");
  BatchSource test = batches_of(test_set);
  if (o.samples > 0 && size_t(o.samples) < test.size) test.size = size_t(o.samples);
  std::printf("model %s (%s) on %zu test samples from %s\n", o.model.c_str(), model.graph.name().c_str(),
              test.size, (o.data.empty() ? default_data_dir() : o.data).c_str());
  const Evaluation e = evaluate(model.graph, model.weights, test, o.batch);
  print_evaluation(e, class_names(model.meta, e.confusion.size()));
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a trained model on the test set");
  auto o = std::make_shared<EvalOptions>();
  cmd->add_option("--model", o->model, "Trained model file")->capture_default_str();
  cmd->add_option("--data", o->data,
                  "IDX directory laid out like Fashion-MNIST (only its t10k files are read), or a .npz "
                  "with x_test and y_test (default: $XGRAD_DATA or the system Fashion-MNIST)");
  cmd->add_option("--layout", o->layout, "Layout of 4-d image arrays in --data: nhwc or nchw")
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "Samples per forward pass")->capture_default_str();
  cmd->add_option("--test-samples", o->samples, "Use the first N test samples only (0: all)");
  cmd->add_option("--threads", o->threads, "Threads (default: all cores)");
  cmd->callback([o] { run_eval(*o); });
}

}  // namespace xgrad::cli
