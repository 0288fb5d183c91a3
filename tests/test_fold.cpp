// fold_for_inference: batch norms folded into the conv2d or matmul before them give the graph's own
// values; what must not fold (a conv read twice, a kept node, missing weights) stays as written.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "graph/builder.h"
#include "graph/data.h"
#include "graph/fold.h"
#include "graph/predict.h"
#include "graph/train.h"
#include "tests/fixtures.h"

using namespace xgrad;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Every weight uniform in [-1, 1), variances in [0.5, 2): statistics far from their init.
Params random_weights(const Graph& g, uint64_t seed) {
  Rng rng(seed);
  Params p = init_params(g, rng);
  for (auto& [name, t] : p)
    for (float& v : t) v = ends_with(name, ".var") ? rng.uniform(0.5f, 2.0f) : rng.uniform(-1.0f, 1.0f);
  return p;
}

Tensor random_input(const Shape& shape, uint64_t seed) {
  Rng rng(seed);
  Tensor t = make_tensor(shape);
  for (float& v : t) v = rng.uniform(-1.0f, 1.0f);
  return t;
}

Tensor value_of(const Graph& g, const Params& p, const Tensor& x, const std::string& node) {
  Engine e(g);
  e.forward({{"x", x}}, p, ForwardOptions::inference({g.id(node)}));
  return e.value(node);
}

void check_close(const Tensor& got, const Tensor& want) {
  REQUIRE(shape_of(got) == shape_of(want));
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    CHECK(got.data()[i] == doctest::Approx(want.data()[i]).epsilon(1e-4));
  }
}

// conv (no bias) -> bn1 -> relu r1 -> grouped conv (bias) -> bn2 -> flatten -> dense -> bn3 as "y".
Graph three_norms() {
  GraphBuilder b("three");
  Value x = b.input("x", {-1, 4, 6, 6});
  Value h = layers::conv2d(b, "c1", x, 6, 3, ConvOptions().padding(Pad::Same).bias(false));
  h = b.relu(layers::batch_norm(b, "bn1", h), "r1");
  h = layers::conv2d(b, "c2", h, 4, 3, ConvOptions().groups(2).stride(2));
  h = b.flatten(layers::batch_norm(b, "bn2", h, 1e-3));
  b.output("y", layers::batch_norm(b, "bn3", layers::dense(b, "fc", h, 5)));
  return b.finish();
}

}  // namespace

TEST_CASE("fold_for_inference by hand: a 1x1 conv with a bias and a batch norm") {
  GraphBuilder b("one");
  Value x = b.input("x", {-1, 1, 1, 1});
  b.output("y", layers::batch_norm(b, "bn", layers::conv2d(b, "c", x, 1, 1), 1.0));
  const Graph g = b.finish();
  const Params p = {
      {"c.w", test::filled({1, 1, 1, 1}, {2})}, {"c.b", test::vec({1})},     {"bn.gamma", test::vec({3})},
      {"bn.beta", test::vec({0.5f})},           {"bn.mean", test::vec({2})}, {"bn.var", test::vec({3})}};
  const InferenceModel m = fold_for_inference(g, p);
  CHECK(m.folded == 1);
  // s = 3/√(3 + 1) = 1.5: w' = 1.5·2 = 3, b' = 1.5·(1 − 2) + 0.5 = −1
  CHECK(m.weights.at("bn.folded_w").data()[0] == 3.0f);
  CHECK(m.weights.at("bn.folded_b").data()[0] == -1.0f);
  CHECK(m.weights.size() == 2);
  CHECK(m.graph.find("c") < 0);
  CHECK(m.graph.node(m.graph.output("y")).name == "bn");
  // x = 4: conv 9, normalized 1.5·(9 − 2) + 0.5 = 11
  CHECK(value_of(m.graph, m.weights, test::filled({1, 1, 1, 1}, {4}), "bn").data()[0] == 11.0f);
}

