#pragma once
// Standard base64 (RFC 4648, with '=' padding): the exact encoding of float and index arrays in
// checkpoints and in the model format's "data_b64".
#include <string>

namespace xgrad {

std::string base64_encode(const std::string& bytes);
// Throws Error("<where>: ...") on a bad length or character.
std::string base64_decode(const std::string& text, const std::string& where);

}  // namespace xgrad
