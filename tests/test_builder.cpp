// The typed builder: options reach the op as its attributes, layers create the params they say,
// and mistakes are reported in the user's terms.
#include <doctest/doctest.h>

#include <numeric>

#include "core/error.h"
#include "graph/builder.h"
#include "graph/engine.h"
#include "tests/fixtures.h"

using namespace xgrad;

namespace {

// The value of the single-output graph `out` for x = 0, 1, 2, ... of `shape`.
Tensor run_on_iota(GraphBuilder& b, Value out, const Shape& shape) {
  b.output("y", out);
  Graph g = b.finish();
  Tensor x = make_tensor(shape);
  std::iota(x.begin(), x.end(), 0.0f);
  Engine e(g);
  e.forward({{"x", x}}, {});
  return e.value(g.output("y"));
}

std::vector<float> values(const Tensor& t) { return {t.begin(), t.end()}; }

}  // namespace

TEST_CASE("conv options: stride, Same padding, dilation and groups reach the op") {
  GraphBuilder b("conv");
  Value x = b.input("x", {-1, 4, 9, 9});
  Value w = b.param("w", {8, 4, 3, 3}, Init{"zeros"});
  Value y = b.conv2d(x, w, ConvOptions().stride(2).padding(Pad::Same), "c");
  CHECK(b.shape(y) == Shape{-1, 8, 5, 5});
  const json attrs = b.graph().node(y.id).op->attrs();
  CHECK(attrs["stride"] == json({2, 2}));
  CHECK(attrs["padding"] == "same");
  CHECK(b.graph().node(y.id).inputs.size() == 2);  // no bias given, none used

  Value z = b.conv2d(x, w, ConvOptions().padding({1, 2}).dilation(2), "d");
  CHECK(b.graph().node(z.id).op->attrs()["padding"] == json({1, 2}));
  CHECK(b.shape(z) == Shape{-1, 8, 7, 9});  // 9 + 2*1 - 5 + 1, 9 + 2*2 - 5 + 1
}

TEST_CASE("pool options: rectangular kernel, stride and padding (d2l's examples)") {
  // X = arange(16) as 4x4: max_pool 3x3 padding 1 stride 2 -> [[5, 7], [13, 15]]
  GraphBuilder b("pool");
  Value x = b.input("x", {1, 1, 4, 4});
  CHECK(values(run_on_iota(b, b.max_pool2d(x, PoolOptions(3).padding(1).stride(2)), {1, 1, 4, 4})) ==
        std::vector<float>{5, 7, 13, 15});
  // kernel (2, 3), stride (2, 3), padding (0, 1) -> [[5, 7], [13, 15]]
  GraphBuilder b2("pool2");
  Value x2 = b2.input("x", {1, 1, 4, 4});
  Value y2 = b2.max_pool2d(x2, PoolOptions({2, 3}).stride({2, 3}).padding({0, 1}));
  CHECK(b2.graph().node(y2.id).op->attrs()["kernel"] == json({2, 3}));
  CHECK(values(run_on_iota(b2, y2, {1, 1, 4, 4})) == std::vector<float>{5, 7, 13, 15});
  // avg over 2x2 windows, stride defaults to the kernel
  GraphBuilder b3("pool3");
  Value x3 = b3.input("x", {1, 1, 4, 4});
  CHECK(values(run_on_iota(b3, b3.avg_pool2d(x3, PoolOptions(2)), {1, 1, 4, 4})) ==
        std::vector<float>{2.5, 4.5, 10.5, 12.5});
}

TEST_CASE("layers: rectangular kernels, optional bias, initializers") {
  GraphBuilder b("layers");
  Value x = b.input("image", {-1, 4, 10, 10});
  Value c = layers::conv2d(b, "c1", x, 8, {3, 5}, ConvOptions().bias(false).init(Init{"ones"}));
  CHECK(b.shape(c) == Shape{-1, 8, 8, 6});
  const Graph& g = b.graph();
  CHECK(g.node(g.id("c1.w")).info.shape == Shape{8, 4, 3, 5});
  CHECK(g.node(g.id("c1.w")).init.type == "ones");
  CHECK(g.find("c1.b") < 0);

  Value d = layers::dense(b, "fc", b.flatten(c), 3, DenseOptions().bias(false));
  CHECK(b.shape(d) == Shape{-1, 3});
  CHECK(g.node(g.id("fc.w")).info.shape == Shape{8 * 8 * 6, 3});
  CHECK(g.find("fc.b") < 0);
  Value e = layers::dense(b, "fc2", d, 2);
  CHECK(g.node(g.id("fc2.b")).info.shape == Shape{2});
  CHECK(g.node(e.id).inputs.size() == 3);
}

TEST_CASE("groups: layers::conv2d makes [O, C/groups, kh, kw] weights; depthwise when groups = C") {
  GraphBuilder b("groups");
  Value x = b.input("image", {-1, 4, 6, 6});
  Value g = layers::conv2d(b, "grouped", x, 8, 3, ConvOptions().groups(2));
  CHECK(b.graph().node(b.graph().id("grouped.w")).info.shape == Shape{8, 2, 3, 3});
  CHECK(b.graph().node(g.id).op->attrs()["groups"] == 2);
  Value d = layers::conv2d(b, "depthwise", x, 4, 3, ConvOptions().groups(4).padding(Pad::Same));
  CHECK(b.graph().node(b.graph().id("depthwise.w")).info.shape == Shape{4, 1, 3, 3});
  CHECK(b.shape(d) == Shape{-1, 4, 6, 6});
}

