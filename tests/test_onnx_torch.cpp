// With Debian's python3-torch: nets exported by torch.onnx.export (tests/test_onnx_torch.py) import
// into xgrad and compute PyTorch's outputs; each also exports back and re-imports to the same.
#ifdef XGRAD_WITH_ONNX
#include <doctest/doctest.h>

#include "core/npz.h"
#include "graph/engine.h"
#include "graph/onnx.h"
#include "ops/registry.h"
#include "tests/paths.h"
#include "tests/python.h"
#include "tests/test_onnx_reference.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;

namespace {

Tensor run(const Model& m, const Tensor& x) {
  Engine e(m.graph);
  e.forward({{"image", x}}, m.weights, false);
  return e.value(m.graph.has_output("logits") ? m.graph.output("logits") : m.graph.output("probs"));
}

bool has_groups() { return registry().make("conv2d")->attrs().contains("groups"); }

}  // namespace

TEST_CASE("onnx torch [slow]: PyTorch nets exported by torch.onnx.export import with PyTorch's outputs") {
  const std::string python = test::python_with("torch, numpy");
  if (python.empty()) {
    MESSAGE("skipped: no python3 with numpy and torch");
    return;
  }
  test::TempDir dir;
  REQUIRE(test::run_python(python, test::slurp(test::source_dir() + "/tests/test_onnx_torch.py"),
                           "'" + dir.path("") + "' 2>/dev/null") == 0);
  const std::map<std::string, bool> nets = {
      {"lenet", true},
      {"blocks", test::has_ops({"batch_norm", "concat", "gelu", "elu", "leaky_relu"}) && has_groups()},
      {"mlp", test::has_ops({"softplus", "log_softmax"})},
  };
  for (const auto& [name, supported] : nets) {
    INFO("net ", name);
    if (!supported) {
      MESSAGE("skipped: this build lacks an op of net ", name);
      continue;
    }
    const Tensor x = npy_to_tensor(read_npy(dir.path(name + ".x.npy")));
    const Tensor want = npy_to_tensor(read_npy(dir.path(name + ".y.npy")));
    const OnnxImportOptions no_loss{"image", false, "label"};
    const Model m = import_onnx(dir.path(name + ".onnx"), no_loss);
    test::check_close(run(m, x), want, 2e-4f);
    const Model back = onnx_import_bytes(onnx_export_bytes(m.graph, m.weights, m.meta), "back.onnx", no_loss);
    test::check_close(run(back, x), want, 2e-4f);
  }
}
#endif
