#include "net/client_address.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace stirgate::net {
namespace {

bool trusted(std::string_view address, std::span<const cidr_block> proxies)
{
    return std::any_of(proxies.begin(), proxies.end(),
                       [address](const cidr_block& b) { return b.contains(address); });
}

bool is_ip_literal(std::string_view text)
{
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
    const std::string s(text);
    in_addr v4{};
    in6_addr v6{};
    return inet_pton(AF_INET, s.c_str(), &v4) == 1 || inet_pton(AF_INET6, s.c_str(), &v6) == 1;
}

std::string_view trim_spaces(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           std::span<const cidr_block> trusted_proxies)
{
    std::string_view client = peer;
    if (!trusted(peer, trusted_proxies)) return std::string(client);
    std::string_view rest = forwarded_for;
    while (!rest.empty()) {
        const auto comma = rest.rfind(',');
        const std::string_view entry =
            trim_spaces(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
        if (entry.empty()) continue;  // "a,,b": an empty list element (RFC 9110 section 5.6.1)
        if (!is_ip_literal(entry)) break;
        client = entry;
        if (!trusted(entry, trusted_proxies)) break;
    }
    return std::string(client);
}

}  // namespace stirgate::net
