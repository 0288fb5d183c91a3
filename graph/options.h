#pragma once
// Option objects with chained setters (the C++17 stand-in for designated initializers): each setter
// is named as the setting and returns a changed copy, so a chain can start from a temporary:
//   ConvOptions().stride(2).padding(Pad::Same)      FitOptions().epochs(5).batch(32)
#include <utility>

namespace xgrad::detail {

template <class Options, class T>
Options with(Options o, T Options::*field, T value) {
  o.*field = std::move(value);
  return o;
}

}  // namespace xgrad::detail
