#include "net/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace stirgate::net {
namespace {

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

}  // namespace

std::optional<cidr_block> parse_cidr(std::string_view text)
{
    const auto slash = text.find('/');
    const std::string addr(text.substr(0, slash));
    cidr_block block;
    block.text = std::string(text);
    unsigned max_len = 0;
    in_addr v4{};
    in6_addr v6{};
    if (inet_pton(AF_INET, addr.c_str(), &v4) == 1) {
        std::memcpy(block.network.data(), &v4, 4);
        max_len = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), &v6) == 1) {
        std::memcpy(block.network.data(), &v6, 16);
        block.ipv6 = true;
        max_len = 128;
    } else {
        return {};
    }
    block.prefix_len = max_len;
    if (slash != std::string_view::npos) {
        const std::string_view len = text.substr(slash + 1);
        if (len.empty() || len.size() > 3 || !std::all_of(len.begin(), len.end(), is_digit))
            return {};
        unsigned n = 0;
        std::from_chars(len.data(), len.data() + len.size(), n);
        if (n > max_len) return {};
        block.prefix_len = n;
    }
    for (unsigned bit = block.prefix_len; bit < max_len; ++bit)
        block.network[bit / 8] =
            static_cast<std::uint8_t>(block.network[bit / 8] & ~(0x80u >> (bit % 8)));
    return block;
}

bool cidr_block::contains(std::string_view address) const
{
    const std::string a(address);
    std::array<std::uint8_t, 16> bytes{};
    in_addr v4{};
    in6_addr v6{};
    bool is_v6 = false;
    if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
        std::memcpy(bytes.data(), &v4, 4);
    } else if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
        std::memcpy(bytes.data(), &v6, 16);
        is_v6 = true;
        static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (!ipv6 && std::memcmp(bytes.data(), mapped, 12) == 0) {
            std::memmove(bytes.data(), bytes.data() + 12, 4);
            is_v6 = false;
        }
    } else {
        return false;
    }
    if (is_v6 != ipv6) return false;
    for (unsigned bit = 0; bit < prefix_len; ++bit) {
        const unsigned mask = 0x80u >> (bit % 8);
        if ((bytes[bit / 8] & mask) != (network[bit / 8] & mask)) return false;
    }
    return true;
}

}  // namespace stirgate::net
