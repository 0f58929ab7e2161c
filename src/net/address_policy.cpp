#include "net/address_policy.hpp"

#include <arpa/inet.h>

#include <string>

namespace stirgate::net {
namespace {

constexpr std::uint32_t to_u32(const ipv4_bytes& a) noexcept
{
    return (std::uint32_t{a[0]} << 24) | (std::uint32_t{a[1]} << 16) | (std::uint32_t{a[2]} << 8) |
           std::uint32_t{a[3]};
}

// True when the top `bits` bits of `a` equal those of `network`.
constexpr bool in_v4(std::uint32_t a, std::uint32_t network, unsigned bits) noexcept
{
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (a & mask) == (network & mask);
}

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) noexcept
{
    return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) |
           std::uint32_t{d};
}

bool in_v6(const ipv6_bytes& a, const ipv6_bytes& network, unsigned bits) noexcept
{
    for (unsigned i = 0; i < 16 && bits > 0; ++i) {
        const unsigned take = bits >= 8 ? 8 : bits;
        const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
        if ((a[i] & mask) != (network[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

ipv4_bytes embedded_v4(const ipv6_bytes& a, unsigned offset) noexcept
{
    return {a[offset], a[offset + 1], a[offset + 2], a[offset + 3]};
}

}  // namespace

address_class classify_ipv4(const ipv4_bytes& bytes) noexcept
{
    const std::uint32_t a = to_u32(bytes);
    if (in_v4(a, v4(0, 0, 0, 0), 8)) return address_class::unspecified;
    if (in_v4(a, v4(127, 0, 0, 0), 8)) return address_class::loopback;
    if (in_v4(a, v4(10, 0, 0, 0), 8) || in_v4(a, v4(172, 16, 0, 0), 12) ||
        in_v4(a, v4(192, 168, 0, 0), 16))
        return address_class::private_use;
    if (in_v4(a, v4(100, 64, 0, 0), 10)) return address_class::shared_cgnat;
    if (in_v4(a, v4(169, 254, 0, 0), 16)) return address_class::link_local;
    if (in_v4(a, v4(192, 0, 2, 0), 24) || in_v4(a, v4(198, 51, 100, 0), 24) ||
        in_v4(a, v4(203, 0, 113, 0), 24))
        return address_class::documentation;
    if (in_v4(a, v4(224, 0, 0, 0), 4)) return address_class::multicast;
    if (in_v4(a, v4(192, 0, 0, 0), 24)       // IETF protocol assignments
        || in_v4(a, v4(192, 88, 99, 0), 24)  // deprecated 6to4 relay anycast
        || in_v4(a, v4(198, 18, 0, 0), 15)   // benchmarking
        || in_v4(a, v4(240, 0, 0, 0), 4))    // reserved, including 255.255.255.255
        return address_class::reserved;
    return address_class::public_unicast;
}

address_class classify_ipv6(const ipv6_bytes& a) noexcept
{
    constexpr ipv6_bytes zero{};
    constexpr ipv6_bytes mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    constexpr ipv6_bytes nat64{0, 0x64, 0xff, 0x9b};
    constexpr ipv6_bytes nat64_local{0, 0x64, 0xff, 0x9b, 0, 1};
    constexpr ipv6_bytes sixto4{0x20, 0x02};
    constexpr ipv6_bytes discard{0x01, 0x00};
    constexpr ipv6_bytes ietf{0x20, 0x01};
    constexpr ipv6_bytes doc{0x20, 0x01, 0x0d, 0xb8};
    constexpr ipv6_bytes doc2{0x3f, 0xff};
    constexpr ipv6_bytes global{0x20};
    constexpr ipv6_bytes ula{0xfc};
    constexpr ipv6_bytes link{0xfe, 0x80};
    constexpr ipv6_bytes site{0xfe, 0xc0};
    constexpr ipv6_bytes mcast{0xff};

    if (a == zero) return address_class::unspecified;
    ipv6_bytes loop{};
    loop[15] = 1;
    if (a == loop) return address_class::loopback;
    if (in_v6(a, mapped, 96)) return classify_ipv4(embedded_v4(a, 12));
    if (in_v6(a, zero, 96)) return address_class::reserved;  // deprecated IPv4-compatible
    if (in_v6(a, nat64, 96)) return classify_ipv4(embedded_v4(a, 12));
    if (in_v6(a, nat64_local, 48)) return address_class::private_use;
    if (in_v6(a, sixto4, 16)) return classify_ipv4(embedded_v4(a, 2));
    if (in_v6(a, discard, 64)) return address_class::reserved;
    if (in_v6(a, doc, 32) || in_v6(a, doc2, 20)) return address_class::documentation;
    if (in_v6(a, ietf, 23)) return address_class::reserved;
    if (in_v6(a, ula, 7)) return address_class::unique_local;
    if (in_v6(a, link, 10)) return address_class::link_local;
    if (in_v6(a, site, 10)) return address_class::unique_local;
    if (in_v6(a, mcast, 8)) return address_class::multicast;
    // Only 2000::/3 is allocated for global unicast; the rest is unassigned or special.
    if (!in_v6(a, global, 3)) return address_class::reserved;
    return address_class::public_unicast;
}

std::optional<address_class> classify_address(std::string_view literal)
{
    if (literal.size() > 45) return std::nullopt;
    const std::string text(literal);
    ipv4_bytes a4{};
    // inet_pton's AF_INET accepts only the dotted quad (unlike inet_aton), which is what we want.
    if (inet_pton(AF_INET, text.c_str(), a4.data()) == 1) return classify_ipv4(a4);
    ipv6_bytes a6{};
    if (inet_pton(AF_INET6, text.c_str(), a6.data()) == 1) return classify_ipv6(a6);
    return std::nullopt;
}

const char* address_class_name(address_class c) noexcept
{
    switch (c) {
        case address_class::public_unicast:
            return "public_unicast";
        case address_class::unspecified:
            return "unspecified";
        case address_class::loopback:
            return "loopback";
        case address_class::private_use:
            return "private_use";
        case address_class::shared_cgnat:
            return "shared_cgnat";
        case address_class::link_local:
            return "link_local";
        case address_class::unique_local:
            return "unique_local";
        case address_class::documentation:
            return "documentation";
        case address_class::multicast:
            return "multicast";
        case address_class::reserved:
            return "reserved";
    }
    return "unknown";
}

bool is_metadata_ipv4(const ipv4_bytes& bytes) noexcept
{
    const std::uint32_t a = to_u32(bytes);
    return in_v4(a, v4(169, 254, 0, 0), 16) || a == v4(100, 100, 100, 200);
}

bool is_metadata_ipv6(const ipv6_bytes& a) noexcept
{
    constexpr ipv6_bytes mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    constexpr ipv6_bytes nat64{0, 0x64, 0xff, 0x9b};
    constexpr ipv6_bytes sixto4{0x20, 0x02};
    constexpr ipv6_bytes link{0xfe, 0x80};
    constexpr ipv6_bytes aws{0xfd, 0x00, 0x0e, 0xc2};
    if (in_v6(a, mapped, 96) || in_v6(a, nat64, 96)) return is_metadata_ipv4(embedded_v4(a, 12));
    if (in_v6(a, sixto4, 16)) return is_metadata_ipv4(embedded_v4(a, 2));
    return in_v6(a, link, 10) || in_v6(a, aws, 32);
}

std::optional<std::string> address_refusal(std::string_view literal, const address_rules& rules)
{
    if (literal.size() > 45) return std::nullopt;
    const std::string text(literal);
    ipv4_bytes a4{};
    ipv6_bytes a6{};
    address_class c;
    bool metadata;
    if (inet_pton(AF_INET, text.c_str(), a4.data()) == 1) {
        c = classify_ipv4(a4);
        metadata = is_metadata_ipv4(a4);
    } else if (inet_pton(AF_INET6, text.c_str(), a6.data()) == 1) {
        c = classify_ipv6(a6);
        metadata = is_metadata_ipv6(a6);
    } else {
        return std::nullopt;
    }
    for (const auto& block : rules.explicitly_allowed)
        if (block.contains(text)) return std::nullopt;
    if (metadata) return "address " + text + " is a cloud metadata address";
    if (is_public(c) || rules.allow_private) return std::nullopt;
    return "address " + text + " is " + address_class_name(c);
}

}  // namespace stirgate::net
