#ifdef XGRAD_WITH_ONNX
#include "graph/onnx_proto.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <cstring>

#include "core/error.h"

namespace xgrad::onnx_proto {

onnx::TensorProto float_tensor(const std::string& name, const Tensor& t) {
  static_assert(sizeof(float) == 4, "raw_data is float32");
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : t.shape()) p.add_dims(int64_t(d));
  // The hosts xgrad builds for are little-endian, as raw_data is.
  p.set_raw_data(std::string(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(float)));
  return p;
}

onnx::TensorProto int64_tensor(const std::string& name, const std::vector<int64_t>& values,
                               const Shape& dims) {
  onnx::TensorProto p;
  p.set_name(name);
  p.set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) p.add_dims(d);
  for (int64_t v : values) p.add_int64_data(v);
  return p;
}

onnx::ValueInfoProto value_info(const std::string& name, const Shape& shape) {
  onnx::ValueInfoProto v;
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  auto* s = tt->mutable_shape();
  for (int64_t d : shape) {
    if (d < 0)
      s->add_dim()->set_dim_param("N");
    else
      s->add_dim()->set_dim_value(d);
  }
  return v;
}

Shape dims_of(const onnx::TensorProto& t) {
  Shape s;
  for (int64_t d : t.dims()) {
    if (d < 0) throw Error("tensor \"" + t.name() + "\" has a negative dimension " + std::to_string(d));
    s.push_back(d);
  }
  checked_numel(s);
  return s;
}

bool is_float_type(int32_t type) {
  return type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE ||
         type == onnx::TensorProto::FLOAT16;
}

namespace {

template <class T>
std::vector<T> raw_values(const onnx::TensorProto& t, size_t n) {
  if (t.raw_data().size() != n * sizeof(T))
    throw Error("tensor \"" + t.name() + "\": raw_data has " + std::to_string(t.raw_data().size()) +
                " bytes, its dims need " + std::to_string(n * sizeof(T)));
  std::vector<T> v(n);
  if (n) std::memcpy(v.data(), t.raw_data().data(), n * sizeof(T));
  return v;
}

template <class Field>
std::vector<double> typed_values(const onnx::TensorProto& t, const Field& f, size_t n) {
  if (size_t(f.size()) != n)
    throw Error("tensor \"" + t.name() + "\" has " + std::to_string(f.size()) + " values, its dims need " +
                std::to_string(n));
  return std::vector<double>(f.begin(), f.end());
}

// Every element as a double (exact for float32, int32 and the int64 sizes of shapes).
std::vector<double> values_of(const onnx::TensorProto& t) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error("tensor \"" + t.name() + "\" keeps its data in an external file, which xgrad does not read");
  const size_t n = size_t(numel(dims_of(t)));
  const bool raw = t.has_raw_data();
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT: {
      if (!raw) return typed_values(t, t.float_data(), n);
      const auto v = raw_values<float>(t, n);
      return {v.begin(), v.end()};
    }
    case onnx::TensorProto::DOUBLE:
      return raw ? raw_values<double>(t, n) : typed_values(t, t.double_data(), n);
    case onnx::TensorProto::INT64: {
      if (!raw) return typed_values(t, t.int64_data(), n);
      const auto v = raw_values<int64_t>(t, n);
      return {v.begin(), v.end()};
    }
    case onnx::TensorProto::INT32: {
      if (!raw) return typed_values(t, t.int32_data(), n);
      const auto v = raw_values<int32_t>(t, n);
      return {v.begin(), v.end()};
    }
    default:
      throw Error("tensor \"" + t.name() + "\" has data type " +
                  onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(t.data_type())) +
                  " (xgrad reads float, double, int32 and int64)");
  }
}

}  // namespace

Tensor to_tensor(const onnx::TensorProto& t) {
  const std::vector<double> v = values_of(t);
  Tensor out = make_tensor(dims_of(t));
  std::copy(v.begin(), v.end(), out.begin());
  return out;
}

std::vector<int64_t> to_ints(const onnx::TensorProto& t) {
  const std::vector<double> v = values_of(t);
  return std::vector<int64_t>(v.begin(), v.end());
}

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op_type,
                          const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                          const std::string& name) {
  onnx::NodeProto* n = g.add_node();
  n->set_op_type(op_type);
  n->set_name(name);
  for (const auto& i : inputs) n->add_input(i);
  for (const auto& o : outputs) n->add_output(o);
  return n;
}

void set_attr(onnx::NodeProto& n, const std::string& name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void set_attr(onnx::NodeProto& n, const std::string& name, float v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

void set_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void set_attr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
}

void check_and_infer(onnx::ModelProto& m) {
  try {
    onnx::checker::check_model(m);
    onnx::ShapeInferenceOptions options{/*check_type=*/true, /*error_mode=*/1,
                                        /*enable_data_propagation=*/true};
    onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    throw Error(std::string("ONNX checker: ") + e.what());
  }
}

}  // namespace xgrad::onnx_proto
#endif
