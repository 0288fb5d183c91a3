// A user's program: builds a small CNN with the typed builder and checks one gradient step.
#include <cstdio>

#include "graph/builder.h"
#include "graph/engine.h"

using namespace xgrad;

int main() {
  GraphBuilder b("tiny");
  Value x = b.input("image", {-1, 1, 8, 8});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = b.relu(layers::conv2d(b, "conv", x, 4, 3, ConvOptions().padding(Pad::Same)));
  h = b.flatten(b.max_pool2d(h, PoolOptions(2)));
  Value logits = layers::dense(b, "fc", h, 3);
  b.output("loss", b.softmax_cross_entropy(logits, y, "loss"));
  Graph g = b.finish();

  Rng rng(0);
  Params params = init_params(g, rng);
  Feeds feeds{{"image", make_tensor({2, 1, 8, 8})}, {"label", make_tensor({2})}};
  for (float& v : feeds["image"]) v = rng.uniform01();
  feeds["label"](1) = 2;
  Engine engine(g);
  engine.forward(feeds, params, true);
  engine.backward("loss", {"conv.w"});
  std::printf("loss %.4f, conv.w gradient %s\n", double(engine.value("loss")()),
              engine.grad("conv.w") ? "present" : "missing");
  std::puts(engine.grad("conv.w") ? "consumer: ok" : "consumer: failed");
  return engine.grad("conv.w") ? 0 : 1;
}
