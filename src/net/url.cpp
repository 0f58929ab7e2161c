#include "net/url.hpp"

#include <arpa/inet.h>

#include <array>
#include <cctype>

namespace stirgate::net {
namespace {

// Longer URLs are refused rather than truncated; no certificate or webhook URL needs more.
constexpr std::size_t max_url_length = 4096;
// RFC 1035 section 2.3.4.
constexpr std::size_t max_name_length = 253;
constexpr std::size_t max_label_length = 63;

error invalid(std::string reason)
{
    return error{errc::url_invalid, std::move(reason)};
}

constexpr bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}
constexpr bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// RFC 3986 section 3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@".
constexpr bool is_pchar(char c)
{
    constexpr std::string_view others =
        "-._~"         // unreserved beyond letters, digits
        "!$&'()*+,;="  // sub-delims
        ":@";
    return is_alpha(c) || is_digit(c) || (c != '\0' && others.find(c) != std::string_view::npos);
}

// Path (query = false) or query (true): pchar, '/', '?' in the query, %XX escapes.
result<void> check_path_or_query(std::string_view s, bool query)
{
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return invalid("malformed percent escape");
            i += 2;
            continue;
        }
        if (is_pchar(c) || c == '/' || (query && c == '?')) continue;
        return invalid(query ? "character not allowed in query" : "character not allowed in path");
    }
    return ok();
}

// Canonical dotted quad only: four decimal parts, 0..255, no leading zeros.
bool parse_canonical_ipv4(std::string_view s)
{
    int parts = 0;
    std::size_t i = 0;
    while (true) {
        const std::size_t start = i;
        unsigned value = 0;
        while (i < s.size() && is_digit(s[i])) {
            value = value * 10 + static_cast<unsigned>(s[i] - '0');
            if (value > 255) return false;
            ++i;
        }
        const std::size_t len = i - start;
        if (len == 0 || (len > 1 && s[start] == '0')) return false;
        ++parts;
        if (i == s.size()) break;
        if (s[i] != '.' || parts == 4) return false;
        ++i;
    }
    return parts == 4;
}

// Lower-cases and checks a DNS name (RFC 1123 section 2.1 host name syntax).
result<std::string> parse_reg_name(std::string_view s)
{
    if (s.empty()) return invalid("empty host");
    if (s.size() > max_name_length) return invalid("host name too long");
    std::string out;
    out.reserve(s.size());
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == '.') {
            const std::size_t len = i - label_start;
            // An empty label also refuses a trailing dot: "host." would dodge allow-lists.
            if (len == 0) return invalid("empty label in host name");
            if (len > max_label_length) return invalid("host name label too long");
            if (s[label_start] == '-' || s[i - 1] == '-')
                return invalid("host name label starts or ends with '-'");
            if (i < s.size()) out.push_back('.');
            label_start = i + 1;
            continue;
        }
        const char c = s[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-')
            return invalid("character not allowed in host name");
        out.push_back(to_lower(c));
    }
    // WHATWG URL treats a host whose last label is numeric as an IPv4 address, and getaddrinfo
    // accepts inet_aton forms ("127.1", "0x7f.1", "2130706433"). Refuse every such form except
    // the canonical dotted quad so what we check is what the resolver would connect to.
    const std::size_t last_dot = out.rfind('.');
    const std::size_t last_label = last_dot == std::string::npos ? 0 : last_dot + 1;
    if (is_digit(out[last_label])) return invalid("non-canonical IPv4 address form");
    return out;
}

result<std::string> parse_ipv6_literal(std::string_view s)
{
    // Zone ids ("%25eth0") name a local interface: never meaningful for an outbound URL.
    if (s.empty() || s.size() > 45) return invalid("malformed IPv6 literal");
    for (const char c : s)
        if (!is_hex(c) && c != ':' && c != '.') return invalid("malformed IPv6 literal");
    const std::string text(s);
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1)
        return invalid("malformed IPv6 literal");
    std::array<char, 64> canonical{};  // INET6_ADDRSTRLEN is 46
    if (inet_ntop(AF_INET6, bytes.data(), canonical.data(),
                  static_cast<socklen_t>(canonical.size())) == nullptr)
        return invalid("malformed IPv6 literal");
    return std::string(canonical.data());
}

