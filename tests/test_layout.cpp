// Weight layouts: names, shapes and element placement checked by hand on a small net, the Keras
// Flatten row order checked by computing a dense layer both ways, exact round trips for every layout,
// and strict imports that list every problem.
#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "graph/builder.h"
#include "graph/layout.h"
#include "models/lenet.h"
#include "tests/fixtures.h"

using namespace xgrad;

namespace {

Graph conv_flatten_dense() {
  GraphBuilder b("cfd");
  Value x = b.input("image", {-1, 3, 2, 2});
  Value w = b.param("conv.w", {2, 3, 1, 2}, Init{"zeros"});
  Value c = b.op("conv2d", {x, w}, {}, "conv");  // [N, 2, 2, 1]
  Value f = b.flatten(c, "flatten");             // [N, 4]
  b.output("logits", layers::dense(b, "fc", f, 3));
  return b.finish();
}

Tensor iota(const Shape& s) {
  Tensor t = make_tensor(s);
  for (size_t i = 0; i < t.size(); ++i) t.data()[i] = float(i);
  return t;
}

Params iota_params(const Graph& g) {
  Params p;
  for (int id : g.params()) p[g.node(id).name] = iota(g.node(id).info.shape);
  return p;
}

std::vector<std::string> names(const std::vector<LayoutEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.name + " " + to_string(e.shape));
  return out;
}

}  // namespace

TEST_CASE("layout: names and shapes of a conv, flatten, dense net in each layout") {
  const Graph g = conv_flatten_dense();
  CHECK(names(weight_layout(g, WeightLayout::Xgrad)) ==
        std::vector<std::string>{"conv.w [2, 3, 1, 2]", "fc.w [4, 3]", "fc.b [3]"});
  CHECK(names(weight_layout(g, WeightLayout::Torch)) ==
        std::vector<std::string>{"conv.weight [2, 3, 1, 2]", "fc.weight [3, 4]", "fc.bias [3]"});
  CHECK(names(weight_layout(g, WeightLayout::Keras)) ==
        std::vector<std::string>{"conv/kernel [1, 2, 3, 2]", "fc/kernel [4, 3]", "fc/bias [3]"});
  CHECK(weight_layout_from_name("torch") == WeightLayout::Torch);
  CHECK_THROWS_WITH_AS(weight_layout_from_name("caffe"),
                       "unknown weight layout \"caffe\", expected xgrad, torch or keras", Error);
}

TEST_CASE("layout: elements land where each framework expects them (hand-computed)") {
  const Graph g = conv_flatten_dense();
  const Params p = iota_params(g);
  const NpzArrays torch = export_weights(g, p, WeightLayout::Torch);
  // Linear weight [out, in]: element [j][i] is xgrad's [i][j] = 3 i + j.
  const Tensor fc = npy_to_tensor(torch[1].second);
  CHECK(fc(0, 1) == 3.0f);
  CHECK(fc(2, 3) == 11.0f);
  CHECK(npy_to_tensor(torch[0].second) == p.at("conv.w"));  // OIHW as is

  const NpzArrays keras = export_weights(g, p, WeightLayout::Keras);
  // HWIO: kernel[h][w][i][o] = w[o][i][h][w] = o*6 + i*2 + w.
  const Tensor k = npy_to_tensor(keras[0].second);
  CHECK(k(0, 1, 2, 1) == 6.0f + 4.0f + 1.0f);
  CHECK(k(0, 0, 1, 0) == 2.0f);
  // Flatten of [C=2, H=2, W=1]: Keras row (h, w, c) = h*2 + c is xgrad row c*2 + h.
  const Tensor d = npy_to_tensor(keras[1].second);
  const int xgrad_row_of_keras_row[4] = {0, 2, 1, 3};
  for (int r = 0; r < 4; ++r)
    for (int j = 0; j < 3; ++j) CHECK(d(r, j) == float(xgrad_row_of_keras_row[r] * 3 + j));
}

TEST_CASE("layout: a Keras dense kernel on channels-last features computes what xgrad's does") {
  Rng rng(3);
  const int64_t C = 3, H = 2, W = 4, out = 5;
  Tensor chw = make_tensor({C, H, W}), dense = make_tensor({C * H * W, out});
  for (float& v : chw) v = rng.uniform01() - 0.5f;
  for (float& v : dense) v = rng.uniform01() - 0.5f;
  LayoutEntry e{"fc.w", "fc/kernel", {C * H * W, out}, LayoutEntry::Transform::FlattenRows, {C, H, W}};
  const Tensor kernel = to_layout(e, dense);
  for (int64_t j = 0; j < out; ++j) {
    double xg = 0, ks = 0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          xg += chw(c, h, w) * dense((c * H + h) * W + w, j);   // NCHW flatten
          ks += chw(c, h, w) * kernel((h * W + w) * C + c, j);  // NHWC flatten
        }
    CHECK(ks == doctest::Approx(xg).epsilon(1e-6));
  }
  CHECK(from_layout(e, kernel) == dense);
}

TEST_CASE("layout: export then import is exact in every layout") {
  const Graph g = lenet("sigmoid");
  Rng rng(1);
  const Params p = init_params(g, rng);
  for (WeightLayout layout : {WeightLayout::Xgrad, WeightLayout::Torch, WeightLayout::Keras}) {
    CAPTURE(weight_layout_name(layout));
    const NpzArrays arrays = export_weights(g, p, layout);
    CHECK(arrays.size() == p.size());
    const Params back = import_weights(g, arrays, layout, "w.npz");
    CHECK(back.size() == p.size());
    for (const auto& [name, t] : p) CHECK(back.at(name) == t);
  }
}

TEST_CASE("layout: imports are strict and list every problem") {
  const Graph g = conv_flatten_dense();
  NpzArrays arrays = export_weights(g, iota_params(g), WeightLayout::Torch);
  arrays.erase(arrays.begin() + 2);                                     // fc.bias missing
  arrays[1].second.shape = {4, 3};                                      // transposed by mistake
  arrays.emplace_back("extra", npy_from_tensor(make_tensor({2})));      // unexpected
  arrays.emplace_back("conv.num_batches_tracked", npy_uint8({}, {0}));  // conv is no batch norm
  CHECK_THROWS_WITH_AS(
      import_weights(g, arrays, WeightLayout::Torch, "w.npz"),
      "w.npz: does not match the model (layout torch): \"fc.weight\" has shape [4, 3], "
      "expected [3, 4]; missing \"fc.bias\" [3]; unexpected \"conv.num_batches_tracked\" []; "
      "unexpected \"extra\" [2]",
      Error);
  NpzArrays nan = export_weights(g, iota_params(g), WeightLayout::Xgrad);
  Tensor bad = npy_to_tensor(nan[2].second);
  bad(1) = std::nanf("");
  nan[2].second = npy_from_tensor(bad);
  CHECK_THROWS_WITH_AS(
      import_weights(g, nan, WeightLayout::Xgrad, "w.npz"),
      "w.npz: does not match the model (layout xgrad): \"fc.b\" holds NaN or infinite values", Error);
}
