// The new ops inside whole graphs: a two-branch CNN (gelu, silu, concat, global pooling, elu,
// sigmoid_cross_entropy) gradient-checked end to end and saved and loaded exactly, and
// a squared-error loss written with the element-wise math equal to the mse op, gradients included.
#include <doctest/doctest.h>

#include "core/json_io.h"
#include "graph/builder.h"
#include "graph/engine.h"
#include "graph/serialize.h"
#include "tests/gradcheck.h"

using namespace xgrad;

namespace {

Graph two_branch_net() {
  GraphBuilder b("two-branch");
  Value x = b.input("image", {-1, 2, 5, 5});
  Value t = b.input("targets", {-1, 3});
  Value wide = b.gelu(layers::conv2d(b, "wide", x, 3, 3, ConvOptions().padding(Pad::Same)));
  Value narrow = b.silu(layers::conv2d(b, "narrow", x, 2, 1), "narrow_act");
  Value h = b.concat({wide, narrow}, 1, "joined");                                // [N, 5, 5, 5]
  Value pooled = b.concat({b.global_avg_pool2d(h), b.global_max_pool2d(h)}, -1);  // [N, 10]
  // elu with alpha 1 is smooth at 0, where a pooled feature may sit within the check's step
  Value logits = layers::dense(b, "head", b.elu(pooled), 3);
  b.output("logits", logits);
  b.output("loss", b.sigmoid_cross_entropy(logits, t, "loss"));
  return b.finish();
}

Feeds two_branch_feeds(Rng& rng) {
  Tensor images = make_tensor({4, 2, 5, 5}), targets = make_tensor({4, 3});
  for (float& v : images) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : targets) v = rng.uniform01();
  return {{"image", images}, {"targets", targets}};
}

}  // namespace

TEST_CASE("a two-branch CNN of the new ops is gradient-checked whole") {
  const Graph g = two_branch_net();
  CHECK(g.node(g.id("joined")).info.shape == Shape{-1, 5, 5, 5});
  Rng rng(3);
  const Params params = init_params(g, rng);
  const test::CheckResult r = test::check_graph_gradients(g, two_branch_feeds(rng), params, {});
  INFO(r.failure);
  CHECK(r.ok);
  CHECK(r.checked > 60);
}

TEST_CASE("the new ops and their attributes survive save and load exactly") {
  const Graph g = two_branch_net();
  Rng rng(5);
  const Params params = init_params(g, rng);
  const std::string text = model_to_string(g, &params, json::object());
  CHECK(text.find(R"("attrs": {"approximate": "none"})") != std::string::npos);  // defaults written in full
  const Model loaded = model_from_json(parse_json(text, "m.json"), "m.json");
  CHECK(model_to_string(loaded.graph, &loaded.weights, json::object()) == text);
  const Feeds feeds = two_branch_feeds(rng);
  Engine a(g), b(loaded.graph);
  a.forward(feeds, params);
  b.forward(feeds, loaded.weights);
  CHECK(a.value("loss")() == b.value("loss")());
}

TEST_CASE("mean(square(sub(p, t))) is the mse op, values and gradients") {
  GraphBuilder b("squared-error");
  Value p = b.input("p", {-1, 3});
  Value t = b.input("t", {-1, 3});
  Value scaled = b.add_scalar(b.scale(p, 2.0), -0.5, "scaled");
  b.output("by_hand", b.mean(b.square(b.sub(scaled, t)), "by_hand"));
  b.output("mse", b.mse(scaled, t, "mse"));
  const Graph g = b.finish();
  Tensor pv = make_tensor({2, 3}), tv = make_tensor({2, 3});
  Rng rng(7);
  for (float& v : pv) v = rng.uniform(-1.0f, 1.0f);
  for (float& v : tv) v = rng.uniform(-1.0f, 1.0f);
  const Feeds feeds = {{"p", pv}, {"t", tv}};  // the engine reads them again in backward
  Engine e(g);
  e.forward(feeds, {}, true);
  CHECK(e.value("by_hand")() == doctest::Approx(e.value("mse")()).epsilon(1e-6));
  e.backward("by_hand", {"p", "t"});
  const Tensor by_hand_p = *e.grad("p"), by_hand_t = *e.grad("t");
  e.backward("mse", {"p", "t"});
  for (size_t i = 0; i < pv.size(); ++i) {
    CHECK(by_hand_p.data()[i] == doctest::Approx(e.grad("p")->data()[i]).epsilon(1e-6));
    CHECK(by_hand_t.data()[i] == doctest::Approx(e.grad("t")->data()[i]).epsilon(1e-6));
  }
}
