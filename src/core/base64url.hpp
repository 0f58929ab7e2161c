#pragma once
// base64url without padding (RFC 7515 section 2 / appendix C), strict on input.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace stirgate::core {

std::string base64url_encode(std::span<const std::uint8_t> bytes);
std::string base64url_encode(std::string_view bytes);

// Rejects '+', '/', '=', whitespace and every other character outside A-Z a-z 0-9 - _, a length
// of 1 mod 4, and non-zero trailing bits (errc::base64url_invalid).
[[nodiscard]] result<std::string> base64url_decode(std::string_view text);

}  // namespace stirgate::core
