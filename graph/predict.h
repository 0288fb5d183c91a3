#pragma once
// Inference as a library call: class probabilities and classes for a set of images, in eval mode,
// in batches (each op splits its batch over the thread pool), computing only what the scores need,
// so a model's label input needs no value. Class names come from the model's meta.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/engine.h"

namespace xgrad {

struct Predictions {
  Tensor probs;                  // [N, K]: the "probs" output, or the softmax of "logits"
  std::vector<int64_t> classes;  // [N]: the most probable class of each row (the first on ties)
};

struct PredictOptions {
  int64_t batch = 256;  // the most images per forward pass
  std::string input;    // the graph input the images are fed to; empty: its data input (graph/data_fit.h)
  // Run fewer images per pass where `batch` images' activations would not stay in the caches
  // between one op and the next (cache_batch); false: exactly `batch` (the last pass: the rest).
  bool fit_cache = true;
};

// Images per forward pass that keep each op's per-sample activations (its inputs and its output,
// summed, for the op where that is largest) within about 2 MB a thread, so they stay in the core's
// caches from op to op: at least 16 a thread (fewer left the thread pool and the kernels that take
// several images per call short of work), at most `batch`. Inference of 256 images at 1 / 2 threads
// (images/s): the built-in resnet 17,203 / 35,435 -> ~25,000 / ~40,000, mobilenet 11,555 / 21,825 ->
// ~18,700 / ~29,500; compute-bound nets (vgg-cifar, alexnet-cifar) within the noise (KERNELS.md).
// More images where that moves less: an op whose weights exceed the caches reads them from memory
// once a pass, so a larger pass is taken where the weights it saves per image outweigh the
// activations that then overflow (a 4608 -> 512 dense layer after a conv: passes of 27 -> 256).
int64_t cache_batch(const Graph& g, int64_t batch, int threads);

struct InferenceModel;

// Predicts node `output` of a model many times: the inference form (graph/fold.h, built from a
// copy of the weights as they are now) and the engine with its buffers are made once, so a loop
// that predicts one image per call pays neither on every call (as ONNX Runtime's session does).
//   Predictor p(g, weights, g.id("probs"));  for (...) Tensor y = p(image);
// It keeps its engine's buffers between calls, so one Predictor serves one thread at a time.
class Predictor {
 public:
  // Throws Error when `g` has no such input or `output` is not one row per sample [N, ...].
  Predictor(const Graph& g, const Params& weights, int output, const PredictOptions& options = {});
  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;
  ~Predictor();

  // The value of `output` for each of `images` [N, ...] (the input's per-sample shape), as [N, ...]:
  // batched, eval mode, only the nodes `output` needs. Throws Error naming a shape mismatch.
  Tensor operator()(const Tensor& images);

 private:
  std::string input_, output_name_;
  Shape input_shape_, output_shape_;
  int64_t batch_;                          // images per forward pass
  std::unique_ptr<InferenceModel> model_;  // on the heap: the engine refers to its graph
  std::unique_ptr<Engine> engine_;
  int output_;  // in model_'s graph
  Feeds feeds_;
};

// Predictor(g, weights, output, options)(images), for one call.
Tensor predict_output(const Graph& g, const Params& weights, const Tensor& images, int output,
                      const PredictOptions& options = {});

// Class probabilities and classes: predict_output of "probs", or the softmax of "logits".
Predictions predict(const Graph& g, const Params& weights, const Tensor& images,
                    const PredictOptions& options = {});

// What a model predicts, as the model says: a classifier (its loss is softmax_cross_entropy, or it
// has no loss and a "probs"/"logits" output [N, K]) gives class probabilities and classes; a
// sigmoid_cross_entropy model the probability σ(logit) of each element; any other model (a
// regression's mse) the values of its prediction output (graph/metric.h prediction_output).
struct ModelPredictions {
  bool classifier = false;
  Predictions classes;         // classifier only
  std::string output;          // otherwise: the node whose values `values` holds
  Tensor values;               // otherwise: [N, ...]
  bool probabilities = false;  // values are σ of the output (sigmoid_cross_entropy)
};
ModelPredictions predict_model(const Graph& g, const Params& weights, const Tensor& images,
                               const PredictOptions& options = {});

// Names of `k` classes: meta["classes"] when it is a list of k strings, else "class 0", "class 1", ...
std::vector<std::string> class_names(const nlohmann::json& meta, size_t k);

}  // namespace xgrad