TEST_CASE("fold_for_inference keeps the values of convs, grouped convs and dense layers") {
  const Graph g = three_norms();
  const Params p = random_weights(g, 3);
  const InferenceModel m = fold_for_inference(g, p);
  CHECK(m.folded == 3);
  CHECK(m.fused == 1);
  CHECK(m.graph.node(m.graph.id("r1")).op->attrs().at("activation") == "relu");
  for (const char* gone : {"c1", "bn1", "c2", "fc", "bn1.gamma", "bn2.mean", "c1.w", "fc.b"}) {
    INFO(gone);
    CHECK(m.graph.find(gone) < 0);
    CHECK(m.weights.count(gone) == 0);
  }
  CHECK_NOTHROW(check_params(m.graph, m.weights));
  const Tensor x = random_input({3, 4, 6, 6}, 4);
  for (const char* node : {"r1", "bn2", "bn3"}) {
    INFO(node);
    check_close(value_of(m.graph, m.weights, x, node), value_of(g, p, x, node));
  }
  check_close(predict_output(g, p, x, g.output("y")), value_of(g, p, x, "bn3"));
}

TEST_CASE("fold_for_inference leaves a conv that something else reads, or that is kept") {
  GraphBuilder b("shared");
  Value x = b.input("x", {-1, 2, 4, 4});
  Value c = layers::conv2d(b, "c", x, 2, 3, ConvOptions().padding(Pad::Same));
  b.output("y", b.add(layers::batch_norm(b, "bn", c), c));
  const Graph g = b.finish();
  const Params p = random_weights(g, 5);
  CHECK(fold_for_inference(g, p).folded == 0);

  GraphBuilder b2("kept");
  Value x2 = b2.input("x", {-1, 2, 4, 4});
  Value c2 = layers::conv2d(b2, "c", x2, 2, 3);
  b2.output("y", layers::batch_norm(b2, "bn", c2));
  const Graph g2 = b2.finish();
  const Params p2 = random_weights(g2, 6);
  CHECK(fold_for_inference(g2, p2, {g2.id("c")}).folded == 0);
  CHECK(fold_for_inference(g2, p2).folded == 1);
  // What the user asked predict for is never folded away.
  const Tensor in = random_input({2, 2, 4, 4}, 7);
  check_close(predict_output(g2, p2, in, g2.id("c")), value_of(g2, p2, in, "c"));
}

TEST_CASE("fold_for_inference leaves pairs without weights, so running them names what is missing") {
  const Graph g = three_norms();
  Params p = random_weights(g, 8);
  p.erase("bn2.var");
  p["c1.w"] = make_tensor({1});  // the wrong shape
  const InferenceModel m = fold_for_inference(g, p);
  CHECK(m.folded == 1);  // only bn3 into fc
  CHECK(m.fused == 1);   // r1 into bn1, which stays
  CHECK(m.graph.find("c1") >= 0);
  const Tensor x = random_input({1, 4, 6, 6}, 9);
  CHECK_THROWS_WITH_AS(value_of(m.graph, m.weights, x, "bn3"), doctest::Contains("c1.w"), Error);
  p["c1.w"] = random_weights(g, 8).at("c1.w");
  CHECK_THROWS_WITH_AS(predict_output(g, p, x, g.output("y")), doctest::Contains("bn2.var"), Error);
}

TEST_CASE("fold_for_inference fuses a relu into the conv it reads, trained or not") {
  GraphBuilder b("relu");
  Value x = b.input("x", {-1, 2, 5, 5});
  Value c = b.relu(layers::conv2d(b, "c", x, 3, 3, ConvOptions().stride(2)), "r");
  Value shared = layers::conv2d(b, "d", c, 3, 1);
  b.output("y", b.add(b.relu(shared, "r2"), b.relu(shared, "r3")));
  const Graph g = b.finish();
  const Params p = random_weights(g, 14);
  const InferenceModel m = fold_for_inference(g, p);
  CHECK(m.folded == 0);
  CHECK(m.fused == 1);  // d has two readers
  CHECK(m.graph.find("c") < 0);
  CHECK(m.graph.find("d") >= 0);
  const Tensor in = random_input({3, 2, 5, 5}, 15);
  check_close(value_of(m.graph, m.weights, in, "r"), value_of(g, p, in, "r"));
  check_close(predict_output(g, p, in, g.output("y")),
              value_of(g, p, in, m.graph.node(m.graph.output("y")).name));
  CHECK(fold_for_inference(g, p, {g.id("c")}).fused == 0);
}

