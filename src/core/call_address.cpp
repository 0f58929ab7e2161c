#include "core/call_address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <optional>

#include "core/text.hpp"

namespace stirgate::core {
namespace {

error refuse(std::string why)
{
    return error{errc::invalid_parameter, std::move(why)};
}

constexpr bool is_alnum(char c)
{
    return is_ascii_alpha(c) || is_ascii_digit(c);
}
constexpr bool is_printable(char c)  // visible ASCII: no space, control or non-ASCII byte
{
    return c > ' ' && c < '\x7f';
}
constexpr bool is_one_of(char c, std::string_view set)
{
    return c != '\0' && set.find(c) != std::string_view::npos;
}

// RFC 3261 section 25.1.
constexpr std::string_view mark = "-_.!~*'()";
constexpr std::string_view user_unreserved = "&=+$,/";  // without ';' and '?': see user_part
constexpr std::string_view param_unreserved = "[]/:&+$";
constexpr std::string_view hnv_unreserved = "[]/?:+$";

int hex_value(char c)
{
    return is_ascii_digit(c) ? c - '0' : ascii_lower(c) - 'a' + 10;
}

// Characters of one SIP URI component: alphanumerics, mark, `extra`, and %XX escapes of
// anything but a control character (an escaped CR, LF or NUL would be unescaped into a SIP
// header).
result<void> check_chars(std::string_view s, std::string_view extra, std::string_view what)
{
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size() || !is_ascii_hex(s[i + 1]) || !is_ascii_hex(s[i + 2]))
                return refuse("malformed %XX escape in the SIP address " + std::string(what));
            const int value = hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]);
            if (value < ' ' || value == 0x7f)
                return refuse("escaped control character in the SIP address " + std::string(what));
            i += 2;
            continue;
        }
        if (!is_alnum(c) && !is_one_of(c, mark) && !is_one_of(c, extra))
            return refuse("character not allowed in the SIP address " + std::string(what));
    }
    return ok();
}

// RFC 1123 host name; the last label not numeric, so "10.1" or "127.1" never pass as names.
bool is_dns_name(std::string_view s)
{
    if (s.empty() || s.size() > 253) return false;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = s.find('.', start);
        const std::string_view label = s.substr(start, dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (const char c : label)
            if (!is_alnum(c) && c != '-') return false;
        if (dot == std::string_view::npos) return !is_ascii_digit(label.front());
        start = dot + 1;
    }
}

bool is_ip_literal(std::string_view s, int family)
{
    if (s.empty() || s.size() > 45) return false;
    const std::string text(s);
    std::array<unsigned char, 16> bytes{};
    // inet_pton takes only the canonical dotted quad for AF_INET (no "127.1", no octal).
    return inet_pton(family, text.c_str(), bytes.data()) == 1;
}

result<void> check_hostport(std::string_view s)
{
    std::string_view host;
    std::optional<std::string_view> port;
    if (s.starts_with('[')) {
        const std::size_t close = s.find(']');
        if (close == std::string_view::npos)
            return refuse("unterminated IPv6 literal in the SIP address");
        host = s.substr(1, close - 1);
        const std::string_view rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return refuse("junk after the SIP address host");
            port = rest.substr(1);
        }
        // Hex, ':' and '.' only: no zone id ("%25eth0") naming one of the edge's interfaces.
        for (const char c : host)
            if (!is_ascii_hex(c) && c != ':' && c != '.')
                return refuse("SIP address host is not a valid IPv6 literal");
        if (!is_ip_literal(host, AF_INET6))
            return refuse("SIP address host is not a valid IPv6 literal");
    } else {
        const std::size_t colon = s.find(':');
        host = s.substr(0, colon);
        if (colon != std::string_view::npos) port = s.substr(colon + 1);
        if (!is_dns_name(host) && !is_ip_literal(host, AF_INET))
            return refuse("SIP address host is not a host name or IP address");
    }
    if (port) {
        const auto n = parse_decimal(*port, 65535);
        if (port->empty() || port->front() == '0' || !n || *n < 1)
            return refuse("SIP address port is not 1 to 65535");
    }
    return ok();
}

// ;name[=value] parameters (RFC 3261 uri-parameters); names non-empty.
result<void> check_parameters(std::string_view s)
{
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t end = std::min(s.find(';', start), s.size());
        const std::string_view param = s.substr(start, end - start);
        const std::size_t eq = param.find('=');
        const std::string_view name = param.substr(0, eq);
        if (name.empty()) return refuse("empty parameter name in the SIP address");
        if (auto bad = check_chars(name, param_unreserved, "parameters"); !bad) return bad;
        if (eq != std::string_view::npos)
            if (auto bad = check_chars(param.substr(eq + 1), param_unreserved, "parameters"); !bad)
                return bad;
        start = end + 1;
    }
    return ok();
}

