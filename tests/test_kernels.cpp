// Fast kernels against their reference loops (conv_reference, pool_reference) on many shapes and
// attributes, with 1 and 2 threads; results must not depend on the thread count at all.
#include <doctest/doctest.h>

#include <cmath>

#include "core/parallel.h"
#include "core/rng.h"
#include "ops/conv_reference.h"
#include "ops/pool_reference.h"
#include "ops/registry.h"

using namespace xgrad;

namespace {

Tensor random(const Shape& s, Rng& rng) {
  Tensor t = make_tensor(s);
  for (float& v : t) v = rng.uniform(-1.0f, 1.0f);
  return t;
}

void check_close(const Tensor& got, const Tensor& want, const char* what) {
  REQUIRE(shape_of(got) == shape_of(want));
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i)
    worst = std::max(worst,
                     std::fabs(double(got.data()[i]) - want.data()[i]) / (1.0 + std::fabs(want.data()[i])));
  INFO(what << ": worst relative difference " << worst);
  CHECK(worst < 1e-4);  // float sums of up to ~2000 terms, in another order
}

struct OpRun {
  Tensor y;
  std::vector<Tensor> grads;
};

// Forward in training mode, then backward of Σ y ⊙ g through the registered (fast) op.
OpRun run_op(const Op& op, const std::vector<Tensor>& in, const Tensor& g) {
  Inputs ptrs;
  std::vector<ValueInfo> infos;
  for (const auto& t : in) ptrs.push_back(&t), infos.push_back({shape_of(t), DType::Float32});
  OpRun r;
  r.y = make_tensor(op.infer_shape(infos));
  Workspace ws;
  op.forward(ptrs, r.y, ws, true);
  r.grads.resize(in.size());
  Grads slots;
  for (auto& t : r.grads) slots.push_back(&t);
  op.backward(ptrs, r.y, g, ws, slots);
  return r;
}

struct ConvCase {
  Shape x, w;
  json attrs;
};

}  // namespace

TEST_CASE("conv2d fast path matches the direct loops: strides, paddings, dilations, 1x1, channels") {
  const std::vector<ConvCase> cases = {
      {{9, 1, 28, 28}, {6, 1, 5, 5}, json::object()},   // LeNet conv1, a batch of odd size
      {{5, 6, 12, 12}, {16, 6, 5, 5}, json::object()},  // LeNet conv2
      {{1, 3, 7, 6}, {4, 3, 3, 3}, {{"stride", 2}}},
      {{2, 2, 6, 7}, {3, 2, 3, 2}, {{"stride", {1, 3}}}},
      {{3, 2, 5, 5}, {2, 2, 3, 3}, {{"padding", "same"}}},
      {{2, 2, 6, 6}, {2, 2, 4, 4}, {{"padding", "same"}, {"stride", 2}}},
      {{2, 2, 4, 5}, {3, 2, 3, 3}, {{"padding", {1, 2}}}},
      {{1, 1, 5, 4}, {2, 1, 2, 3}, {{"padding", "valid"}}},
      {{2, 2, 9, 9}, {2, 2, 3, 3}, {{"dilation", 2}, {"padding", 2}}},
      {{2, 3, 8, 8}, {2, 3, 3, 3}, {{"dilation", {2, 1}}, {"stride", 2}, {"padding", "same"}}},
      {{4, 5, 3, 3}, {7, 5, 1, 1}, json::object()},
      {{2, 2, 3, 3}, {2, 2, 3, 3}, {{"padding", 4}}},         // rows and columns that read only padding
      {{3, 1, 7, 37}, {11, 1, 3, 4}, {{"padding", {1, 2}}}},  // direct kernel: 2 channel groups, 3 blocks
      {{2, 1, 9, 9}, {9, 1, 5, 5}, {{"padding", "same"}}},    // direct kernel: asymmetric padding
      {{2, 1, 6, 6}, {3, 1, 7, 7}, {{"padding", 3}}},         // direct kernel: taps reading only padding
      {{2, 1, 9, 9}, {2, 1, 3, 3}, {{"dilation", 2}}},        // one channel, but not direct
      {{2, 2, 20, 20}, {3, 2, 3, 3}, json::object()},         // long thin weight gradient (gemm_nt)
      {{2, 3, 9, 10}, {20, 3, 3, 2}, {{"dilation", {2, 1}}, {"padding", {1, 2}}}},  // over channels: 2 blocks
      {{3, 4, 7, 5}, {8, 4, 2, 2}, json::object()},           // over channels: a block of 4 positions
      {{1, 2, 5, 19}, {16, 2, 3, 3}, {{"padding", "same"}}},  // over channels: rows of 8 + 8 + 3
  };
  Rng rng(7);
  for (const auto& c : cases) {
    INFO("x " << to_string(c.x) << ", w " << to_string(c.w) << ", attrs " << c.attrs.dump());
    auto op = registry().make("conv2d", c.attrs);
    const std::vector<Tensor> in = {random(c.x, rng), random(c.w, rng), random({c.w[0]}, rng)};
    Window win;
    win.stride = AttrReader(c.attrs).pair("stride", {1, 1}, 1);
    win.padding = AttrReader(c.attrs).padding("padding");
    win.dilation = AttrReader(c.attrs).pair("dilation", {1, 1}, 1);
    const ConvDims d = conv_dims(in[0], in[1], win);
    Tensor y = make_tensor({d.n, d.o, d.g.out_h, d.g.out_w});
    conv2d_reference_forward(d, in[0].data(), in[1].data(), in[2].data(), y.data());
    const Tensor g = random(shape_of(y), rng);
    Tensor dx = make_tensor(c.x), dw = make_tensor(c.w), db = make_tensor({c.w[0]});
    conv2d_reference_backward(d, in[0].data(), in[1].data(), g.data(), dx.data(), dw.data(), db.data());

    set_num_threads(1);
    const OpRun one = run_op(*op, in, g);
    set_num_threads(2);
    const OpRun two = run_op(*op, in, g);
    set_num_threads(1);
    check_close(one.y, y, "y");
    check_close(one.grads[0], dx, "dx");
    check_close(one.grads[1], dw, "dw");
    check_close(one.grads[2], db, "db");
    CHECK(two.y == one.y);  // bit for bit: the split of the batch does not change any sum
    for (size_t i = 0; i < 3; ++i) CHECK(two.grads[i] == one.grads[i]);
  }
}