TEST_CASE("fold_for_inference gives new params names no node has") {
  GraphBuilder b("names");
  Value x = b.input("x", {-1, 3});
  Value taken = b.param("bn.folded_w", {3}, Init{"ones"});
  b.output("y", b.mul(layers::batch_norm(b, "bn", layers::dense(b, "fc", x, 3)), taken, "y"));
  const Graph g = b.finish();
  const Params p = random_weights(g, 10);
  const InferenceModel m = fold_for_inference(g, p);
  REQUIRE(m.folded == 1);
  CHECK(m.weights.count("bn.folded_w_") == 1);
  CHECK(m.weights.at("bn.folded_w") == p.at("bn.folded_w"));
  const Tensor in = random_input({4, 3}, 11);
  check_close(value_of(m.graph, m.weights, in, "y"), value_of(g, p, in, "y"));
}

TEST_CASE("evaluate runs the folded form and gives the graph's loss and accuracy") {
  GraphBuilder b("classifier");
  Value x = b.input("x", {-1, 2, 5, 5});
  Value label = b.input("label", {-1}, DType::Int32);
  Value h = b.relu(layers::batch_norm(b, "bn", layers::conv2d(b, "c", x, 3, 3, ConvOptions().bias(false))));
  Value logits = layers::dense(b, "fc", b.flatten(h), 4);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, label));
  const Graph g = b.finish();
  const Params p = random_weights(g, 12);
  const Tensor images = random_input({10, 2, 5, 5}, 13);
  Tensor labels = make_tensor({10});
  for (size_t i = 0; i < 10; ++i) labels.data()[i] = float(i % 4);
  const BatchSource source = tensor_batches(images, labels);
  const Evaluation e = evaluate(g, p, source, 4, "x", "label");
  Engine plain(g);
  plain.forward({{"x", images}, {"label", labels}}, p, ForwardOptions::inference());
  CHECK(e.loss == doctest::Approx(plain.value(g.output("loss"))()).epsilon(1e-5));
  const Predictions pr = predict(g, p, images, PredictOptions{4, "x"});
  int64_t right = 0;
  for (size_t i = 0; i < 10; ++i) right += pr.classes[i] == int64_t(i % 4);
  CHECK(e.accuracy == doctest::Approx(double(right) / 10));
}

namespace {

// One training step of g and of its fused form on the same random batch (x of shape `x`, 3 classes):
// the same loss, gradients and batch-norm statistics, bit for bit. Returns the weights it used.
Params train_alike(const Graph& g, const Graph& fused, const Shape& x, uint64_t seed) {
  const Params p = random_weights(g, seed);
  Tensor labels = make_tensor({x[0]});
  for (size_t i = 0; i < labels.size(); ++i) labels.data()[i] = float(i % 3);
  const Feeds feeds = {{"x", random_input(x, seed + 1)}, {"label", labels}};
  Engine plain(g), fast(fused);
  for (Engine* e : {&plain, &fast}) {
    e->forward(feeds, p, ForwardOptions::training());
    e->backward(e->graph().output("loss"));
  }
  CHECK(fast.value(fused.output("loss"))() == plain.value(g.output("loss"))());
  for (const auto& [name, value] : p) {
    if (!plain.grad(name)) continue;
    INFO(name);
    REQUIRE(fast.grad(name));
    CHECK(shape_of(*fast.grad(name)) == shape_of(*plain.grad(name)));
    CHECK(std::equal(plain.grad(name)->begin(), plain.grad(name)->end(), fast.grad(name)->begin()));
  }
  CHECK(fast.updated_states() == plain.updated_states());
  return p;
}

}  // namespace

