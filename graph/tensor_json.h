#pragma once
// The one tensor <-> JSON codec of xgrad, used by model files, checkpoints, optimizer state and
// `xgrad run`: {"shape": [...], "data": [...]} (decimal) or {"shape": [...], "data_b64": "..."}
// (standard base64 of the little-endian float32 bytes, exact to the bit).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"

namespace xgrad {

// Bounds checked on every shape read from a file, before anything is allocated.
constexpr size_t kMaxRank = 32;
constexpr int64_t kMaxElements = int64_t(1) << 31;

// Model weights must be finite; checkpoints keep whatever a run produced, bit for bit.
enum class NonFinite { Reject, Keep };

// {"shape", "data"}: decimal numbers; a NaN or Inf element is an error (JSON has no such numbers).
nlohmann::json tensor_to_json(const Tensor& t);
// {"shape", "data_b64"}: exact bits, NaN and Inf included.
nlohmann::json tensor_to_json_b64(const Tensor& t);
// Reads either form; `where` is the JSON path used in errors.
Tensor tensor_from_json(const nlohmann::json& j, const std::string& where,
                        NonFinite non_finite = NonFinite::Reject);

// A JSON shape: integers (no 2.7, "4", true or null), positive, -1 only as the leading dimension
// when `batch_allowed`, at most kMaxRank dimensions and kMaxElements elements.
Shape shape_from_json(const nlohmann::json& j, const std::string& where, bool batch_allowed);

// Little-endian 32-bit words <-> base64 (sample orders in checkpoints). Throws Error naming `where`.
std::string u32_to_base64(const std::vector<uint32_t>& words);
std::vector<uint32_t> u32_from_base64(const std::string& text, const std::string& where);

}  // namespace xgrad
