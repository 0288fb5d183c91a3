#include "graph/keras_loss.h"

#include <map>

#include "core/error.h"

namespace xgrad {
namespace {

using nlohmann::json;

const std::map<std::string, std::string>& loss_kinds() {
  static const std::map<std::string, std::string> kinds = {
      {"categorical_crossentropy", "softmax_cross_entropy"},
      {"CategoricalCrossentropy", "softmax_cross_entropy"},
      {"sparse_categorical_crossentropy", "softmax_cross_entropy"},
      {"SparseCategoricalCrossentropy", "softmax_cross_entropy"},
      {"binary_crossentropy", "sigmoid_cross_entropy"},
      {"BinaryCrossentropy", "sigmoid_cross_entropy"},
      {"mse", "mse"},
      {"MSE", "mse"},
      {"mean_squared_error", "mse"},
      {"MeanSquaredError", "mse"},
  };
  return kinds;
}

void expect_output(const KTensor& y, bool ok, const std::string& what) {
  if (!ok) throw Error("the loss " + what + " (output shape " + to_string(y.keras) + ")");
}

}  // namespace

KerasLoss parse_keras_loss(const json& loss, const std::string& where) {
  if ((loss.is_array() || loss.is_object()) && loss.size() == 1 && !loss.contains("class_name"))
    return parse_keras_loss(loss.begin().value(), where);
  std::string name = loss.is_string() ? loss.get<std::string>() : "";
  json config = json::object();
  if (loss.is_object() && loss.contains("class_name") && loss["class_name"].is_string()) {
    name = loss["class_name"].get<std::string>();
    if (loss.contains("config") && loss["config"].is_string())
      name = loss["config"].get<std::string>();  // function
    if (loss.contains("config") && loss["config"].is_object()) config = loss["config"];
  }
  auto it = loss_kinds().find(name);
  if (it == loss_kinds().end())
    throw Error(
        where + ": unsupported loss " + loss.dump() +
        " (expected categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy or mse)");
  const json smoothing = config.value("label_smoothing", json(0.0));
  if (!smoothing.is_number() || smoothing.get<double>() != 0.0)
    throw Error(where + ": label_smoothing " + smoothing.dump() + " is not supported (only 0)");
  const json logits = config.value("from_logits", json(false));
  if (!logits.is_boolean())
    throw Error(where + ": from_logits: expected true or false, found " + logits.dump());
  return {it->second, logits.get<bool>(), name};
}

void add_keras_loss(KerasBuilder& kb, const KTensor& y, const json& loss, const std::string& source) {
  KerasLoss spec;
  if (loss.is_null()) {
    spec.kind = y.act == "softmax"   ? "softmax_cross_entropy"
                : y.act == "sigmoid" ? "sigmoid_cross_entropy"
                                     : "mse";
    kb.note("no loss in the file: the final " + (y.act.empty() ? std::string("linear") : y.act) +
            " output gets " + spec.kind);
  } else {
    spec = parse_keras_loss(loss, source + ": loss");
    if (spec.keras_name == "categorical_crossentropy" || spec.keras_name == "CategoricalCrossentropy")
      kb.note(
          "categorical_crossentropy: the \"label\" input takes class ids [N] (the same loss as one-hot "
          "targets)");
  }
  try {
    if (!y.hwc.empty())
      throw Error("the model's output is a flattened image, whose element order differs from Keras'");
    const bool classifier = spec.kind != "mse";
    if (classifier && !spec.from_logits) {
      const std::string act = spec.kind == "softmax_cross_entropy" ? "softmax" : "sigmoid";
      expect_output(y, y.act == act, spec.kind + " needs a final " + act + " (or from_logits=true)");
    }
    if (spec.kind == "softmax_cross_entropy")
      expect_output(y, y.keras.size() == 1, "softmax_cross_entropy needs [N, classes] outputs");
    Value out = classifier && !spec.from_logits ? y.pre : y.v;  // the logits, or mse's prediction
    Shape label_shape = {-1};
    for (int64_t d : kb.b.shape(out)) label_shape.push_back(d);
    label_shape.erase(label_shape.begin() + 1);
    const bool ids = spec.kind == "softmax_cross_entropy";
    Value label = kb.b.input("label", ids ? Shape{-1} : label_shape, ids ? DType::Int32 : DType::Float32);
    kb.b.output(classifier ? "logits" : "output", out);
    if (classifier)
      kb.b.output("probs", spec.from_logits
                               ? kb.op(ids ? "softmax" : "sigmoid", {out}, json::object(), "probs")
                               : y.v);
    kb.b.output("loss", kb.op(spec.kind, {out, label}, json::object(), "loss"));
  } catch (const Error& e) {
    throw Error(source + ": loss: " + e.what());
  }
}

}  // namespace xgrad
