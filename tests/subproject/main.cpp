// A user's program: builds a small CNN with the typed builder, trains it a few steps on generated
// data, saves it, loads it back and checks the predictions agree.
#include <cstdio>

#include "graph/builder.h"
#include "graph/data.h"
#include "graph/network.h"

using namespace xgrad;

int main() {
  GraphBuilder b("tiny");
  Value x = b.input("image", {-1, 1, 8, 8});
  Value h = b.relu(layers::conv2d(b, "conv", x, 4, 3, ConvOptions().padding(Pad::Same)));
  h = b.flatten(b.max_pool2d(h, PoolOptions(2)));
  Value logits = layers::dense(b, "fc", h, 3);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, b.input("label", {-1}, DType::Int32)));

  Rng rng(0);
  Tensor images = make_tensor({30, 1, 8, 8}), labels = make_tensor({30});
  for (float& v : images) v = rng.uniform01();
  for (float& v : labels) v = float(rng.below(3));
  Network net(b.finish());
  net.compile(adam(1e-2));
  History h1 = net.fit(tensor_batches(images, labels), FitOptions().epochs(3).batch(10));
  net.save("tiny.json");
  const bool same = Network::load("tiny.json").predict_classes(images) == net.predict_classes(images);
  const bool learned = h1.epochs.back().train_loss < h1.epochs.front().train_loss;
  std::puts(same && learned ? "consumer: ok" : "consumer: failed");
  return same && learned ? 0 : 1;
}
