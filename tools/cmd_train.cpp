// `xgrad train`: trains a model file on Fashion-MNIST (or any IDX pair laid out like it) and writes
// the trained model atomically, with the settings and final test accuracy in its meta. Checkpoints
// make a stopped run (Ctrl-C, a crash) resumable with exactly the same result.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "core/dataset.h"
#include "core/error.h"
#include "core/json_io.h"
#include "core/parallel.h"
#include "graph/checkpoint.h"
#include "graph/data_fit.h"
#include "graph/distributed.h"
#include "graph/serialize.h"
#include "graph/step_reducer.h"
#include "models/builtin.h"
#include "tools/commands.h"
#include "tools/progress.h"
#include "tools/svg_plot.h"

namespace xgrad::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_sigint(int) { g_interrupted = 1; }

struct TrainOptions {
  std::string model = "lenet", data, out = "lenet-trained.json", layout = "nhwc";
  std::string log, plot, checkpoint;
  int64_t checkpoint_every = 1000;
  bool resume = false, distributed = false;
  int threads = 0;
  int64_t train_samples = 0, test_samples = 0;
  int64_t interrupt_after = 0;  // tests: raise SIGINT after this many steps
  int64_t verify_replicas = 0;  // tests: compare the ranks' weights every N steps
  int64_t kill_rank_at = -1;    // tests: the last rank kills itself at this step
  TrainConfig config;
};

void add_options(CLI::App& cmd, TrainOptions& o) {
  TrainConfig& c = o.config;
  c.optim.lr = 0.9;
  cmd.add_option("--model", o.model,
                 "Built-in model (" + builtin_name_list() + ") or model file (graph JSON, weights optional)")
      ->capture_default_str();
  cmd.add_option("--data", o.data,
                 "IDX directory laid out like Fashion-MNIST, or a .npz with x_train, y_train, x_test, y_test "
                 "(default: $XGRAD_DATA or the system Fashion-MNIST)");
  cmd.add_option("--layout", o.layout, "Layout of 4-d image arrays in --data: nhwc or nchw")
      ->capture_default_str();
  cmd.add_option("--out", o.out, "Where to write the trained model")->capture_default_str();
  cmd.add_option("--epochs", c.epochs, "Passes over the training set")->capture_default_str();
  cmd.add_option("--batch", c.batch, "Samples per step")->capture_default_str();
  cmd.add_option("--optimizer", c.optim.type, "sgd, adam (L2 decay) or adamw (decoupled decay)")
      ->capture_default_str();
  cmd.add_option("--lr", c.optim.lr, "Learning rate (adam/adamw default: 0.001)")->capture_default_str();
  cmd.add_option("--momentum", c.optim.momentum, "SGD momentum")->capture_default_str();
  cmd.add_flag("--nesterov", c.optim.nesterov, "SGD with Nesterov momentum");
  cmd.add_option("--beta1", c.optim.beta1, "Adam beta1")->capture_default_str();
  cmd.add_option("--beta2", c.optim.beta2, "Adam beta2")->capture_default_str();
  cmd.add_option("--eps", c.optim.eps, "Adam epsilon")->capture_default_str();
  cmd.add_option("--weight-decay", c.optim.weight_decay, "Weight decay")->capture_default_str();
  cmd.add_option("--schedule", c.schedule.type, "Learning rate per epoch: constant, step or cosine")
      ->capture_default_str();
  cmd.add_option("--step-size", c.schedule.step_size, "step schedule: epochs between decays")
      ->capture_default_str();
  cmd.add_option("--gamma", c.schedule.gamma, "step schedule: decay factor")->capture_default_str();
  cmd.add_option("--min-lr", c.schedule.min_lr, "cosine schedule: final learning rate")
      ->capture_default_str();
  cmd.add_option_function<std::string>(
         "--augment",
         [&c](const std::string& spec) {
           try {
             c.augment = parse_augmentation(spec);
           } catch (const Error& e) {
             throw Error(std::string("--augment: ") + e.what());
           }
         },
         "Augment the training images each epoch: flip (left-right, p = 1/2), shift=N (up to N pixels each "
         "way, zero-filled), both (flip,shift=2) or none")
      ->default_str("none");
  cmd.add_option("--seed", c.seed, "Seed of weight init, sample order, dropout masks and augmentation")
      ->capture_default_str();
  cmd.add_option("--log", o.log, "Write per-epoch metrics as CSV (and an SVG plot beside it)");
  cmd.add_option("--plot", o.plot, "Write the loss/accuracy curves as SVG (default: --log's name with .svg)");
  cmd.add_option("--checkpoint", o.checkpoint, "Checkpoint file, written every epoch and every N steps");
  cmd.add_option("--checkpoint-every", o.checkpoint_every, "Steps between checkpoints (0: per epoch only)")
      ->capture_default_str();
  cmd.add_flag("--resume", o.resume, "Continue the run saved in --checkpoint");
  cmd.add_option("--threads", o.threads, "Threads (default: all cores)");
  cmd.add_option("--train-samples", o.train_samples, "Train on the first N samples only (0: all)");
  cmd.add_option("--test-samples", o.test_samples, "Test on the first N samples only (0: all)");
  cmd.add_flag("--distributed", o.distributed,
               "Data-parallel training under mpirun: each rank trains on its shard of every global --batch; "
               "rank 0 evaluates, prints and writes the files");
  cmd.add_option("--interrupt-after", o.interrupt_after)->group("");  // hidden: tests the Ctrl-C path
  cmd.add_option("--verify-replicas", o.verify_replicas)->group("");  // hidden: tests of --distributed
  cmd.add_option("--kill-rank-at", o.kill_rank_at)->group("");        // hidden: tests a rank that dies
}

