// A user's program against the installed xgrad package: define a small net in C++, train it a few
// steps on synthetic data, save it, load it back and check the loaded model predicts the same.
#include <cstdio>

#include "graph/builder.h"
#include "graph/engine.h"
#include "graph/serialize.h"
#include "graph/train.h"

using namespace xgrad;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  GraphBuilder b("consumer");
  Value x = b.input("image", {-1, 1, 8, 8});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = b.relu(layers::conv2d(b, "conv", x, 4, 3));
  Value logits = layers::dense(b, "fc", b.flatten(h), 2);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, y, "loss"));
  Graph g = b.finish();

  Rng rng(0);
  Params params = init_params(g, rng);
  BatchSource data{
      64, [](const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& images, Tensor& labels) {
        images = make_tensor({int64_t(count), 1, 8, 8});
        labels = make_tensor({int64_t(count)});
        for (size_t i = 0; i < count; ++i) {  // class 1: bright top half
          const uint32_t item = order[start + i];
          labels(i) = float(item % 2);
          for (int p = 0; p < 64; ++p) images(i, 0, p / 8, p % 8) = (item % 2 && p < 32) ? 1.f : 0.f;
        }
      }};
  TrainConfig config;
  config.epochs = 3;
  config.batch = 16;
  config.optim.type = "adam";
  config.optim.lr = 0.01;
  Trainer trainer(g, params, config);
  trainer.run(data, &data);
  const double accuracy = trainer.progress().history.back().test_accuracy;

  save_model(argv[1], g, &params, nlohmann::json::object());
  const Model loaded = load_model(argv[1]);
  const double reloaded = evaluate(loaded.graph, loaded.weights, data).accuracy;
  std::printf("consumer: trained accuracy %.3f, reloaded %.3f\n", accuracy, reloaded);
  return accuracy == reloaded && accuracy > 0.9 ? 0 : 1;
}
