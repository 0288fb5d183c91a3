// xgrad's ops against PyTorch: forward values and gradients from tests/data/torch_ops.json, made
// offline by tests/make_torch_fixtures.py (PyTorch in float64 on the same float32 inputs).
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "core/json_io.h"
#include "graph/serialize.h"
#include "tests/op_run.h"
#include "tests/paths.h"

using namespace xgrad;

namespace {

const json& fixtures() {
  static const json doc = read_json_file(test::source_dir() + "/tests/data/torch_ops.json");
  return doc;
}

// Every element within atol + rtol·|want| of PyTorch's float64 answer.
void check_close(const Tensor& got, const json& want, const std::string& what) {
  INFO(what);
  REQUIRE(shape_of(got) == want.at("shape").get<Shape>());
  const auto data = want.at("data").get<std::vector<double>>();
  constexpr double kAtol = 1e-5, kRtol = 1e-5;
  for (size_t i = 0; i < data.size(); ++i) {
    INFO("element " << i << ": xgrad " << got.data()[i] << ", torch " << data[i]);
    CHECK(std::fabs(double(got.data()[i]) - data[i]) <= kAtol + kRtol * std::fabs(data[i]));
  }
}

}  // namespace

TEST_CASE("the PyTorch fixtures cover every op of issues 10 and 11 that has no state") {
  std::set<std::string> covered;
  for (const auto& c : fixtures().at("cases")) covered.insert(c.at("op").get<std::string>());
  for (const char* op : {"leaky_relu",
                         "elu",
                         "gelu",
                         "silu",
                         "softplus",
                         "log_softmax",
                         "global_avg_pool2d",
                         "global_max_pool2d",
                         "concat",
                         "mse",
                         "sigmoid_cross_entropy",
                         "sub",
                         "neg",
                         "div",
                         "square",
                         "exp",
                         "log",
                         "sqrt",
                         "abs",
                         "clip",
                         "scale",
                         "add_scalar"}) {
    INFO(op);
    CHECK(covered.count(op) == 1);
  }
}

TEST_CASE("ops match PyTorch: forward values and gradients") {
  for (const auto& c : fixtures().at("cases")) {
    const std::string label = c.at("label");
    SUBCASE(label.c_str()) {
      std::vector<Tensor> in;
      std::vector<DType> dtypes;
      for (size_t i = 0; i < c.at("inputs").size(); ++i) {
        in.push_back(tensor_from_json(c["inputs"][i], label));
        dtypes.push_back(dtype_from_name(c.at("dtypes")[i]));
      }
      const Tensor grad_out = tensor_from_json(c.at("grad_out"), label);
      const auto r = test::run_op_full(c.at("op"), c.at("attrs"), in, dtypes, true, &grad_out);
      check_close(r.out, c.at("out"), label + ": forward");
      for (size_t i = 0; i < in.size(); ++i)
        if (!c.at("grads")[i].is_null())
          check_close(r.grads[i], c["grads"][i], label + ": grad " + std::to_string(i));
    }
  }
}