void check_options(const TrainOptions& o) {
  auto fail = [](const std::string& m) { throw Error(m); };
  if (o.out.empty()) fail("--out must name a file");
  if (o.checkpoint_every < 0)
    fail("--checkpoint-every must be >= 0, got " + std::to_string(o.checkpoint_every));
  if (o.resume && o.checkpoint.empty()) fail("--resume needs --checkpoint FILE (the checkpoint to continue)");
  if (o.threads < 0) fail("--threads must be >= 0, got " + std::to_string(o.threads));
  if (o.train_samples < 0) fail("--train-samples must be >= 0, got " + std::to_string(o.train_samples));
  if (o.test_samples < 0) fail("--test-samples must be >= 0, got " + std::to_string(o.test_samples));
  if (o.config.epochs < 1) fail("--epochs must be >= 1, got " + std::to_string(o.config.epochs));
  if (o.config.batch < 1) fail("--batch must be >= 1, got " + std::to_string(o.config.batch));
  o.config.validate();
}

BatchSource limited(BatchSource s, int64_t limit) {
  if (limit > 0 && size_t(limit) < s.size) s.size = size_t(limit);
  return s;
}

std::string stem(const std::string& path) {
  const size_t slash = path.find_last_of('/'), dot = path.find_last_of('.');
  return dot != std::string::npos && (slash == std::string::npos || dot > slash) ? path.substr(0, dot) : path;
}

// " acc 0.8512" (" mse 0.0132", " binary_accuracy 0.9120", nothing for a loss without a metric);
// `accuracy` names plain accuracy.
std::string metric_text(MetricKind metric, double accuracy, double mse, const char* name = "acc") {
  if (metric == MetricKind::None) return "";
  char text[64];
  std::snprintf(text, sizeof text, " %s %.4f", metric == MetricKind::Accuracy ? name : metric_name(metric),
                MetricValues{accuracy, mse}.of(metric));
  return text;
}

void print_epoch(const EpochMetrics& m, int64_t epochs, MetricKind metric) {
  std::printf("epoch %lld/%lld  lr %.4g  train loss %.4f%s  test loss %.4f%s  %.1fs\n", (long long)m.epoch,
              (long long)epochs, m.lr, m.train_loss,
              metric_text(metric, m.train_accuracy, m.train_mse).c_str(), m.test_loss,
              metric_text(metric, m.test_accuracy, m.test_mse).c_str(), m.seconds);
  std::fflush(stdout);
}

