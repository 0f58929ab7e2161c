#pragma once
// Dates as the Twilio API writes them, from seconds since the epoch (no clock, no gmtime).

#include <cstdint>
#include <string>

namespace stirgate::core {

// RFC 2822 section 3.3 date in UTC as Twilio writes it: "Thu, 01 Jan 2026 00:00:05 +0000".
std::string format_rfc2822(std::int64_t epoch_seconds);

}  // namespace stirgate::core
