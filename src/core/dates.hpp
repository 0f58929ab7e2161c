#pragma once
// Dates as the Twilio API writes them and SIP sends them, to and from seconds since the epoch
// (no clock, no gmtime).

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace stirgate::core {

// RFC 2822 section 3.3 date in UTC as Twilio writes it: "Thu, 01 Jan 2026 00:00:05 +0000".
std::string format_rfc2822(std::int64_t epoch_seconds);

// An RFC 1123 / IMF-fixdate SIP Date ("Thu, 01 Jan 2026 00:00:00 GMT", RFC 3261 section
// 20.17) as seconds since the epoch; errc::invalid_parameter when malformed.
[[nodiscard]] result<std::int64_t> parse_sip_date(std::string_view text);

}  // namespace stirgate::core