TEST_CASE("layers say what they want in the user's terms") {
  GraphBuilder b("errors");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value c = layers::conv2d(b, "conv1", x, 6, 5);
  CHECK_THROWS_WITH_AS(
      layers::dense(b, "fc1", c, 10),
      doctest::Contains("dense \"fc1\": wants [N, features], got [-1, 6, 24, 24] from \"conv1\" "
                        "(flatten it first"),
      Error);
  Value f = b.flatten(c);
  CHECK_THROWS_WITH_AS(layers::conv2d(b, "conv2", f, 6, 5), doctest::Contains("wants [N, C, H, W]"), Error);
  CHECK_THROWS_WITH_AS(layers::conv2d(b, "conv3", c, 8, 3, ConvOptions().groups(4)),
                       doctest::Contains("groups 4 must divide the 6 input channels"), Error);
}

TEST_CASE("the earlier spellings still build the same graph") {
  GraphBuilder b("old");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value c = layers::conv2d(b, "conv1", x, 6, 5, json{{"padding", "same"}}, Init{"he_normal"});
  CHECK(b.shape(c) == Shape{-1, 6, 28, 28});
  CHECK(b.graph().node(b.graph().id("conv1.w")).init.type == "he_normal");
  Value p = b.max_pool2d(c, 2, 2);
  CHECK(b.shape(p) == Shape{-1, 6, 14, 14});
  Value d = layers::dense(b, "fc", b.flatten(p), 10, Init{"zeros"});
  CHECK(b.shape(d) == Shape{-1, 10});
}

TEST_CASE("backward and grad take node names as well as ids") {
  GraphBuilder b("names");
  Value x = b.input("x", {2});
  Value w = b.param("w", {2}, Init{"ones"});
  b.output("loss", b.sum(b.mul(x, w), "loss"));
  Graph g = b.finish();
  Engine e(g);
  Params p{{"w", test::vec({3, 4})}};
  Feeds feeds{{"x", test::vec({1, 2})}};  // bound by reference until backward
  e.forward(feeds, p, true);
  e.backward("loss", {"w"});
  REQUIRE(e.grad("w"));
  CHECK(values(*e.grad("w")) == std::vector<float>{1, 2});
  CHECK(e.grad("x") == nullptr);  // not asked for
  CHECK(e.grad(g.id("w")) == e.grad("w"));
  CHECK_THROWS_WITH_AS(e.backward("loss", {"v"}), doctest::Contains("\"v\""), Error);
}

TEST_CASE("every op method builds its op with its attributes spelled as in JSON") {
  GraphBuilder b("ops");
  Value x = b.input("x", {-1, 3, 4, 4});
  Value y = b.input("y", {-1, 3, 4, 4});
  auto check = [&](Value v, const std::string& type, const json& attrs) {
    const Node& n = b.graph().node(v.id);
    INFO(type);
    CHECK(n.op->type() == type);
    for (const auto& [key, value] : attrs.items()) CHECK(n.op->attrs().at(key) == value);
  };
  check(b.sub(x, y), "sub", {});
  check(b.div(x, y), "div", {});
  check(b.neg(x), "neg", {});
  check(b.square(x), "square", {});
  check(b.exp(x), "exp", {});
  check(b.log(x), "log", {});
  check(b.sqrt(x), "sqrt", {});
  check(b.abs(x), "abs", {});
  check(b.clip(x, -1, 2), "clip", {{"min", -1.0}, {"max", 2.0}});
  check(b.scale(x, 0.5), "scale", {{"factor", 0.5}});
  check(b.add_scalar(x, 3), "add_scalar", {{"value", 3.0}});
  check(b.leaky_relu(x), "leaky_relu", {{"alpha", 0.01}});
  check(b.leaky_relu(x, 0.2), "leaky_relu", {{"alpha", 0.2}});
  check(b.elu(x), "elu", {{"alpha", 1.0}});
  check(b.gelu(x), "gelu", {{"approximate", "none"}});
  check(b.gelu(x, Approximate::Tanh), "gelu", {{"approximate", "tanh"}});
  check(b.silu(x), "silu", {});
  check(b.softplus(x), "softplus", {});
  check(b.log_softmax(x), "log_softmax", {{"axis", -1}});
  check(b.softmax(x, 1), "softmax", {{"axis", 1}});
  check(b.concat({x, y, x}), "concat", {{"axis", 1}});
  CHECK(b.shape(b.concat({x, y}, -1)) == Shape{-1, 3, 4, 8});
  Value g = b.global_avg_pool2d(x);
  check(g, "global_avg_pool2d", {});
  CHECK(b.shape(g) == Shape{-1, 3});
  check(b.global_max_pool2d(x), "global_max_pool2d", {});
  check(b.mse(x, y), "mse", {});
  check(b.sigmoid_cross_entropy(x, y), "sigmoid_cross_entropy", {});
}

TEST_CASE("a loss written with the element-wise methods: mean((x - y)^2) equals mse") {
  GraphBuilder b("losses");
  Value x = b.input("x", {-1, 2});
  Value y = b.input("y", {-1, 2});
  b.output("by_hand", b.mean(b.square(b.sub(x, y))));
  b.output("mse", b.mse(x, y));
  b.output("scaled", b.add_scalar(b.scale(b.neg(x), 2), 1));  // 1 - 2x
  Graph g = b.finish();
  Engine e(g);
  Feeds feeds{{"x", test::filled({2, 2}, {1, 2, 3, 4})}, {"y", test::filled({2, 2}, {0, 0, 1, 6})}};
  e.forward(feeds, {});
  CHECK(e.value(g.output("by_hand"))() == doctest::Approx((1 + 4 + 4 + 4) / 4.0));
  CHECK(e.value(g.output("mse"))() == doctest::Approx((1 + 4 + 4 + 4) / 4.0));
  CHECK(values(e.value(g.output("scaled"))) == std::vector<float>{-1, -3, -5, -7});
}
