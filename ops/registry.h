#pragma once
// Ops by name. Each family file defines register_<family>_ops(); registry.cpp calls them from one
// explicit list (static self-registration is silently dropped from static libraries).
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ops/attrs.h"
#include "ops/op.h"

namespace xgrad {

// Builds an op from its JSON attributes, applying defaults; throws Error naming a bad attribute.
using OpFactory = std::function<std::unique_ptr<Op>(const json& attrs)>;

class Registry {
 public:
  void add(const std::string& type, OpFactory factory);
  bool has(const std::string& type) const { return factories_.count(type) > 0; }
  std::unique_ptr<Op> make(const std::string& type, const json& attrs = json::object()) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, OpFactory> factories_;
};

const Registry& registry();

// Registers an op that takes no attributes, built as OpT(args...).
template <class OpT, class... Args>
void add_without_attrs(Registry& r, const std::string& type, Args... args) {
  r.add(type, [args...](const json& attrs) {
    AttrReader(attrs).finish();
    return std::make_unique<OpT>(args...);
  });
}

void register_elementwise_ops(Registry& r);
void register_matmul_ops(Registry& r);
void register_conv_ops(Registry& r);
void register_pool_ops(Registry& r);
void register_shape_ops(Registry& r);
void register_loss_ops(Registry& r);
void register_batch_norm_ops(Registry& r);
void register_dropout_ops(Registry& r);
void register_softmax_ops(Registry& r);
void register_activation_ops(Registry& r);
void register_math_ops(Registry& r);
void register_global_pool_ops(Registry& r);

}  // namespace xgrad
