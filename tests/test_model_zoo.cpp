// The model zoo: models/<name>.json are exactly what the C++ builders produce, and every zoo model
// trains a step (forward in both modes, backward to every param, states updated).
#include <doctest/doctest.h>

#include "graph/engine.h"
#include "graph/serialize.h"
#include "models/mobilenet.h"
#include "models/resnet.h"
#include "models/vgg.h"
#include "tests/fixtures.h"
#include "tests/paths.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;

namespace {

struct ZooModel {
  const char* file;
  Graph (*build)();
};

const ZooModel kZoo[] = {
    {"vgg.json", [] { return vgg(); }},
    {"resnet.json", [] { return resnet(); }},
    {"mobilenet.json", [] { return mobilenet(); }},
};

}  // namespace

TEST_CASE("models/vgg.json, resnet.json and mobilenet.json are exactly what the C++ builders produce") {
  for (const auto& m : kZoo) {
    INFO(m.file);
    // If this fails after a builder change: build/xgrad export --builtin NAME --out models/NAME.json
    CHECK(test::slurp(test::source_dir() + "/models/" + m.file) ==
          model_to_string(m.build(), nullptr, nlohmann::json::object()));
  }
}

TEST_CASE("every zoo model runs a training step and predicts in eval mode without labels") {
  Rng rng(0);
  const Feeds batch = test::random_image_batch(rng, 4);
  for (const auto& m : kZoo) {
    INFO(m.file);
    const Graph g = m.build();
    CHECK_FALSE(g.states().empty());
    const Params p = init_params(g, rng);
    Engine e(g);
    e.forward(batch, p, ForwardOptions::training(1, 0));
    e.backward(g.output("loss"), g.params());
    for (int id : g.params()) CHECK(e.grad(id) != nullptr);
    CHECK(e.updated_states().size() == g.states().size());
    e.forward({{"image", batch.at("image")}}, p, ForwardOptions::inference({g.output("probs")}));
    CHECK(shape_of(e.value(g.output("probs"))) == Shape{4, 10});
  }
}
