#pragma once
// Which IP addresses an outbound request may reach. Pure (bytes in, a class out), so the table
// is tested without sockets. The outbound client refuses every class but public_unicast unless
// the operator allowed private addresses or pinned the host (DESIGN.md [network], [verify]).
// Ranges: IANA IPv4/IPv6 Special-Purpose Address Registries (RFC 6890 and updates); Asterisk's
// default x5u ACL (CVE-2022-26499) denies the same families.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "net/cidr.hpp"

namespace stirgate::net {

enum class address_class {
    public_unicast,  // globally routable: the only class reachable by default
    unspecified,     // 0.0.0.0/8 ("this network"), ::
    loopback,        // 127.0.0.0/8, ::1
    private_use,     // RFC 1918 10/8, 172.16/12, 192.168/16; NAT64 local-use 64:ff9b:1::/48
    shared_cgnat,    // RFC 6598 100.64.0.0/10
    link_local,      // 169.254.0.0/16, fe80::/10
    unique_local,    // RFC 4193 fc00::/7, deprecated site-local fec0::/10
    documentation,   // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
    multicast,       // 224.0.0.0/4, ff00::/8
    reserved,        // everything else special: 192.0.0/24, 198.18/15, 240/4, broadcast, 6to4
                     // relay, IETF 2001::/23 (Teredo included), discard 100::/64, IPv4-compatible
                     // ::/96, and IPv6 outside 2000::/3
};

using ipv4_bytes = std::array<std::uint8_t, 4>;
using ipv6_bytes = std::array<std::uint8_t, 16>;

address_class classify_ipv4(const ipv4_bytes& a) noexcept;

// IPv4-mapped (::ffff:0:0/96), NAT64 well-known prefix (64:ff9b::/96) and 6to4 (2002::/16)
// addresses are classified by the IPv4 address they carry: a dual-stack socket or a NAT64
// gateway would deliver to that address.
address_class classify_ipv6(const ipv6_bytes& a) noexcept;

// An IP literal ("10.0.0.1", "::1"; no brackets, no zone); nullopt when it is not one.
std::optional<address_class> classify_address(std::string_view literal);

constexpr bool is_public(address_class c) noexcept
{
    return c == address_class::public_unicast;
}

const char* address_class_name(address_class c) noexcept;

// Cloud instance-metadata addresses, whose answers hold credentials: IPv4 link-local
// 169.254.0.0/16 (AWS, GCP, Azure and OCI serve at 169.254.169.254), Alibaba Cloud's
// 100.100.100.200, IPv6 link-local fe80::/10 and AWS's fd00:ec2::/32, also as the IPv4-mapped,
// NAT64 and 6to4 forms of the IPv4 ones.
bool is_metadata_ipv4(const ipv4_bytes& a) noexcept;
bool is_metadata_ipv6(const ipv6_bytes& a) noexcept;

// Which addresses an outbound client may reach, beyond public unicast.
struct address_rules {
    bool allow_private = false;            // every special class except metadata
    std::span<const cidr_block> explicitly_allowed;  // reachable whatever their class
};

// Why `literal` (an IP literal) may not be reached under `rules`, e.g. "address 10.0.0.1 is
// private_use" or "address 169.254.169.254 is a cloud metadata address"; nullopt when it may
// (or when it is not an IP literal). Metadata addresses are refused even with allow_private,
// unless explicitly allowed.
std::optional<std::string> address_refusal(std::string_view literal, const address_rules& rules);

}  // namespace stirgate::net
