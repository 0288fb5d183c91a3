// d2l's convolution chapter, cell by cell: cross-correlation, channels, 1x1 convolutions, pooling.
// Each cell builds a small graph, runs it once and prints the result.
#include <iostream>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xio.hpp>

#include "graph/builder.h"
#include "graph/network.h"

using namespace xgrad;

int main() {
  // 2-D cross-correlation: the kernel K slides over X.
  Tensor X = {{{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}}};  // [1, 1, 3, 3]
  Tensor K = {{{{0, 1}, {2, 3}}}};                   // [1, 1, 2, 2]
  {
    GraphBuilder b("corr2d");
    b.output("Y", b.conv2d(b.input("X", {1, 1, 3, 3}), b.input("K", {1, 1, 2, 2})));
    std::cout << "corr2d:\n" << run(b.finish(), {{"X", X}, {"K", K}}, {}, "Y") << "\n";
  }

  // Multiple input channels: one 2-D cross-correlation per channel, summed.
  Tensor X2 = {{{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}, {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}}};  // [1, 2, 3, 3]
  Tensor K2 = {{{{0, 1}, {2, 3}}, {{1, 2}, {3, 4}}}};                                    // [1, 2, 2, 2]
  {
    GraphBuilder b("corr2d_multi_in");
    b.output("Y", b.conv2d(b.input("X", {1, 2, 3, 3}), b.input("K", {1, 2, 2, 2})));
    std::cout << "multi-input channels:\n" << run(b.finish(), {{"X", X2}, {"K", K2}}, {}, "Y") << "\n";
  }

  // Multiple output channels: kernels K, K + 1, K + 2 stacked on the output axis.
  Tensor K3 = xt::concatenate(xt::xtuple(K2, K2 + 1.0f, K2 + 2.0f), 0);  // [3, 2, 2, 2]
  {
    GraphBuilder b("corr2d_multi_in_out");
    b.output("Y", b.conv2d(b.input("X", {1, 2, 3, 3}), b.input("K", {3, 2, 2, 2})));
    std::cout << "multi-output channels:\n" << run(b.finish(), {{"X", X2}, {"K", K3}}, {}, "Y") << "\n";
  }

  // A 1x1 convolution is a matrix product over the channels at every pixel.
  {
    Rng rng(0);
    Tensor X3 = make_tensor({1, 3, 3, 3}), K4 = make_tensor({2, 3, 1, 1});
    for (float& v : X3) v = float(rng.normal());
    for (float& v : K4) v = float(rng.normal());
    GraphBuilder b("conv1x1");
    b.output("Y", b.conv2d(b.input("X", {1, 3, 3, 3}), b.input("K", {2, 3, 1, 1})));
    Tensor Y1 = run(b.finish(), {{"X", X3}, {"K", K4}}, {}, "Y");
    Tensor pixels = xt::reshape_view(X3, {3, 9}), weights = xt::reshape_view(K4, {2, 3});
    Tensor Y2 = xt::reshape_view(xt::linalg::dot(weights, pixels), {1, 2, 3, 3});
    std::cout << "1x1 conv vs matmul, largest difference: " << xt::amax(xt::abs(Y1 - Y2))() << "\n";
  }

  // Pooling: the maximum or the mean of each window.
  Tensor P = {{{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}}};
  {
    GraphBuilder b("pool2d");
    Value x = b.input("X", {1, 1, 3, 3});
    b.output("max", b.max_pool2d(x, PoolOptions(2).stride(1)));
    b.output("avg", b.avg_pool2d(x, PoolOptions(2).stride(1)));
    Graph g = b.finish();
    std::cout << "max pooling:\n" << run(g, {{"X", P}}, {}, "max") << "\n";
    std::cout << "average pooling:\n" << run(g, {{"X", P}}, {}, "avg") << "\n";
  }

  // Padding and stride: a 3x3 window with padding 1 and stride 2, then a rectangular (2, 3) window.
  Tensor X4 = xt::reshape_view(xt::arange<float>(16), {1, 1, 4, 4});
  {
    GraphBuilder b("pool_padding");
    Value x = b.input("X", {1, 1, 4, 4});
    b.output("square", b.max_pool2d(x, PoolOptions(3).padding(1).stride(2)));
    b.output("rect", b.max_pool2d(x, PoolOptions({2, 3}).padding({0, 1}).stride({2, 3})));
    Graph g = b.finish();
    std::cout << "max pooling 3x3, padding 1, stride 2:\n" << run(g, {{"X", X4}}, {}, "square") << "\n";
    std::cout << "max pooling (2, 3), padding (0, 1), stride (2, 3):\n"
              << run(g, {{"X", X4}}, {}, "rect") << "\n";
  }

  // Multiple channels are pooled one by one: X and X + 1 stacked on the channel axis.
  {
    Tensor X5 = xt::concatenate(xt::xtuple(X4, X4 + 1.0f), 1);  // [1, 2, 4, 4]
    GraphBuilder b("pool_channels");
    b.output("Y", b.max_pool2d(b.input("X", {1, 2, 4, 4}), PoolOptions(3).padding(1).stride(2)));
    std::cout << "pooling two channels:\n" << run(b.finish(), {{"X", X5}}, {}, "Y") << "\n";
  }
  return 0;
}