void print_reduce_stats(const ReduceStats& r, int ranks) {
  const double steps = double(std::max<int64_t>(r.steps, 1));
  std::printf(
      "%d rank%s: one allreduce of %zu floats (%.2f MB) per step; %.3f s in allreduce over %lld steps "
      "(%.3f ms per step, waiting for the slowest rank included)\n",
      ranks, ranks == 1 ? "" : "s", r.floats, double(r.floats) * 4e-6, r.seconds, (long long)r.steps,
      1e3 * r.seconds / steps);
}

nlohmann::json training_meta(const TrainOptions& o, const std::string& data_dir, const Progress& p,
                             MetricKind metric) {
  const EpochMetrics& last = p.history.back();
  double seconds = 0;
  for (const auto& m : p.history) seconds += m.seconds;
  nlohmann::json meta = {
      {"training", o.config.to_json()}, {"data", data_dir}, {"metric", metric_name(metric)},
      {"train_seconds", seconds},       {"steps", p.step},  {"xgrad_version", XGRAD_VERSION}};
  meta.update(figures_json("train_", last.train_loss, last.train_accuracy, last.train_mse));
  meta.update(figures_json("test_", last.test_loss, last.test_accuracy, last.test_mse));
  return meta;
}

int thread_count(const TrainOptions& o, Communicator* comm) {
  if (o.threads > 0) return o.threads;
  return comm ? threads_per_rank(*comm) : int(std::max(1u, std::thread::hardware_concurrency()));
}

void resume_from(Trainer& trainer, const std::string& checkpoint) {
  const Checkpoint saved = load_checkpoint(checkpoint);
  try {
    trainer.resume(saved);
  } catch (const std::exception& e) {
    rethrow_with_context(checkpoint, e);
  }
}

void print_start(const TrainOptions& o, const Graph& graph, size_t train_size, size_t test_size, int threads,
                 Communicator* comm) {
  const std::string ranks = comm ? " per rank, " + std::to_string(comm->size()) + " ranks" : "";
  const std::string augment =
      o.config.augment.enabled() ? ", augmentation " + o.config.augment.to_string() : std::string();
  std::printf(
      "training %s (%lld params) on %zu samples, testing on %zu; %s lr %g, batch %lld, %lld epochs%s, "
      "%d threads%s\n",
      o.model.c_str(), (long long)graph.param_count(), train_size, test_size, o.config.optim.type.c_str(),
      o.config.optim.lr, (long long)o.config.batch, (long long)o.config.epochs, augment.c_str(), threads,
      ranks.c_str());
}

void catch_sigint() {
  g_interrupted = 0;
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the program at once
  sigaction(SIGINT, &sa, nullptr);
}

[[noreturn]] void exit_interrupted(const Trainer& trainer, const std::string& checkpoint) {
  save_checkpoint(checkpoint, trainer.checkpoint());
  std::printf(
      "interrupted at epoch %lld, step %lld: checkpoint written to %s; continue with the same command "
      "and --checkpoint %s --resume\n",
      (long long)trainer.progress().epoch + 1, (long long)trainer.progress().step, checkpoint.c_str(),
      checkpoint.c_str());
  std::fflush(stdout);
  std::exit(130);
}

void save_trained(const TrainOptions& o, const Model& model, const Params& params, const Trainer& trainer,
                  const std::string& data_dir) {
  nlohmann::json meta = model.meta;
  const MetricKind metric = trainer.metric().kind;
  meta.update(training_meta(o, data_dir, trainer.progress(), metric));
  // What the trained classes mean: the data set's names (a classifier's only).
  if (!meta.contains("classes") && metric == MetricKind::Accuracy) meta["classes"] = fashion_mnist_classes();
  save_model(o.out, model.graph, &params, meta);
  const EpochMetrics& last = trainer.progress().history.back();
  std::printf("test%s (loss %.4f); model written to %s\n",
              metric_text(metric, last.test_accuracy, last.test_mse, "accuracy").c_str(), last.test_loss,
              o.out.c_str());
}

