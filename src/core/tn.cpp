#include "core/tn.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace stirgate::core {
namespace {

constexpr std::string_view whitespace = " \t\r\n";



bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3261 section 19.1.2: the user part may carry escaped characters ("%2B1310...").
std::optional<std::string> unescape_user(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        const int hi = hex_value(s[i + 1]);
        const int lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

// RFC 8224 section 8 steps 2 and 3 on a number that has lost its URI syntax.
result<std::string> canonical_number(std::string_view number)
{
    const std::string_view n = trim(number, whitespace);
    std::string out;
    bool global = false;
    bool dialing_chars = false;  // '*' or '#'
    for (std::size_t i = 0; i < n.size(); ++i) {
        const char c = n[i];
        if (is_digit(c)) {
            out.push_back(c);
        } else if (c == '*' || c == '#') {
            out.push_back(c);
            dialing_chars = true;
        } else if (c == '+' && out.empty() && !global) {
            global = true;
        } else if (c == '-' || c == '.' || c == '(' || c == ')' || c == ' ') {
            // RFC 3966 visual separators (and the spaces people type)
        } else {
            return error{errc::tn_invalid, "not a telephone number"};
        }
    }
    if (out.empty()) return error{errc::tn_invalid, "no digits"};
    if (global) {
        // A global number is all digits (RFC 3966 global-number-digits).
        if (dialing_chars) return error{errc::tn_invalid, "'*' or '#' in a global number"};
        return out;
    }
    if (dialing_chars) return out;  // service codes such as *67 stay as dialled
    // Local policy (RFC 8224 s.8 step 3): turn national NANP forms into E.164 digits.
    if (out.size() == 10 && out[0] >= '2' && out[0] <= '9') return "1" + out;
    if (out.size() > 3 && out.starts_with("011")) return out.substr(3);
    if (out.size() > 2 && out.starts_with("00")) return out.substr(2);
    return out;
}

// "user[:password]@host..." -> number part of the user (before any user parameters).
result<std::string> sip_user_number(std::string_view rest)
{
    const auto at = rest.find('@');
    if (at == std::string_view::npos) return error{errc::tn_invalid, "SIP URI without a user"};
    std::string_view user = rest.substr(0, at);
    if (const auto colon = user.find(':'); colon != std::string_view::npos)
        user = user.substr(0, colon);  // user:password
    // RFC 3966 parameters inside a user=phone user part (";verstat=...", ";isub=...").
    if (const auto semi = user.find(';'); semi != std::string_view::npos)
        user = user.substr(0, semi);
    auto unescaped = unescape_user(user);
    if (!unescaped) return error{errc::tn_invalid, "bad escape in SIP user"};
    return canonical_number(*unescaped);
}

}  // namespace

result<std::string> canonicalize_tn(std::string_view identity)
{
    const std::string_view id = trim(identity, whitespace);
    if (id.empty()) return error{errc::tn_invalid, "empty identity"};
    if (id.front() == '<' || id.front() == '"') return tn_from_name_addr(id);
    if (istarts_with(id, "tel:")) {
        std::string_view number = id.substr(4);
        if (const auto semi = number.find(';'); semi != std::string_view::npos)
            number = number.substr(0, semi);  // ;phone-context, ;ext, ;isub, ;verstat
        return canonical_number(number);
    }
    // user=phone marks a TN (RFC 3261 section 19.1.1); without it, local policy accepts the same
    // shapes (digits, '+', '*', '#', visual separators), so both go through one path.
    if (istarts_with(id, "sip:")) return sip_user_number(id.substr(4));
    if (istarts_with(id, "sips:")) return sip_user_number(id.substr(5));
    return canonical_number(id);  // anything with another scheme fails on its ':'
}

result<std::string> tn_from_name_addr(std::string_view header_value)
{
    std::string_view v = trim(header_value, whitespace);
    std::size_t pos = 0;
    if (!v.empty() && v.front() == '"') {
        // quoted display-name: skip it, honouring backslash escapes (RFC 3261 section 25.1)
        pos = 1;
        while (pos < v.size() && v[pos] != '"') pos += (v[pos] == '\\') ? 2 : 1;
        if (pos >= v.size()) return error{errc::tn_invalid, "unterminated display name"};
        ++pos;
    }
    const auto lt = v.find('<', pos);
    if (lt != std::string_view::npos) {
        const auto gt = v.find('>', lt);
        if (gt == std::string_view::npos) return error{errc::tn_invalid, "unterminated name-addr"};
        return canonicalize_tn(v.substr(lt + 1, gt - lt - 1));
    }
    if (pos != 0) return error{errc::tn_invalid, "display name without <URI>"};
    // addr-spec form: parameters after the URI belong to the header (RFC 3261 section 20.10),
    // but a SIP user part may itself contain ';', so cut only after the host starts.
    const auto at = v.find('@');
    const auto semi = v.find(';', at == std::string_view::npos ? 0 : at);
    return canonicalize_tn(v.substr(0, semi));
}

bool same_tn(std::string_view a, std::string_view b)
{
    const auto ca = canonicalize_tn(a);
    if (!ca) return false;
    const auto cb = canonicalize_tn(b);
    return cb && *ca == *cb;
}

result<e164_number> e164_number::parse(std::string_view text)
{
    const std::string_view t = trim(text, whitespace);
    if (istarts_with(t, "sip:") || istarts_with(t, "sips:") || t.starts_with("<"))
        return error{errc::tn_invalid, "a SIP address is not an E.164 number"};
    auto canonical = canonicalize_tn(t);
    if (!canonical) return std::move(canonical).err();
    std::string& d = *canonical;
    // E.164 section 6: at most 15 digits. The shortest assigned international numbers have 7
    // (e.g. +683 xxxx), so shorter strings are service codes, not numbers.
    if (d.size() < 7 || d.size() > 15 || d.front() == '0' ||
        !std::all_of(d.begin(), d.end(), is_digit))
        return error{errc::tn_invalid, "not an E.164 number"};
    return e164_number(std::move(d));
}

}  // namespace stirgate::core