// ?name=value&name=value headers (RFC 3261 headers); names non-empty, every header has '='.
result<void> check_headers(std::string_view s)
{
    if (s.size() > max_sip_headers_chars)
        return refuse("SIP address headers longer than " + std::to_string(max_sip_headers_chars) +
                      " characters");
    std::size_t start = 0;
    while (start <= s.size()) {
        const std::size_t end = std::min(s.find('&', start), s.size());
        const std::string_view header = s.substr(start, end - start);
        const std::size_t eq = header.find('=');
        if (eq == 0 || eq == std::string_view::npos)
            return refuse("SIP address header without a name=value");
        if (auto bad = check_chars(header.substr(0, eq), hnv_unreserved, "headers"); !bad)
            return bad;
        if (auto bad = check_chars(header.substr(eq + 1), hnv_unreserved, "headers"); !bad)
            return bad;
        start = end + 1;
    }
    return ok();
}

// `rest` is what follows "sip:".
result<void> check_sip(std::string_view rest)
{
    const std::size_t question = rest.find('?');
    const std::string_view uri = rest.substr(0, question);
    if (uri.size() + 4 > max_sip_uri_chars)
        return refuse("SIP address longer than " + std::to_string(max_sip_uri_chars) +
                      " characters before its headers");
    const std::size_t at = uri.find('@');
    if (at == std::string_view::npos) return refuse("SIP address without user@host");
    if (uri.find('@', at + 1) != std::string_view::npos)
        return refuse("more than one '@' in the SIP address");
    // The user part ends at the '@': ';' and '?' (which RFC 3261 allows in it) are refused so
    // that no reader of the address can take them for the start of parameters or headers.
    const std::string_view user = uri.substr(0, at);
    if (user.empty()) return refuse("SIP address with an empty user part");
    if (user.find(':') != std::string_view::npos)
        return refuse("a password in the SIP address is not accepted: give SipAuthPassword");
    if (auto bad = check_chars(user, user_unreserved, "user part"); !bad) return bad;
    const std::string_view after = uri.substr(at + 1);
    const std::size_t semicolon = after.find(';');
    if (auto bad = check_hostport(after.substr(0, semicolon)); !bad) return bad;
    if (semicolon != std::string_view::npos)
        if (auto bad = check_parameters(after.substr(semicolon + 1)); !bad) return bad;
    if (question != std::string_view::npos) return check_headers(rest.substr(question + 1));
    return ok();
}

result<void> check_client(std::string_view name)
{
    if (name.empty()) return refuse("empty client identifier");
    if (name.size() > max_client_name_chars)
        return refuse("client identifier longer than " + std::to_string(max_client_name_chars) +
                      " characters");
    for (const char c : name)
        if (!is_printable(c) || is_one_of(c, "<>#%\"{}|\\^[]`"))
            return refuse(
                "character not allowed in a client identifier (no control, space, "
                "non-ASCII, < > # % \" { } | \\ ^ [ ] or `)");
    return ok();
}

// "scheme:" at the start of `text`, in any case.
bool has_scheme(std::string_view text, std::string_view scheme)
{
    return text.size() > scheme.size() && text[scheme.size()] == ':' &&
           iequals(text.substr(0, scheme.size()), scheme);
}

result<void> check_whole(std::string_view text)
{
    for (const char c : text)
        if (!is_printable(c)) return refuse("control, space or non-ASCII character in the address");
    return ok();
}

}  // namespace

call_address::call_address(e164_number number)
    : kind_(address_kind::phone), number_(std::move(number)), text_(number_.e164())
{
}

result<call_address> parse_call_address(std::string_view text, phone_parser phone)
{
    if (has_scheme(text, "sip")) {
        if (auto bad = check_whole(text); !bad) return bad.err();
        if (auto bad = check_sip(text.substr(4)); !bad) return bad.err();
        return call_address(address_kind::sip, std::string(text));
    }
    if (has_scheme(text, "client")) {
        if (auto bad = check_client(text.substr(7)); !bad) return bad.err();
        return call_address(address_kind::client, std::string(text));
    }
    if (has_scheme(text, "sips"))
        return refuse("sips: addresses are not accepted: give sip: with ;transport=tls");
    if (has_scheme(text, "sim")) return refuse("sim: addresses are not supported");
    auto number = phone(text);
    if (!number) return number.err();
    return call_address(*std::move(number));
}

result<void> check_caller_id(std::string_view text)
{
    if (has_scheme(text, "sip") || has_scheme(text, "client")) {
        auto address = parse_call_address(text);
        if (!address) return refuse("is not a valid address: " + address.err().detail);
        return ok();
    }
    if (text.empty() || text.size() > 255) return refuse("must be 1 to 255 characters");
    for (const char c : text)
        if (!is_alnum(c) && !is_one_of(c, "+-_."))
            return refuse(
                "must be a client: or sip: address, or letters, digits and + - _ . "
                "only");
    return ok();
}

result<void> check_sip_credential(std::string_view text)
{
    if (text.empty() || text.size() > 255) return refuse("must be 1 to 255 characters");
    for (const char c : text)
        if (!is_printable(c) || c == '"' || c == '\\')
            return refuse("must be printable ASCII without spaces, '\"' or '\\'");
    return ok();
}

}  // namespace stirgate::core