void run_train(TrainOptions o, Communicator* comm) {
  check_options(o);
  const int threads = thread_count(o, comm);
  set_num_threads(threads);
  Model model = load_model_or_builtin(o.model);
  const std::string data_dir = o.data.empty() ? default_data_dir() : o.data;
  const TrainTestData data = load_data(data_dir, image_layout_from_name(o.layout));
  check_data_fits(model.graph, data.train, data_dir, "train", o.config.image_input, o.config.label_input);
  check_data_fits(model.graph, data.test, data_dir, "test", o.config.image_input, o.config.label_input);
  const BatchSource train = limited(batches_of(data.train), o.train_samples);
  const BatchSource test = limited(batches_of(data.test), o.test_samples);
  Params params = complete_weights(model.graph, model.weights, o.config.seed);
  Trainer trainer(model.graph, params, o.config);
  if (o.resume) resume_from(trainer, o.checkpoint);
  if (comm) {
    trainer.distribute(*comm, o.verify_replicas);
    check_same_run(*comm, trainer.run_identity(train, &test));
  }
  const bool lead = trainer.lead();  // the one process that prints and writes files
  const std::string checkpoint = o.checkpoint.empty() ? stem(o.out) + ".checkpoint.json" : o.checkpoint;
  const std::string plot = !o.plot.empty() ? o.plot : o.log.empty() ? "" : stem(o.log) + ".svg";
  if (lead) print_start(o, model.graph, train.size, test.size, threads, comm);
  ProgressBar bar(std::cout, lead && stdout_is_terminal(), o.config.epochs);
  auto on_step = [&](const StepInfo& s) {
    if (lead) bar.update(s);
    if (s.step == o.interrupt_after) std::raise(SIGINT);
    if (comm && s.step == o.kill_rank_at && comm->rank() == comm->size() - 1) std::raise(SIGKILL);
    if (lead && !o.checkpoint.empty() && o.checkpoint_every > 0 && s.step % o.checkpoint_every == 0)
      save_checkpoint(o.checkpoint, trainer.checkpoint());
    return g_interrupted ? StepAction::Stop : StepAction::Continue;
  };
  auto on_epoch = [&](const EpochMetrics& m) {
    if (!lead) return;
    bar.clear();
    print_epoch(m, o.config.epochs, trainer.metric().kind);
    if (!o.checkpoint.empty()) save_checkpoint(o.checkpoint, trainer.checkpoint());
    const auto& history = trainer.progress().history;
    if (!o.log.empty()) write_file_atomic(o.log, csv_curves(history, trainer.metric().kind));
    if (!plot.empty())
      write_file_atomic(plot, svg_curves(history, model.graph.name(), trainer.metric().kind));
  };
  catch_sigint();
  const bool finished = trainer.run(train, &test, on_step, on_epoch);
  signal(SIGINT, SIG_DFL);
  if (!finished && !lead) std::exit(130);
  bar.clear();
  if (!finished) exit_interrupted(trainer, checkpoint);
  if (!lead) return;
  if (comm) print_reduce_stats(*trainer.reduce_stats(), comm->size());
  save_trained(o, model, params, trainer, data_dir);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a model (default: the reference LeNet recipe)");
  auto opts = std::make_shared<TrainOptions>();
  add_options(*cmd, *opts);
  cmd->callback([opts, cmd] {
    if (cmd->count("--lr") == 0 && opts->config.optim.type != "sgd") opts->config.optim.lr = 1e-3;
    if (!opts->distributed) return run_train(*opts, nullptr);
    Communicator& comm = mpi_world();
    const int status = run_on_rank(
        comm, [&] { run_train(*opts, &comm); },
        [](const std::string& message) { std::cerr << "xgrad: error: " << message << "\n"; });
    if (status != 0) std::exit(status);  // every rank; MPI is finalised at exit
  });
}

}  // namespace xgrad::cli
