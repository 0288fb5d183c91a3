#include "graph/checkpoint.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/json_io.h"
#include "graph/json_fields.h"
#include "graph/tensor_json.h"

namespace xgrad {
namespace {

using json = nlohmann::json;

// JSON has no NaN: a metric that was not measured is written as null.
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(); }
double number_or_nan(Fields& f, const std::string& key) {
  if (f.required(key).is_null()) return std::numeric_limits<double>::quiet_NaN();
  return f.number(key);
}

json metrics_to_json(const EpochMetrics& m) {
  return {{"epoch", m.epoch},
          {"lr", m.lr},
          {"train_loss", m.train_loss},
          {"train_accuracy", number_or_null(m.train_accuracy)},
          {"test_loss", number_or_null(m.test_loss)},
          {"test_accuracy", number_or_null(m.test_accuracy)},
          {"train_mse", number_or_null(m.train_mse)},
          {"test_mse", number_or_null(m.test_mse)},
          {"seconds", m.seconds}};
}

EpochMetrics metrics_from_json(const json& j, const std::string& where) {
  Fields f(j, where);
  EpochMetrics m;
  m.epoch = f.integer("epoch", 0);
  m.lr = f.number("lr");
  m.train_loss = f.number("train_loss");
  m.train_accuracy = number_or_nan(f, "train_accuracy");
  m.test_loss = number_or_nan(f, "test_loss");
  m.test_accuracy = number_or_nan(f, "test_accuracy");
  if (f.optional("train_mse")) m.train_mse = number_or_nan(f, "train_mse");  // absent before the mse metric
  if (f.optional("test_mse")) m.test_mse = number_or_nan(f, "test_mse");
  m.seconds = f.number("seconds");
  f.finish("the metrics of an epoch");
  return m;
}

json progress_to_json(const Progress& p) {
  json rng = json::array(), history = json::array();
  for (uint64_t w : p.rng) rng.push_back(std::to_string(w));  // as text: exact in any JSON reader
  for (const auto& m : p.history) history.push_back(metrics_to_json(m));
  return {{"epoch", p.epoch},
          {"position", p.position},
          {"step", p.step},
          {"order_u32le", u32_to_base64(p.order)},
          {"rng", rng},
          {"loss_sum", p.loss_sum},
          {"metric_sum", p.metric_sum},
          {"history", history}};
}

Rng::State rng_from_json(const json& rng, const std::string& where) {
  if (!rng.is_array() || rng.size() != 4) throw Error(where + ": expected 4 decimal strings");
  Rng::State s{};
  for (size_t i = 0; i < 4; ++i) {
    const json& w = rng[i];
    const std::string text = w.is_string() ? w.get<std::string>() : "";
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = text.empty() ? 0 : std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || errno == ERANGE)
      throw Error(json_path(where, i) + ": expected a decimal string of a 64-bit word, found " +
                  json_found(w));
    s[i] = v;
  }
  return s;
}

Progress progress_from_json(const json& j, const std::string& where) {
  Fields f(j, where);
  Progress p;
  p.epoch = f.integer("epoch", 0);
  p.position = size_t(f.integer("position", 0));
  p.step = f.integer("step", 0);
  // "correct" (the accuracy's count) is what checkpoints before the other metrics called it.
  p.metric_sum = f.optional("correct") ? double(f.integer("correct", 0)) : f.number("metric_sum");
  p.loss_sum = f.number("loss_sum");
  p.order = u32_from_base64(f.string("order_u32le"), f.at("order_u32le"));
  p.rng = rng_from_json(f.required("rng"), f.at("rng"));
  const json& history = f.array("history");
  for (size_t i = 0; i < history.size(); ++i)
    p.history.push_back(metrics_from_json(history[i], json_path(f.at("history"), i)));
  f.finish("epoch, position, step, order_u32le, rng, loss_sum, metric_sum, history");
  if (p.position > p.order.size()) throw Error(f.at("position") + ": past the end of the sample order");
  return p;
}

// Version 1 stored tensors as {"shape", "f32le"}: the same bytes as today's "data_b64".
void upgrade_v1_tensors(json& j) {
  if (j.is_object() && j.contains("shape") && j.contains("f32le") && !j.contains("data_b64")) {
    j["data_b64"] = std::move(j["f32le"]);
    j.erase("f32le");
    return;
  }
  if (j.is_structured())
    for (auto& child : j) upgrade_v1_tensors(child);
}

// Reads "format_version" (or version 1's "version"); returns it, upgrading a v1 document in place.
int check_version(json& j) {
  if (!j.is_object() || !j.contains("format") || j.at("format") != kCheckpointFormat)
    throw Error("not an xgrad checkpoint (expected \"format\": \"" + std::string(kCheckpointFormat) + "\")");
  const bool legacy = !j.contains("format_version") && j.contains("version");
  const json& v = legacy ? j.at("version") : j.contains("format_version") ? j.at("format_version") : json();
  const int version = v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= kCheckpointVersion
                          ? int(v.get<int64_t>())
                          : 0;
  if (version == 0 || (legacy && version != 1))
    throw Error(std::string(legacy ? "version" : "format_version") + ": " +
                (v.is_null() ? "missing" : v.dump() + " is not supported") + " (this build reads 1 to " +
                std::to_string(kCheckpointVersion) + ")");
  if (version == 1) {
    j.erase(legacy ? "version" : "format_version");
    j["format_version"] = 1;
    upgrade_v1_tensors(j);
  }
  return version;
}

}  // namespace

json checkpoint_to_json(const Checkpoint& c) {
  json weights = json::object();
  for (const auto& [name, t] : c.weights) weights[name] = tensor_to_json_b64(t);
  return {{"format", kCheckpointFormat},
          {"format_version", kCheckpointVersion},
          {"model", c.model},
          {"training", c.config.to_json()},
          {"weights", weights},
          {"optimizer", c.optimizer},
          {"progress", progress_to_json(c.progress)}};
}

Checkpoint checkpoint_from_json(const json& original) {
  json j = original;
  try {
    check_version(j);
  } catch (const std::exception& e) {
    rethrow_with_context("checkpoint", e);
  }
  Fields f(j, "checkpoint");
  f.required("format"), f.required("format_version");
  Checkpoint c;
  c.model = f.string("model");
  try {
    c.config = TrainConfig::from_json(f.required("training"));
  } catch (const std::exception& e) {
    rethrow_with_context(f.at("training"), e);
  }
  for (const auto& [name, t] : f.object("weights").items())
    c.weights[name] = tensor_from_json(t, json_path(f.at("weights"), name), NonFinite::Keep);
  c.optimizer = f.object("optimizer");
  c.progress = progress_from_json(f.required("progress"), f.at("progress"));
  f.finish("format, format_version, model, training, weights, optimizer, progress");
  return c;
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  std::string text;
  try {
    text = dump_json(checkpoint_to_json(c));
  } catch (const std::exception& e) {
    throw Error(path + ": not written: " + e.what());
  }
  write_file_atomic(path, text);
}

Checkpoint load_checkpoint(const std::string& path) {
  const json j = read_json_file(path, kMaxCheckpointBytes);
  try {
    return checkpoint_from_json(j);
  } catch (const std::exception& e) {
    rethrow_with_context(path, e);
  }
}

}  // namespace xgrad
