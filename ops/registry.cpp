#include "ops/registry.h"

#include "core/error.h"

namespace xgrad {

void Registry::add(const std::string& type, OpFactory factory) {
  if (!factories_.emplace(type, std::move(factory)).second)
    throw Error("op \"" + type + "\" registered twice");
}

std::unique_ptr<Op> Registry::make(const std::string& type, const json& attrs) const {
  auto it = factories_.find(type);
  if (it == factories_.end()) {
    std::string known;
    for (const auto& [name, factory] : factories_) known += (known.empty() ? "" : ", ") + name;
    throw Error("unknown op \"" + type + "\" (known: " + known + ")");
  }
  if (!attrs.is_object()) throw Error("attrs: expected an object, found " + std::string(attrs.type_name()));
  return it->second(attrs);
}

std::vector<std::string> Registry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, factory] : factories_) out.push_back(name);
  return out;
}

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_elementwise_ops(reg);
    register_matmul_ops(reg);
    register_conv_ops(reg);
    register_pool_ops(reg);
    register_shape_ops(reg);
    register_loss_ops(reg);
    register_softmax_ops(reg);
    register_activation_ops(reg);
    register_math_ops(reg);
    register_global_pool_ops(reg);
    return reg;
  }();
  return r;
}

}  // namespace xgrad
