#pragma once
// Recorded SIP messages for the SIP unit tests (tests/unit/sip/messages/*.sip): stored with LF
// line ends for readability, read back with the CRLF the wire has.

#include <string>
#include <string_view>
#include <vector>

namespace stirgate::test {

std::string recorded_sip(std::string_view name);

// The value of the first `name:` header line of a SIP message, "" when none.
std::string sip_header(std::string_view message, std::string_view name);
// Every value of `name:` header lines, in order.
std::vector<std::string> sip_headers(std::string_view message, std::string_view name);
// The status code of a response's status line, 0 when it is none.
int sip_status(std::string_view message);

}  // namespace stirgate::test
