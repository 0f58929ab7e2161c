#pragma once
// Address blocks such as 10.0.0.0/8 or ::1/128 ([server] trusted_proxies): parsed once from
// text, then matched against peer addresses. No sockets; inet_pton only.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stirgate::net {

struct cidr_block {
    bool ipv6 = false;
    std::array<std::uint8_t, 16> network{};  // IPv4 uses the first 4 bytes; host bits are zero
    unsigned prefix_len = 0;
    std::string text;  // as configured, for logs

    // True when `address` (an IP literal) lies inside the block. An IPv4-mapped IPv6 address
    // (::ffff:a.b.c.d) matches IPv4 blocks, as a dual-stack socket reports IPv4 peers that way.
    bool contains(std::string_view address) const;
};

// "ADDR/LEN" or a bare address (a /32 or /128); nullopt when malformed.
std::optional<cidr_block> parse_cidr(std::string_view text);

}  // namespace stirgate::net
