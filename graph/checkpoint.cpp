#include "graph/checkpoint.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/json_io.h"

namespace xgrad {

nlohmann::json tensor_to_state(const Tensor& t) {
  std::string bytes(t.size() * 4, '\0');
  for (size_t i = 0; i < t.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, t.data() + i, 4);
    for (size_t k = 0; k < 4; ++k) bytes[4 * i + k] = char((u >> (8 * k)) & 0xFF);
  }
  return {{"shape", shape_of(t)}, {"f32le", base64_encode(bytes)}};
}

Tensor tensor_from_state(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("shape") || !j.contains("f32le") || !j.at("f32le").is_string())
    throw Error(where + ": expected {\"shape\": [...], \"f32le\": \"<base64>\"}");
  Shape shape;
  try {
    shape = j.at("shape").get<Shape>();
  } catch (const std::exception&) {
    throw Error(where + ".shape: expected an array of integers, found " + j.at("shape").dump());
  }
  const int64_t n = checked_numel(shape);
  const std::string bytes = base64_decode(j.at("f32le").get<std::string>(), where + ".f32le");
  if (bytes.size() != size_t(n) * 4)
    throw Error(where + ": " + std::to_string(bytes.size()) + " bytes for shape " + to_string(shape) +
                ", expected " + std::to_string(n * 4));
  Tensor t = make_tensor(shape);
  for (size_t i = 0; i < size_t(n); ++i) {
    uint32_t u = 0;
    for (size_t k = 0; k < 4; ++k) u |= uint32_t(uint8_t(bytes[4 * i + k])) << (8 * k);
    std::memcpy(t.data() + i, &u, 4);
  }
  return t;
}

}  // namespace xgrad

namespace xgrad {

namespace {

constexpr const char* kFormat = "xgrad-checkpoint";
constexpr int kVersion = 1;

// JSON has no NaN: a metric that was not measured is written as null.
nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }
double number_from(const nlohmann::json& j, const std::string& where) {
  if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!j.is_number()) throw Error(where + ": expected a number, found " + j.dump());
  return j.get<double>();
}

const nlohmann::json& field(const nlohmann::json& j, const std::string& key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw Error(where + ": missing \"" + key + "\"");
  return j.at(key);
}

int64_t integer(const nlohmann::json& j, const std::string& key, const std::string& where) {
  const auto& v = field(j, key, where);
  if (!v.is_number_integer() || v.get<int64_t>() < 0)
    throw Error(where + "." + key + ": expected an integer >= 0, found " + v.dump());
  return v.get<int64_t>();
}

std::string u32_bytes(const std::vector<uint32_t>& v) {
  std::string bytes(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i)
    for (size_t k = 0; k < 4; ++k) bytes[4 * i + k] = char((v[i] >> (8 * k)) & 0xFF);
  return bytes;
}

nlohmann::json metrics_to_json(const EpochMetrics& m) {
  return {{"epoch", m.epoch},
          {"lr", m.lr},
          {"train_loss", m.train_loss},
          {"train_accuracy", m.train_accuracy},
          {"test_loss", number_or_null(m.test_loss)},
          {"test_accuracy", number_or_null(m.test_accuracy)},
          {"seconds", m.seconds}};
}

EpochMetrics metrics_from_json(const nlohmann::json& j, const std::string& where) {
  EpochMetrics m;
  m.epoch = integer(j, "epoch", where);
  m.lr = number_from(field(j, "lr", where), where + ".lr");
  m.train_loss = number_from(field(j, "train_loss", where), where + ".train_loss");
  m.train_accuracy = number_from(field(j, "train_accuracy", where), where + ".train_accuracy");
  m.test_loss = number_from(field(j, "test_loss", where), where + ".test_loss");
  m.test_accuracy = number_from(field(j, "test_accuracy", where), where + ".test_accuracy");
  m.seconds = number_from(field(j, "seconds", where), where + ".seconds");
  return m;
}

nlohmann::json progress_to_json(const Progress& p) {
  nlohmann::json rng = nlohmann::json::array(), history = nlohmann::json::array();
  for (uint64_t w : p.rng) rng.push_back(std::to_string(w));  // as text: exact in any JSON reader
  for (const auto& m : p.history) history.push_back(metrics_to_json(m));
  return {{"epoch", p.epoch},     {"position", p.position},
          {"step", p.step},       {"order_u32le", base64_encode(u32_bytes(p.order))},
          {"rng", rng},           {"loss_sum", p.loss_sum},
          {"correct", p.correct}, {"history", history}};
}

