// A CNN of one's own (3x3 convolutions with padding, strides, global average pooling), trained on
// a subset with a validation split and early stopping, saved, loaded back and used to predict.
// Usage: custom_cnn [DATA_DIR] [TRAIN_SAMPLES] [MODEL_FILE] (defaults: xgrad's data dir, 5000,
// custom_cnn.json).
#include <cstdio>
#include <string>

#include "core/dataset.h"
#include "graph/builder.h"
#include "graph/data.h"
#include "graph/network.h"
#include "tools/examples/example_main.h"

using namespace xgrad;

int example(int argc, char** argv) {
  const std::string path = argc > 3 ? argv[3] : "custom_cnn.json";
  FashionMnist data = load_fashion_mnist(argc > 1 ? argv[1] : "");
  BatchSource subset = take(batches_of(data.train), argc > 2 ? std::stoul(argv[2]) : 5000);
  Split parts = split(subset, 0.9);  // 90 % to train on, 10 % to validate with

  // 3x3 convolutions with Same padding, ReLU, max-pooling; global average pooling; a dense head.
  GraphBuilder b("custom-cnn");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value h = b.relu(layers::conv2d(b, "conv1", x, 16, 3, ConvOptions().padding(Pad::Same)));
  h = b.max_pool2d(h, PoolOptions(2));                                                 // 16x14x14
  h = b.relu(layers::conv2d(b, "conv2", h, 32, 3, ConvOptions().padding(Pad::Same)));  // 32x14x14
  h = b.max_pool2d(h, PoolOptions(3).stride(2).padding(1));                            // 32x7x7
  h = b.relu(layers::conv2d(b, "conv3", h, 32, {3, 3}, ConvOptions().stride(2)));      // 32x3x3
  Value logits = layers::dense(b, "head", b.global_avg_pool2d(h), 10);
  b.output("logits", logits);
  b.output("probs", b.softmax(logits, "probs"));
  b.output("loss", b.softmax_cross_entropy(logits, b.input("label", {-1}, DType::Int32)));

  Network model(b.finish(), /*seed=*/1);
  model.compile(adam(3e-3));
  History history =
      model.fit(parts.first, FitOptions().epochs(20).batch(64).validation(parts.second).early_stopping(2));
  std::printf("trained %zu epochs%s\n", history.epochs.size(),
              history.stopped_early ? " (stopped early)" : "");
  std::printf("test accuracy %.4f\n", model.evaluate(batches_of(data.test)).accuracy);

  model.save(path);
  Network loaded = Network::load(path);
  auto [images, labels] = materialize(take(batches_of(data.test), 8));
  std::vector<int64_t> before = model.predict_classes(images), after = loaded.predict_classes(images);
  for (size_t i = 0; i < after.size(); ++i)
    std::printf("test image %zu: %s (true: %s)\n", i, fashion_mnist_classes()[size_t(after[i])].c_str(),
                fashion_mnist_classes()[size_t(labels(i))].c_str());
  std::printf("saved to %s; the loaded model predicts %s\n", path.c_str(),
              before == after ? "the same" : "differently");
  return before == after ? 0 : 1;
}
