#pragma once
// Builds graphs in C++ with one method per op (named as the op) and layer helpers that read
// input sizes from inferred shapes and create named params:
//   GraphBuilder b("lenet");
//   Value x = b.input("image", {-1, 1, 28, 28});
//   Value h = b.sigmoid(layers::conv2d(b, "conv1", x, 6, 5));
// Attributes are typed: option objects whose setters are named as the op's JSON attributes and
// chain (the C++17 stand-in for designated initializers), e.g.
//   b.conv2d(x, w, ConvOptions().stride(2).padding(Pad::Same).groups(4))
//   b.max_pool2d(x, PoolOptions(3).stride(2).padding(1))
// Every method ends with an optional node name; an empty name becomes "<op>_<count>".
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/options.h"
#include "ops/attrs.h"

namespace xgrad {

struct Value {
  int id = -1;
};

// Height and width of a window; one integer means both: kernel 3 == kernel {3, 3}.
struct Size2 {
  int64_t h = 1, w = 1;
  Size2(int64_t both) : h(both), w(both) {}  // implicit on purpose: stride(2)
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
};

// Keras' padding modes for conv and pool windows: Pad::Same (output size ceil(in / stride)) and
// Pad::Valid (no padding). Explicit padding is a Size2: padding(1), padding({1, 2}).
enum class Pad { Valid, Same };
Padding padding_of(Pad p);
Padding padding_of(Size2 p);

// conv2d's attributes (stride, padding, dilation, groups), plus how layers::conv2d creates its
// params (bias, init). Defaults: stride 1, padding 0, dilation 1, groups 1, a bias, glorot_uniform.
class ConvOptions {
 public:
  ConvOptions stride(Size2 s) const { return detail::with(*this, &ConvOptions::stride_, s); }
  ConvOptions padding(Pad p) const { return detail::with(*this, &ConvOptions::padding_, padding_of(p)); }
  ConvOptions padding(Size2 p) const { return detail::with(*this, &ConvOptions::padding_, padding_of(p)); }
  ConvOptions dilation(Size2 d) const { return detail::with(*this, &ConvOptions::dilation_, d); }
  ConvOptions groups(int64_t g) const { return detail::with(*this, &ConvOptions::groups_, g); }
  ConvOptions bias(bool on) const { return detail::with(*this, &ConvOptions::bias_, on); }  // layers only
  ConvOptions init(Init w) const { return detail::with(*this, &ConvOptions::init_, w); }    // layers only

  int64_t groups() const { return groups_; }
  bool bias() const { return bias_; }
  const Init& init() const { return init_; }
  json attrs() const;  // the op's attributes, as written in model files

 private:
  Size2 stride_{1}, dilation_{1};
  Padding padding_;
  int64_t groups_ = 1;
  bool bias_ = true;
  Init init_{"glorot_uniform"};
};

// max_pool2d / avg_pool2d attributes: kernel (required), stride (default: the kernel), padding.
class PoolOptions {
 public:
  explicit PoolOptions(Size2 kernel) : kernel_(kernel), stride_(kernel) {}
  PoolOptions stride(Size2 s) const { return detail::with(*this, &PoolOptions::stride_, s); }
  PoolOptions padding(Pad p) const { return detail::with(*this, &PoolOptions::padding_, padding_of(p)); }
  PoolOptions padding(Size2 p) const { return detail::with(*this, &PoolOptions::padding_, padding_of(p)); }
  json attrs() const;

 private:
  Size2 kernel_, stride_;
  Padding padding_;
};

// How layers::dense creates its params: a bias (default on) and the weight initializer.
class DenseOptions {
 public:
  DenseOptions bias(bool on) const { return detail::with(*this, &DenseOptions::bias_, on); }
  DenseOptions init(Init w) const { return detail::with(*this, &DenseOptions::init_, w); }
  bool bias() const { return bias_; }
  const Init& init() const { return init_; }

 private:
  bool bias_ = true;
  Init init_{"glorot_uniform"};
};

// gelu's `approximate` attribute: "none" (the exact erf form) or "tanh".
enum class Approximate { None, Tanh };

class GraphBuilder {
 public:
  using Name = const std::string&;

  explicit GraphBuilder(std::string name) : graph_(std::move(name)) {}

  Value input(Name name, const Shape& shape, DType dtype = DType::Float32);
  Value param(Name name, const Shape& shape, const Init& init);
  // Any registered op by name, with JSON attributes (what the typed methods below call).
  Value op(Name type, const std::vector<Value>& inputs, const json& attrs = json::object(), Name name = "");

  // Convolution and pooling (NCHW; conv weights OIHW [O, C/groups, KH, KW]).
  Value conv2d(Value x, Value w, const ConvOptions& o = {}, Name name = "") {
    return conv(x, w, {}, o, name);
  }
  Value conv2d(Value x, Value w, Value b, const ConvOptions& o, Name name = "") {
    return conv(x, w, b, o, name);
  }
  Value conv2d(Value x, Value w, Value b, const json& attrs = json::object(), Name name = "");
  Value max_pool2d(Value x, const PoolOptions& o, Name name = "") {
    return op("max_pool2d", {x}, o.attrs(), name);
  }
  Value avg_pool2d(Value x, const PoolOptions& o, Name name = "") {
    return op("avg_pool2d", {x}, o.attrs(), name);
  }
  Value max_pool2d(Value x, int64_t kernel, int64_t stride, Name name = "");
  Value avg_pool2d(Value x, int64_t kernel, int64_t stride, Name name = "");
  Value global_avg_pool2d(Value x, Name name = "") { return op("global_avg_pool2d", {x}, {}, name); }
  Value global_max_pool2d(Value x, Name name = "") { return op("global_max_pool2d", {x}, {}, name); }
  Value matmul(Value x, Value w, Name name = "") { return op("matmul", {x, w}, {}, name); }
  Value matmul(Value x, Value w, Value b, Name name = "") { return op("matmul", {x, w, b}, {}, name); }