TEST_CASE("max_pool2d and avg_pool2d match the reference loops, fast path or not") {
  struct PoolCase {
    Shape x;
    json attrs;
  };
  const std::vector<PoolCase> cases = {
      {{3, 6, 24, 24}, {{"kernel", 2}}},  // LeNet pool1: the fast 2x2 path
      {{2, 3, 9, 9}, {{"kernel", 2}}},    // odd size: the last row and column are dropped
      {{2, 2, 8, 8}, {{"kernel", 2}, {"stride", 1}}},
      {{1, 2, 9, 7}, {{"kernel", 3}, {"stride", 2}}},
      {{1, 2, 7, 7}, {{"kernel", {2, 3}}, {"stride", {2, 1}}}},
      {{1, 2, 5, 6}, {{"kernel", 3}, {"stride", 2}, {"padding", "same"}}},
      {{2, 1, 3, 3}, {{"kernel", 2}, {"stride", 1}, {"padding", 1}}},
  };
  Rng rng(11);
  for (const auto& c : cases)
    for (const bool is_max : {true, false}) {
      INFO("x " << to_string(c.x) << ", attrs " << c.attrs.dump() << (is_max ? ", max" : ", avg"));
      auto op = registry().make(is_max ? "max_pool2d" : "avg_pool2d", c.attrs);
      const std::vector<Tensor> in = {random(c.x, rng)};
      Window win;
      win.kernel = AttrReader(c.attrs).required_pair("kernel", 1);
      win.stride = AttrReader(c.attrs).pair("stride", win.kernel, 1);
      win.padding = AttrReader(c.attrs).padding("padding");
      const PoolDims d = pool_dims(in[0], win);
      Tensor y = make_tensor({c.x[0], c.x[1], d.g.out_h, d.g.out_w}), dx = make_tensor(c.x);
      std::vector<int32_t> argmax(y.size());
      const Tensor g = random(shape_of(y), rng);
      if (is_max) {
        max_pool_reference_forward(d, in[0].data(), y.data(), argmax.data());
        max_pool_reference_backward(d, g.data(), argmax.data(), dx.data());
      } else {
        avg_pool_reference_forward(d, in[0].data(), y.data());
        avg_pool_reference_backward(d, g.data(), dx.data());
      }
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        const OpRun r = run_op(*op, in, g);
        CHECK(r.y == y);
        if (is_max) CHECK(r.grads[0] == dx);  // same argmax, same sums
        if (!is_max) check_close(r.grads[0], dx, "dx");
      }
      set_num_threads(1);
    }
}