std::uint16_t default_port(std::string_view scheme)
{
    return scheme == "https" ? 443 : 80;
}

}  // namespace

std::string url::authority() const
{
    std::string out = kind == host_kind::ipv6 ? "[" + host + "]" : host;
    if (explicit_port && port != default_port(scheme)) out += ":" + std::to_string(port);
    return out;
}

result<url> parse_url(std::string_view text)
{
    if (text.size() > max_url_length) return invalid("URL too long");
    // Whitespace, control and non-ASCII bytes never belong in a URL; refusing them here means
    // no later component can smuggle a CR/LF into a request line or a Host header.
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) return invalid("control, space or non-ASCII character");
    }
    if (text.find('#') != std::string_view::npos) return invalid("fragment not allowed");

    url out;
    const std::size_t colon = text.find(':');
    if (colon == std::string_view::npos) return invalid("not an absolute URL");
    for (const char c : text.substr(0, colon)) out.scheme.push_back(to_lower(c));
    if (out.scheme != "http" && out.scheme != "https") return invalid("scheme not http(s)");
    if (text.substr(colon + 1, 2) != "//") return invalid("missing '//' after the scheme");

    const std::string_view rest = text.substr(colon + 3);
    const std::size_t authority_end = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, authority_end);
    const std::string_view tail =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

    // RFC 3986 section 3.2.1: userinfo is deprecated for http(s) and is a classic way to make
    // "https://trusted.example@evil.example/" look like the wrong host.
    if (authority.find('@') != std::string_view::npos) return invalid("userinfo not allowed");
    if (authority.empty()) return invalid("empty host");

    std::string_view host_text;
    std::string_view port_text;
    bool has_port = false;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return invalid("unterminated IPv6 literal");
        host_text = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return invalid("junk after IPv6 literal");
            has_port = true;
            port_text = after.substr(1);
        }
        auto v6 = parse_ipv6_literal(host_text);
        if (!v6) return std::move(v6).err();
        out.host = std::move(*v6);
        out.kind = host_kind::ipv6;
    } else {
        const std::size_t port_colon = authority.find(':');
        host_text = authority.substr(0, port_colon);
        if (port_colon != std::string_view::npos) {
            has_port = true;
            port_text = authority.substr(port_colon + 1);
        }
        if (parse_canonical_ipv4(host_text)) {
            out.host = std::string(host_text);
            out.kind = host_kind::ipv4;
        } else {
            auto name = parse_reg_name(host_text);
            if (!name) return std::move(name).err();
            out.host = std::move(*name);
            out.kind = host_kind::name;
        }
    }

    if (has_port) {
        if (port_text.empty() || port_text.size() > 5) return invalid("malformed port");
        if (port_text.front() == '0') return invalid("port zero or with leading zeros");
        unsigned value = 0;
        for (const char c : port_text) {
            if (!is_digit(c)) return invalid("malformed port");
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value > 65535) return invalid("port out of range");
        out.port = static_cast<std::uint16_t>(value);
        out.explicit_port = true;
    } else {
        out.port = default_port(out.scheme);
    }

    const std::size_t query_start = tail.find('?');
    const std::string_view path = tail.substr(0, query_start);
    if (auto r = check_path_or_query(path, false); !r) return std::move(r).err();
    if (query_start != std::string_view::npos) {
        if (auto r = check_path_or_query(tail.substr(query_start + 1), true); !r)
            return std::move(r).err();
        out.has_query = true;
    }
    out.target = path.empty() ? "/" + std::string(tail) : std::string(tail);
    return out;
}

}  // namespace stirgate::net
