// An imported ONNX model trains as it is (the importer adds the label input and the loss on its
// logits), evaluates, and its trained weights export back to ONNX computing what xgrad computes.
#ifdef XGRAD_WITH_ONNX
#include <doctest/doctest.h>

#include "graph/engine.h"
#include "graph/onnx.h"
#include "graph/train.h"
#include "tests/test_onnx_reference.h"
#include "tests/train_fixtures.h"

using namespace xgrad;
using onnx_proto::set_attr;

TEST_CASE("onnx import: an imported model trains with a loss on its logits and exports back") {
  Rng rng(11);
  test::OnnxFile f(13);  // as torch exports nn.Sequential(Flatten, Linear, ReLU, Linear)
  f.input("input.1", {-1, 1, 28, 28});
  f.node("Flatten", {"input.1"}, "flat");
  f.initializer("0.weight", test::random_tensor({16, 784}, rng) * 0.05f);
  f.initializer("0.bias", make_tensor({16}));
  set_attr(f.node("Gemm", {"flat", "0.weight", "0.bias"}, "h"), "transB", int64_t(1));
  f.node("Relu", {"h"}, "r");
  f.initializer("2.weight", test::random_tensor({3, 16}, rng) * 0.2f);
  f.initializer("2.bias", make_tensor({3}));
  set_attr(f.node("Gemm", {"r", "2.weight", "2.bias"}, "logits"), "transB", int64_t(1));
  f.output("logits", {-1, 3});
  Model m = onnx_import_bytes(f.bytes(), "mlp.onnx");
  CHECK(m.meta["onnx"]["inputs"] == json{{"image", "input.1"}});

  const testing::Synthetic data(150), test(60, 3, 2);
  TrainConfig config;
  config.epochs = 3, config.batch = 16, config.seed = 7;
  config.optim.type = "sgd", config.optim.lr = 0.1;
  Trainer t(m.graph, m.weights, config);
  const auto src = data.source(), test_src = test.source();
  CHECK(t.run(src, &test_src));
  const auto& h = t.progress().history;
  CHECK(h.back().train_loss < 0.5 * h.front().train_loss);
  CHECK(h.back().test_accuracy > 0.9);

  onnx::ModelProto back;
  REQUIRE(back.ParseFromString(onnx_export_bytes(m.graph, m.weights, m.meta)));
  Engine e(m.graph);
  e.forward({{"image", test.images}, {"label", make_tensor({60})}}, m.weights, false);
  test::check_close(test::onnx_evaluate(back, {{"image", test.images}}).at("logits"), e.value("logits"));
}
#endif
