// The reverse-mode engine: accumulation on fan-out, diamonds, pruning, errors, buffer reuse.
#include <doctest/doctest.h>

#include <set>

#include "core/error.h"
#include "graph/builder.h"
#include "graph/engine.h"
#include "tests/fixtures.h"

using namespace xgrad;

namespace {
using test::vec;
}  // namespace

TEST_CASE("fan-out: d/dx sum(x*x + x) = 2x + 1") {
  GraphBuilder b("fanout");
  Value x = b.input("x", {3});
  Value y = b.add(b.mul(x, x), x);
  b.output("loss", b.sum(y, "loss"));
  Graph g = b.finish();
  Engine e(g);
  Feeds feeds{{"x", vec({1, -2, 0.5})}};
  e.forward(feeds, {}, true);
  CHECK(e.value("loss")() == doctest::Approx(1 + 1 - 2 + 4 + 0.5 + 0.25));
  e.backward(g.output("loss"));
  const Tensor* gx = e.grad("x");
  REQUIRE(gx);
  CHECK((*gx)(0) == doctest::Approx(3));
  CHECK((*gx)(1) == doctest::Approx(-3));
  CHECK((*gx)(2) == doctest::Approx(2));
}

// x*x's backward reads x: from a temporary map that the engine must keep (ASan saw it freed before).
TEST_CASE("feeds given as a temporary stay readable for backward") {
  GraphBuilder b("temporary");
  Value x = b.input("x", {3});
  b.output("loss", b.sum(b.mul(x, x), "loss"));
  Graph g = b.finish();
  Engine e(g);
  e.forward({{"x", vec({1, -2, 0.5})}}, {}, true);
  Tensor noise = vec({7, 7, 7});  // reuses the freed memory if the map was not kept
  e.backward(g.output("loss"));
  CHECK(e.value("x")(1) == -2);
  CHECK((*e.grad("x"))(1) == doctest::Approx(-4));
  CHECK((*e.grad("x"))(2) == doctest::Approx(1));
  CHECK(noise(0) == 7);
}

