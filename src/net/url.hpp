#pragma once
// A strict parser for the absolute http(s) URLs stirgate dereferences (x5u, webhooks, the edge's
// dial URL). Pure: no Asio, no DNS. Stricter than RFC 3986 on purpose, because every URL it
// accepts is one we are about to connect to (Asterisk CVE-2022-26499 was an x5u SSRF):
//   - scheme http or https only (case-insensitive, stored lower-case);
//   - no userinfo ("user@host"), no fragment, no whitespace, control or non-ASCII bytes;
//   - host: a DNS name (letters, digits, '-', labels of 1..63, at most 253 chars, stored
//     lower-case), a dotted-quad IPv4 in canonical form, or a bracketed IPv6 literal without a
//     zone. Hosts whose last label starts with a digit must be a canonical dotted quad: resolvers
//     read "0x7f.1", "2130706433" or "127.1" as 127.0.0.1 (inet_aton), so these are refused;
//   - port: 1..65535 without leading zeros; absent means 80/443;
//   - path and query: RFC 3986 pchar / '/' / '?' with well-formed %XX escapes.

#include "core/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace stirgate::net {

enum class host_kind { name, ipv4, ipv6 };

struct url {
    std::string scheme;  // "http" or "https"
    std::string host;    // lower-case name, or IP literal without brackets
    host_kind kind = host_kind::name;
    std::uint16_t port = 0;  // explicit port, or the scheme's default
    bool explicit_port = false;
    std::string target;  // path plus "?query"; "/" when the URL has no path
    bool has_query = false;

    // host[:port] for the Host header (RFC 9110 section 7.2): IPv6 in brackets, the port only
    // when explicit and not the scheme's default.
    std::string authority() const;
};

// Parses `text` as above. Errors: errc::url_invalid, with the reason in the detail.
[[nodiscard]] result<url> parse_url(std::string_view text);

}  // namespace stirgate::net
