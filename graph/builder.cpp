#include "graph/builder.h"

#include "core/error.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

json pair_json(Size2 s) { return {s.h, s.w}; }

}  // namespace

Padding padding_of(Pad p) { return {p == Pad::Same ? Padding::Mode::Same : Padding::Mode::Valid, {0, 0}}; }
Padding padding_of(Size2 p) { return {Padding::Mode::Explicit, {p.h, p.w}}; }

json ConvOptions::attrs() const {
  return {{"stride", pair_json(stride_)},
          {"padding", padding_.to_json()},
          {"dilation", pair_json(dilation_)},
          {"groups", groups_}};
}

json PoolOptions::attrs() const {
  return {{"kernel", pair_json(kernel_)}, {"stride", pair_json(stride_)}, {"padding", padding_.to_json()}};
}

Value GraphBuilder::input(Name name, const Shape& shape, DType dtype) {
  return {graph_.add_input(name, shape, dtype)};
}

Value GraphBuilder::param(Name name, const Shape& shape, const Init& init) {
  return {graph_.add_param(name, shape, init)};
}

Value GraphBuilder::op(Name type, const std::vector<Value>& inputs, const json& attrs, Name name) {
  std::vector<int> ids;
  for (Value v : inputs) ids.push_back(v.id);
  std::string node_name = name;
  if (node_name.empty()) do {
      node_name = type + "_" + std::to_string(++auto_names_);
    } while (graph_.find(node_name) >= 0);
  // `{}` from the shortcut methods arrives as JSON null: it means "no attributes".
  return {graph_.add_op(node_name, registry().make(type, attrs.is_null() ? json::object() : attrs), ids)};
}

Value GraphBuilder::conv(Value x, Value w, Value b, const ConvOptions& o, Name name) {
  // Only groups differs from the defaults of the op as it was before groups existed: write it only
  // when set, so graphs built without it load in any xgrad that has conv2d.
  json attrs = o.attrs();
  if (o.groups() == 1) attrs.erase("groups");
  if (b.id < 0) return op("conv2d", {x, w}, attrs, name);
  return op("conv2d", {x, w, b}, attrs, name);
}

Value GraphBuilder::conv2d(Value x, Value w, Value b, const json& attrs, Name name) {
  return op("conv2d", {x, w, b}, attrs, name);
}

Value GraphBuilder::max_pool2d(Value x, int64_t kernel, int64_t stride, Name name) {
  return op("max_pool2d", {x}, {{"kernel", kernel}, {"stride", stride}}, name);
}

Value GraphBuilder::avg_pool2d(Value x, int64_t kernel, int64_t stride, Name name) {
  return op("avg_pool2d", {x}, {{"kernel", kernel}, {"stride", stride}}, name);
}

Value GraphBuilder::gelu(Value x, Approximate approximate, Name name) {
  return op("gelu", {x}, {{"approximate", approximate == Approximate::Tanh ? "tanh" : "none"}}, name);
}

Value GraphBuilder::reshape(Value x, const std::vector<int64_t>& shape, Name name) {
  return op("reshape", {x}, {{"shape", shape}}, name);
}

namespace layers {
namespace {

// Layers read their input size from the inferred shape: say what they need in the user's terms.
void check_rank(const GraphBuilder& b, const std::string& layer, const std::string& name, Value x,
                size_t rank, const std::string& wanted, const std::string& hint) {
  const Shape& s = b.shape(x);
  if (s.size() == rank) return;
  throw Error(layer + " \"" + name + "\": wants " + wanted + ", got " + to_string(s) + " from \"" +
              b.graph().node(x.id).name + "\"" + hint);
}

}  // namespace

Value conv2d(GraphBuilder& b, const std::string& name, Value x, int64_t filters, Size2 kernel,
             const ConvOptions& o) {
  check_rank(b, "conv2d", name, x, 4, "[N, C, H, W]", "");
  const int64_t channels = b.shape(x)[1];
  if (o.groups() < 1 || channels % o.groups() != 0 || filters % o.groups() != 0)
    throw Error("conv2d \"" + name + "\": groups " + std::to_string(o.groups()) + " must divide the " +
                std::to_string(channels) + " input channels and the " + std::to_string(filters) + " filters");
  Value w = b.param(name + ".w", {filters, channels / o.groups(), kernel.h, kernel.w}, o.init());
  Value bias = o.bias() ? b.param(name + ".b", {filters}, Init{"zeros"}) : Value{};
  return b.conv2d(x, w, bias, o, name);
}

Value dense(GraphBuilder& b, const std::string& name, Value x, int64_t units, const DenseOptions& o) {
  check_rank(b, "dense", name, x, 2, "[N, features]",
             b.shape(x).size() > 2 ? " (flatten it first: b.flatten(x))" : "");
  Value w = b.param(name + ".w", {b.shape(x)[1], units}, o.init());
  if (!o.bias()) return b.matmul(x, w, name);
  return b.matmul(x, w, b.param(name + ".b", {units}, Init{"zeros"}), name);
}

Value conv2d(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t kernel,
             const json& attrs, const Init& w_init) {
  const int64_t channels = b.shape(x).size() == 4 ? b.shape(x)[1] : -1;
  Value w = b.param(name + ".w", {filters, channels, kernel, kernel}, w_init);
  Value bias = b.param(name + ".b", {filters}, Init{"zeros"});
  return b.conv2d(x, w, bias, attrs, name);
}

Value dense(GraphBuilder& b, const std::string& name, Value x, int64_t units, const Init& w_init) {
  return dense(b, name, x, units, DenseOptions().init(w_init));
}

}  // namespace layers
}  // namespace xgrad