TEST_CASE("diamond: two paths from one node are summed") {
  // a = sigmoid(x); loss = sum(tanh(a) + relu(a)); d/da = (1 - tanh(a)^2) + 1 since a > 0
  GraphBuilder b("diamond");
  Value x = b.input("x", {2});
  Value a = b.sigmoid(x, "a");
  b.output("loss", b.sum(b.add(b.tanh(a), b.relu(a)), "loss"));
  Graph g = b.finish();
  Engine e(g);
  Feeds feeds{{"x", vec({0.3f, -1.2f})}};
  e.forward(feeds, {}, true);
  e.backward(g.output("loss"));
  for (int i = 0; i < 2; ++i) {
    const double av = e.value("a")(i);
    const double expected = ((1 - std::tanh(av) * std::tanh(av)) + 1) * av * (1 - av);
    CHECK((*e.grad("x"))(i) == doctest::Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("a branch off the loss path gets no gradient; labels get none") {
  GraphBuilder b("branch");
  Value x = b.input("x", {-1, 3});
  Value y = b.input("y", {-1}, DType::Int32);
  Value w = b.param("w", {3, 3}, Init{"ones"});
  Value logits = b.matmul(x, w, "logits");
  Value side = b.tanh(logits, "side");  // not on the loss path
  b.output("side", side);
  b.output("loss", b.softmax_cross_entropy(logits, y, "loss"));
  Graph g = b.finish();
  Engine e(g);
  Params p{{"w", make_tensor({3, 3}, 0.5f)}};
  Feeds feeds{{"x", make_tensor({2, 3}, 1.0f)}, {"y", vec({0, 2})}};
  e.forward(feeds, p, true);
  e.backward(g.output("loss"));
  CHECK(e.grad("side") == nullptr);
  CHECK(e.grad("y") == nullptr);
  CHECK(e.grad("w") != nullptr);
  CHECK(e.grad("x") != nullptr);
  // Only w wanted: x's gradient is pruned.
  e.backward(g.output("loss"), {g.id("w")});
  CHECK(e.grad("x") == nullptr);
  CHECK(e.grad("w") != nullptr);
}

TEST_CASE("a non-scalar loss is an error, and backward needs a training forward") {
  GraphBuilder b("bad");
  Value x = b.input("x", {2});
  Value s = b.sigmoid(x, "s");
  b.output("loss", s);
  Graph g = b.finish();
  Engine e(g);
  Feeds feeds{{"x", vec({1, 2})}};
  e.forward(feeds, {}, false);
  CHECK_THROWS_WITH_AS(e.backward(g.id("s")), doctest::Contains("training"), Error);
  e.forward(feeds, {}, true);
  CHECK_THROWS_WITH_AS(e.backward(g.id("s")), doctest::Contains("expected a scalar"), Error);
}

TEST_CASE("feeds are checked: missing, wrong shape, batch mismatch, unknown, non-integer labels") {
  GraphBuilder b("feeds");
  Value x = b.input("x", {-1, 2});
  Value y = b.input("y", {-1}, DType::Int32);
  b.output("loss", b.softmax_cross_entropy(x, y, "loss"));
  Graph g = b.finish();
  Engine e(g);
  CHECK_THROWS_WITH_AS(e.forward({{"x", make_tensor({1, 2})}}, {}), doctest::Contains("\"y\""), Error);
  CHECK_THROWS_WITH_AS(e.forward({{"x", make_tensor({1, 3})}, {"y", vec({0})}}, {}),
                       doctest::Contains("expected [-1, 2]"), Error);
  CHECK_THROWS_WITH_AS(e.forward({{"x", make_tensor({2, 2})}, {"y", vec({0})}}, {}),
                       doctest::Contains("batch size"), Error);
  CHECK_THROWS_WITH_AS(e.forward({{"x", make_tensor({1, 2})}, {"y", vec({0.5})}}, {}),
                       doctest::Contains("int32"), Error);
  CHECK_THROWS_WITH_AS(e.forward({{"x", make_tensor({1, 2})}, {"y", vec({0})}, {"z", vec({0})}}, {}),
                       doctest::Contains("\"z\""), Error);
  CHECK_THROWS_WITH_AS(e.forward({{"x", make_tensor({1, 2})}, {"y", vec({2})}}, {}),
                       doctest::Contains("outside [0, 2)"), Error);
}

TEST_CASE("shape mismatches are reported at the node that makes them") {
  GraphBuilder b("shapes");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value w = b.param("w", {6, 3, 5, 5}, Init{"zeros"});
  CHECK_THROWS_WITH_AS(b.op("conv2d", {x, w}, json::object(), "conv1"),
                       doctest::Contains("node \"conv1\" (conv2d): w has 3 input channels, x has 1"), Error);
  CHECK_THROWS_WITH_AS(b.op("matmul", {x, w}, json::object(), "mm"), doctest::Contains("[-1, 1, 28, 28]"),
                       Error);
  CHECK_THROWS_WITH_AS(b.op("conv2d", {x}, json::object(), "c"), doctest::Contains("expected 2 to 3 inputs"),
                       Error);
}

TEST_CASE("training steps at one batch size reuse every buffer") {
  GraphBuilder b("reuse");
  Value x = b.input("x", {-1, 4});
  Value y = b.input("y", {-1}, DType::Int32);
  Value w = b.param("w", {4, 3}, Init{"ones"});
  Value h = b.sigmoid(b.matmul(x, w, "mm"), "h");
  b.output("loss", b.softmax_cross_entropy(h, y, "loss"));
  Graph g = b.finish();
  Engine e(g);
  Params p{{"w", make_tensor({4, 3}, 0.1f)}};
  Feeds feeds{{"x", make_tensor({5, 4}, 1.0f)}, {"y", vec({0, 1, 2, 0, 1})}};
  e.forward(feeds, p, true);
  e.backward(g.output("loss"));
  const float* h_buffer = e.value("h").data();
  // Gradient buffers rotate between a node's accumulator and its consumer's scratch: at most two
  // distinct buffers ever hold a gradient, so no step allocates.
  std::set<const float*> w_buffers, mm_buffers;
  for (int step = 0; step < 6; ++step) {
    e.forward(feeds, p, true);
    e.backward(g.output("loss"));
    w_buffers.insert(e.grad("w")->data());
    mm_buffers.insert(e.grad("mm")->data());
  }
  CHECK(e.value("h").data() == h_buffer);
  CHECK(w_buffers.size() <= 2);
  CHECK(mm_buffers.size() <= 2);
}
