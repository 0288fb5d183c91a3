// The benchmark's model zoo (models/zoo/*.json): every file loads, and a training step through the
// kernels this CPU picks gives the loss and gradients of the plain kernels (XGRAD_ISA=generic:
// im2col + sgemm, the generic plane and pool loops), so every kernel runs on real layer shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "graph/engine.h"
#include "graph/params.h"
#include "graph/serialize.h"
#include "ops/cpu.h"
#include "tests/paths.h"

using namespace xgrad;

namespace {

struct Step {
  float loss;
  Params grads;
};

Step train_step(const Graph& g, const Params& params, const Feeds& feeds) {
  Engine e(g);
  e.forward(feeds, params, true);
  e.backward(g.output("loss"), g.params());
  Step s{e.value(g.output("loss")).data()[0], {}};
  for (int id : g.params()) s.grads[g.node(id).name] = *e.grad(id);
  return s;
}

}  // namespace

TEST_CASE("zoo models: the chosen kernels give the plain kernels' loss and gradients") {
  int models = 0;
  for (const auto& entry : std::filesystem::directory_iterator(test::source_dir() + "/models/zoo")) {
    const Model m = load_model(entry.path().string());
    INFO(entry.path().filename().string());
    ++models;
    Rng rng(3);
    const Params params = init_params(m.graph, rng);
    Shape shape = m.graph.node(m.graph.id("image")).info.shape;
    shape[0] = 3;
    Tensor x = make_tensor(shape), y = make_tensor({3});
    for (float& v : x) v = rng.uniform01();
    for (float& v : y) v = float(rng.below(10));
    const Feeds feeds = {{"image", x}, {"label", y}};
    const Step fast = train_step(m.graph, params, feeds);
    set_isa_limit(Isa::Generic);
    const Step plain = train_step(m.graph, params, feeds);
    set_isa_limit(Isa::Avx512);
    CHECK(std::isfinite(fast.loss));
    CHECK(fast.loss == doctest::Approx(plain.loss).epsilon(1e-5));
    for (const auto& grad : plain.grads) {  // not a structured binding: INFO captures the name
      const std::string& name = grad.first;
      const Tensor& want = grad.second;
      const Tensor& got = fast.grads.at(name);
      double worst = 0, scale = 1e-30;
      for (size_t i = 0; i < want.size(); ++i) {
        worst = std::max(worst, std::fabs(double(got.data()[i]) - want.data()[i]));
        scale = std::max(scale, std::fabs(double(want.data()[i])));
      }
      INFO(name << ": worst difference " << worst << " of largest " << scale);
      CHECK(worst <= 1e-4 * scale);
    }
  }
  CHECK(models >= 6);
}