Progress progress_from_json(const nlohmann::json& j) {
  const std::string where = "checkpoint.progress";
  Progress p;
  p.epoch = integer(j, "epoch", where);
  p.position = size_t(integer(j, "position", where));
  p.step = integer(j, "step", where);
  p.correct = integer(j, "correct", where);
  p.loss_sum = number_from(field(j, "loss_sum", where), where + ".loss_sum");
  const auto& order = field(j, "order_u32le", where);
  if (!order.is_string()) throw Error(where + ".order_u32le: expected base64 text");
  const std::string bytes = base64_decode(order.get<std::string>(), where + ".order_u32le");
  if (bytes.size() % 4) throw Error(where + ".order_u32le: byte count is not a multiple of 4");
  for (size_t i = 0; i < bytes.size(); i += 4) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) v |= uint32_t(uint8_t(bytes[i + k])) << (8 * k);
    p.order.push_back(v);
  }
  const auto& rng = field(j, "rng", where);
  if (!rng.is_array() || rng.size() != 4) throw Error(where + ".rng: expected 4 decimal strings");
  for (size_t i = 0; i < 4; ++i) {
    const auto& w = rng[i];
    if (!w.is_string() || w.get<std::string>().empty() ||
        w.get<std::string>().find_first_not_of("0123456789") != std::string::npos)
      throw Error(where + ".rng[" + std::to_string(i) + "]: expected a decimal string, found " + w.dump());
    p.rng[i] = std::stoull(w.get<std::string>());
  }
  const auto& history = field(j, "history", where);
  if (!history.is_array()) throw Error(where + ".history: expected an array");
  for (size_t i = 0; i < history.size(); ++i)
    p.history.push_back(metrics_from_json(history[i], where + ".history[" + std::to_string(i) + "]"));
  if (p.position > p.order.size()) throw Error(where + ".position is past the end of the sample order");
  return p;
}

}  // namespace

nlohmann::json checkpoint_to_json(const Checkpoint& c) {
  nlohmann::json weights = nlohmann::json::object();
  for (const auto& [name, t] : c.weights) weights[name] = tensor_to_state(t);
  return {{"format", kFormat},
          {"version", kVersion},
          {"model", c.model},
          {"training", c.config.to_json()},
          {"weights", weights},
          {"optimizer", c.optimizer},
          {"progress", progress_to_json(c.progress)}};
}

Checkpoint checkpoint_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("format") || j.at("format") != kFormat)
    throw Error("checkpoint: not an xgrad checkpoint (expected \"format\": \"" + std::string(kFormat) +
                "\")");
  const auto& version = field(j, "version", "checkpoint");
  if (version != kVersion)
    throw Error("checkpoint: version " + version.dump() + " is not supported (expected " +
                std::to_string(kVersion) + ")");
  Checkpoint c;
  const auto& model = field(j, "model", "checkpoint");
  if (!model.is_string()) throw Error("checkpoint.model: expected the graph's name");
  c.model = model.get<std::string>();
  try {
    c.config = TrainConfig::from_json(field(j, "training", "checkpoint"));
  } catch (const std::exception& e) {
    rethrow_with_context("checkpoint.training", e);
  }
  const auto& weights = field(j, "weights", "checkpoint");
  if (!weights.is_object()) throw Error("checkpoint.weights: expected an object of tensors by param name");
  for (const auto& [name, t] : weights.items())
    c.weights[name] = tensor_from_state(t, "checkpoint.weights." + name);
  c.optimizer = field(j, "optimizer", "checkpoint");
  c.progress = progress_from_json(field(j, "progress", "checkpoint"));
  return c;
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  write_file_atomic(path, checkpoint_to_json(c).dump());
}

Checkpoint load_checkpoint(const std::string& path) {
  const nlohmann::json j = read_json_file(path);
  try {
    return checkpoint_from_json(j);
  } catch (const std::exception& e) {
    rethrow_with_context(path, e);
  }
}

}  // namespace xgrad