TEST_CASE("fuse_activations keeps every param and gives the graph's training values and gradients") {
  GraphBuilder b("train");
  Value x = b.input("x", {-1, 2, 6, 6});
  Value label = b.input("label", {-1}, DType::Int32);
  Value h = b.relu(layers::batch_norm(b, "bn", layers::conv2d(b, "c", x, 4, 3)), "r1");
  h = b.relu(layers::conv2d(b, "d", h, 4, 3, ConvOptions().stride(2)), "r2");
  Value logits = layers::dense(b, "fc", b.flatten(h), 3);
  b.output("loss", b.softmax_cross_entropy(logits, label));
  const Graph g = b.finish();
  const Graph fused = fuse_activations(g);
  CHECK(fused.size() == g.size() - 2);
  REQUIRE(fused.params().size() == g.params().size());
  for (size_t i = 0; i < g.params().size(); ++i)
    CHECK(fused.node(fused.params()[i]).name == g.node(g.params()[i]).name);
  CHECK(fused.node(fused.id("r1")).op->type() == "batch_norm");
  CHECK(fused.node(fused.id("r2")).op->type() == "conv2d");
  train_alike(g, fused, {5, 2, 6, 6}, 16);
}

TEST_CASE("fuse_activations: sigmoid and tanh into convs, not into batch norms; the same bits") {
  GraphBuilder b("sigmoid");
  Value x = b.input("x", {-1, 2, 7, 7});
  Value label = b.input("label", {-1}, DType::Int32);
  Value h = b.sigmoid(layers::conv2d(b, "c", x, 4, 3), "s1");  // fused
  h = b.tanh(layers::batch_norm(b, "bn", layers::conv2d(b, "d", h, 4, 3)),
             "t2");                                                            // stays: after a batch norm
  h = b.tanh(layers::conv2d(b, "e", h, 3, 2, ConvOptions().stride(2)), "t3");  // fused
  Value logits = layers::dense(b, "fc", b.flatten(h), 3);
  b.output("loss", b.softmax_cross_entropy(logits, label));
  const Graph g = b.finish();
  const Graph fused = fuse_activations(g);
  CHECK(fused.size() == g.size() - 2);
  CHECK(fused.node(fused.id("s1")).op->attrs().at("activation") == "sigmoid");
  CHECK(fused.node(fused.id("t3")).op->attrs().at("activation") == "tanh");
  CHECK(fused.node(fused.id("t2")).op->type() == "tanh");
  const Params p = train_alike(g, fused, {4, 2, 7, 7}, 21);
  const InferenceModel m = fold_for_inference(g, p);  // the batch norm folds into d; then d takes t2
  CHECK(m.fused == 3);
  CHECK(m.graph.node(m.graph.id("t2")).op->attrs().at("activation") == "tanh");
}

TEST_CASE("fuse_activations: a relu fused into a conv whose kernel takes several images per call") {
  GraphBuilder b("batched");
  Value x = b.input("x", {-1, 16, 6, 6});
  Value label = b.input("label", {-1}, DType::Int32);
  Value h = b.relu(layers::conv2d(b, "c", x, 16, 3, ConvOptions().padding(Pad::Same)), "r1");
  Value logits = layers::dense(b, "fc", b.flatten(h), 3);
  b.output("loss", b.softmax_cross_entropy(logits, label));
  const Graph g = b.finish();
  const Graph fused = fuse_activations(g);
  CHECK(fused.node(fused.id("r1")).op->type() == "conv2d");
  train_alike(g, fused, {37, 16, 6, 6}, 5);  // 37 images: 4 or 5 per backward chunk
}

TEST_CASE("fuse_activations: a residual block's add takes the relu after it; the same bits") {
  GraphBuilder b("residual");
  Value x = b.input("x", {-1, 3, 6, 6});
  Value label = b.input("label", {-1}, DType::Int32);
  Value h = b.relu(layers::conv2d(b, "stem", x, 4, 3, ConvOptions().padding(Pad::Same)), "r0");
  Value branch =
      layers::batch_norm(b, "bn", layers::conv2d(b, "c", h, 4, 3, ConvOptions().padding(Pad::Same)));
  h = b.relu(b.add(branch, h, "sum"), "out");  // fused: the add's only reader
  Value logits = layers::dense(b, "fc", b.flatten(h), 3);
  b.output("loss", b.softmax_cross_entropy(logits, label));
  const Graph g = b.finish();
  const Graph fused = fuse_activations(g);
  CHECK(fused.size() == g.size() - 2);  // r0 into stem, out into sum
  CHECK(fused.node(fused.id("out")).op->type() == "add");
  CHECK(fused.node(fused.id("out")).op->attrs().at("activation") == "relu");
  train_alike(g, fused, {4, 3, 6, 6}, 31);
}
