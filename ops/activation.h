#pragma once
// The activations an op can run on its own output (conv2d's "activation" attribute; graph/fold.h
// fuses them): relu, sigmoid and tanh by the very loops of the ops of those names (ops/elementwise.cpp),
// so a fused node gives the bits the two nodes give.
#include <cstdint>
#include <string>

namespace xgrad {

enum class Activation { None, Relu, Sigmoid, Tanh };

// "none", "relu", "sigmoid", "tanh", and back (an Error for another name).
const char* activation_name(Activation a);
Activation activation_named(const std::string& name);

// y = f(y) over n values in place.
void activate(Activation a, float* y, int64_t n);
// out = g · f'(·) for n values, from the activation's output y (what each derivative needs).
void activation_gradient(Activation a, const float* g, const float* y, float* out, int64_t n);

}  // namespace xgrad
