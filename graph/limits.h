#pragma once
// Limits every graph loader checks before it builds anything (the model loader, the Keras and ONNX
// importers); Graph itself refuses to grow past them.
#include <cstddef>

namespace xgrad {

// The most nodes a graph may have (inputs, params, states and ops): ten times the largest exported
// networks (tens of thousands of nodes), so a hostile file is refused before its graph is built.
constexpr size_t kMaxGraphNodes = size_t(1) << 18;

}  // namespace xgrad
