#include "graph/builder.h"

#include "ops/registry.h"

namespace xgrad {

Value GraphBuilder::input(const std::string& name, const Shape& shape, DType dtype) {
  return {graph_.add_input(name, shape, dtype)};
}

Value GraphBuilder::param(const std::string& name, const Shape& shape, const Init& init) {
  return {graph_.add_param(name, shape, init)};
}

Value GraphBuilder::op(const std::string& type, const std::vector<Value>& inputs, const json& attrs,
                       const std::string& name) {
  std::vector<int> ids;
  for (Value v : inputs) ids.push_back(v.id);
  std::string node_name = name;
  if (node_name.empty()) do {
      node_name = type + "_" + std::to_string(++auto_names_);
    } while (graph_.find(node_name) >= 0);
  // `{}` from the shortcut methods arrives as JSON null: it means "no attributes".
  return {graph_.add_op(node_name, registry().make(type, attrs.is_null() ? json::object() : attrs), ids)};
}

Value GraphBuilder::conv2d(Value x, Value w, Value b, const json& attrs, const std::string& name) {
  return op("conv2d", {x, w, b}, attrs, name);
}

Value GraphBuilder::max_pool2d(Value x, int64_t kernel, int64_t stride, const std::string& name) {
  return op("max_pool2d", {x}, {{"kernel", kernel}, {"stride", stride}}, name);
}

Value GraphBuilder::avg_pool2d(Value x, int64_t kernel, int64_t stride, const std::string& name) {
  return op("avg_pool2d", {x}, {{"kernel", kernel}, {"stride", stride}}, name);
}

Value GraphBuilder::reshape(Value x, const std::vector<int64_t>& shape, const std::string& name) {
  return op("reshape", {x}, {{"shape", shape}}, name);
}

namespace layers {

Value conv2d(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t kernel,
             const json& attrs, const Init& w_init) {
  const int64_t channels = b.shape(x).size() == 4 ? b.shape(x)[1] : -1;
  Value w = b.param(name + ".w", {filters, channels, kernel, kernel}, w_init);
  Value bias = b.param(name + ".b", {filters}, Init{"zeros"});
  return b.conv2d(x, w, bias, attrs, name);
}

Value dense(GraphBuilder& b, const std::string& name, Value x, int64_t units, const Init& w_init) {
  const int64_t in = b.shape(x).size() == 2 ? b.shape(x)[1] : -1;
  Value w = b.param(name + ".w", {in, units}, w_init);
  Value bias = b.param(name + ".b", {units}, Init{"zeros"});
  return b.op("matmul", {x, w, bias}, json::object(), name);
}

Value batch_norm(GraphBuilder& b, const std::string& name, Value x, double epsilon, double momentum) {
  const int64_t channels = b.shape(x).size() >= 2 ? b.shape(x)[1] : -1;
  Value gamma = b.param(name + ".gamma", {channels}, Init{"ones"});
  Value beta = b.param(name + ".beta", {channels}, Init{"zeros"});
  Value mean = b.state(name + ".mean", {channels}, Init{"zeros"});
  Value var = b.state(name + ".var", {channels}, Init{"ones"});
  return b.batch_norm(x, gamma, beta, mean, var, epsilon, momentum, name);
}

}  // namespace layers

Value GraphBuilder::state(const std::string& name, const Shape& shape, const Init& init) {
  return {graph_.add_state(name, shape, init)};
}

Value GraphBuilder::batch_norm(Value x, Value gamma, Value beta, Value mean, Value var, double epsilon,
                               double momentum, const std::string& name) {
  return op("batch_norm", {x, gamma, beta, mean, var}, {{"epsilon", epsilon}, {"momentum", momentum}}, name);
}

Value GraphBuilder::dropout(Value x, double rate, const std::string& name) {
  return op("dropout", {x}, {{"rate", rate}}, name);
}

}  // namespace xgrad