  // Element-wise; add, sub, mul and div broadcast like numpy.
  Value add(Value a, Value b, Name name = "") { return op("add", {a, b}, {}, name); }
  Value sub(Value a, Value b, Name name = "") { return op("sub", {a, b}, {}, name); }
  Value mul(Value a, Value b, Name name = "") { return op("mul", {a, b}, {}, name); }
  Value div(Value a, Value b, Name name = "") { return op("div", {a, b}, {}, name); }
  Value neg(Value x, Name name = "") { return op("neg", {x}, {}, name); }
  Value square(Value x, Name name = "") { return op("square", {x}, {}, name); }
  Value exp(Value x, Name name = "") { return op("exp", {x}, {}, name); }
  Value log(Value x, Name name = "") { return op("log", {x}, {}, name); }
  Value sqrt(Value x, Name name = "") { return op("sqrt", {x}, {}, name); }
  Value abs(Value x, Name name = "") { return op("abs", {x}, {}, name); }
  Value clip(Value x, double min, double max, Name name = "") {
    return op("clip", {x}, {{"min", min}, {"max", max}}, name);
  }
  Value scale(Value x, double factor, Name name = "") { return op("scale", {x}, {{"factor", factor}}, name); }
  Value add_scalar(Value x, double value, Name name = "") {
    return op("add_scalar", {x}, {{"value", value}}, name);
  }

  // Activations.
  Value sigmoid(Value x, Name name = "") { return op("sigmoid", {x}, {}, name); }
  Value relu(Value x, Name name = "") { return op("relu", {x}, {}, name); }
  Value tanh(Value x, Name name = "") { return op("tanh", {x}, {}, name); }
  Value leaky_relu(Value x, double alpha = 0.01, Name name = "") {
    return op("leaky_relu", {x}, {{"alpha", alpha}}, name);
  }
  Value elu(Value x, double alpha = 1.0, Name name = "") { return op("elu", {x}, {{"alpha", alpha}}, name); }
  Value gelu(Value x, Approximate approximate = Approximate::None, Name name = "");
  Value silu(Value x, Name name = "") { return op("silu", {x}, {}, name); }
  Value softplus(Value x, Name name = "") { return op("softplus", {x}, {}, name); }
  Value softmax(Value x, Name name = "") { return op("softmax", {x}, {}, name); }
  Value softmax(Value x, int64_t axis, Name name = "") { return op("softmax", {x}, {{"axis", axis}}, name); }
  Value log_softmax(Value x, int64_t axis = -1, Name name = "") {
    return op("log_softmax", {x}, {{"axis", axis}}, name);
  }
  // Applies an activation by op name ("sigmoid", "relu", "tanh", ...), with its default attributes.
  Value activation(Name type, Value x, Name name = "") { return op(type, {x}, {}, name); }

  // Reductions and shapes.
  Value sum(Value x, Name name = "") { return op("sum", {x}, {}, name); }
  Value mean(Value x, Name name = "") { return op("mean", {x}, {}, name); }
  Value flatten(Value x, Name name = "") { return op("flatten", {x}, {}, name); }
  Value reshape(Value x, const std::vector<int64_t>& shape, Name name = "");
  Value concat(const std::vector<Value>& xs, int64_t axis = 1, Name name = "") {
    return op("concat", xs, {{"axis", axis}}, name);
  }

  // Losses (scalar: the mean over the batch).
  Value softmax_cross_entropy(Value logits, Value labels, Name name = "") {
    return op("softmax_cross_entropy", {logits, labels}, {}, name);
  }
  Value sigmoid_cross_entropy(Value logits, Value targets, Name name = "") {
    return op("sigmoid_cross_entropy", {logits, targets}, {}, name);
  }
  Value mse(Value pred, Value target, Name name = "") { return op("mse", {pred, target}, {}, name); }

  void output(Name role, Value v) { graph_.set_output(role, v.id); }
  const Shape& shape(Value v) const { return graph_.node(v.id).info.shape; }
  const Graph& graph() const { return graph_; }
  Graph finish() { return std::move(graph_); }

 private:
  Value conv(Value x, Value w, Value b, const ConvOptions& o, Name name);

  Graph graph_;
  int auto_names_ = 0;
};

namespace layers {
// x [N,C,H,W] -> conv2d with params NAME.w [filters, C/groups, kh, kw] and, unless o.bias(false),
// NAME.b [filters] (zeros). The node is named NAME.
Value conv2d(GraphBuilder& b, const std::string& name, Value x, int64_t filters, Size2 kernel,
             const ConvOptions& o = {});
// x [N,K] -> matmul with params NAME.w [K, units] and, unless o.bias(false), NAME.b [units] (zeros).
Value dense(GraphBuilder& b, const std::string& name, Value x, int64_t units, const DenseOptions& o = {});

// Earlier spellings, kept so existing code compiles: JSON attributes and a weight initializer.
Value conv2d(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t kernel,
             const json& attrs, const Init& w_init = Init{"glorot_uniform"});
Value dense(GraphBuilder& b, const std::string& name, Value x, int64_t units, const Init& w_init);
}  // namespace layers

}  // namespace xgrad
