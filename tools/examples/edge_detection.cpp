// d2l's "learning a kernel": recover the edge detector K = [1, -1] from X and Y = corr2d(X, K) by
// gradient descent on the squared error, 10 steps at lr 3e-2, as the notebook does by hand.
#include <cstdio>

#include <xtensor/xview.hpp>

#include "graph/builder.h"
#include "graph/engine.h"

using namespace xgrad;

int main() {
  // X: a 6x8 image, white (1) with a black (0) band in columns 2..5; Y: its edges under K = [1, -1].
  Tensor X = make_tensor({1, 1, 6, 8}, 1.0f);
  xt::view(X, 0, 0, xt::all(), xt::range(2, 6)) = 0.0f;
  Tensor Y = make_tensor({1, 1, 6, 7});
  xt::view(Y, 0, 0, xt::all(), 1) = 1.0f;   // 1 -> 0
  xt::view(Y, 0, 0, xt::all(), 5) = -1.0f;  // 0 -> 1

  // A 1x2 convolution without bias; loss = sum((Y_hat - Y)^2).
  GraphBuilder b("edge");
  Value x = b.input("X", {1, 1, 6, 8});
  Value y = b.input("Y", {1, 1, 6, 7});
  Value y_hat = layers::conv2d(b, "conv2d", x, 1, {1, 2}, ConvOptions().bias(false));
  b.output("loss", b.sum(b.square(b.sub(y_hat, y)), "loss"));
  Graph g = b.finish();

  Rng rng(0);
  Params params = init_params(g, rng);
  Feeds feeds{{"X", X}, {"Y", Y}};
  Engine engine(g);
  const float lr = 3e-2f;
  for (int i = 0; i < 10; ++i) {
    engine.forward(feeds, params, true);
    engine.backward("loss", {"conv2d.w"});
    params["conv2d.w"] -= lr * *engine.grad("conv2d.w");
    if ((i + 1) % 2 == 0) std::printf("epoch %d, loss %.3f\n", i + 1, double(engine.value("loss")()));
  }
  const Tensor& w = params["conv2d.w"];
  std::printf("learned kernel: [[%.4f, %.4f]]\n", double(w(0, 0, 0, 0)), double(w(0, 0, 0, 1)));
  return 0;
}
