#include "core/form.hpp"

namespace stirgate::core {
namespace {

constexpr char hex_upper[] = "0123456789ABCDEF";

int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void append_escaped(std::string& out, char c)
{
    const auto b = static_cast<unsigned char>(c);
    out.push_back('%');
    out.push_back(hex_upper[b >> 4]);
    out.push_back(hex_upper[b & 0x0f]);
}

// Strict %XX decoding; `plus_is_space` for the form layer only. Writes through a pointer into a
// buffer sized for the input (decoding never grows it): a CallToken is decoded twice per request
// (form layer, then encodeURIComponent) and push_back per byte was ~45k instructions of it.
result<std::string> percent_decode(std::string_view text, bool plus_is_space, errc on_error)
{
    std::string out(text.size(), '\0');
    char* o = out.data();
    const char* p = text.data();
    const char* const end = p + text.size();
    while (p != end) {
        const char c = *p;
        if (c == '%') {
            if (end - p < 3) return error{on_error, "truncated %XX escape"};
            const int hi = hex_value(p[1]);
            const int lo = hex_value(p[2]);
            if (hi < 0 || lo < 0) return error{on_error, "bad %XX escape"};
            *o++ = static_cast<char>(hi * 16 + lo);
            p += 3;
        } else {
            *o++ = c == '+' && plus_is_space ? ' ' : c;
            ++p;
        }
    }
    out.resize(static_cast<std::size_t>(o - out.data()));
    return out;
}

}  // namespace

void form_params::add(std::string name, std::string value)
{
    params_.push_back(form_param{std::move(name), std::move(value)});
}

std::optional<std::string> form_params::get(std::string_view name) const
{
    for (const auto& p : params_)
        if (p.name == name) return p.value;
    return std::nullopt;
}

std::vector<std::string> form_params::all(std::string_view name) const
{
    std::vector<std::string> out;
    for (const auto& p : params_)
        if (p.name == name) out.push_back(p.value);
    return out;
}

bool form_params::contains(std::string_view name) const
{
    for (const auto& p : params_)
        if (p.name == name) return true;
    return false;
}

result<form_params> parse_form(std::string_view body)
{
    form_params out;
    std::size_t start = 0;
    while (start <= body.size()) {
        auto amp = body.find('&', start);
        if (amp == std::string_view::npos) amp = body.size();
        const std::string_view piece = body.substr(start, amp - start);
        start = amp + 1;
        if (piece.empty()) continue;  // "a=1&&b=2", a trailing '&'
        const auto eq = piece.find('=');
        auto name = percent_decode(piece.substr(0, eq), true, errc::form_invalid);
        if (!name) return std::move(name).err();
        std::string value;
        if (eq != std::string_view::npos) {
            auto v = percent_decode(piece.substr(eq + 1), true, errc::form_invalid);
            if (!v) return std::move(v).err();
            value = std::move(*v);
        }
        out.add(std::move(*name), std::move(value));
    }
    return out;
}

std::string form_encode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out.push_back(c);
        else if (c == ' ')
            out.push_back('+');
        else
            append_escaped(out, c);
    }
    return out;
}

std::string format_form(const form_params& params)
{
    std::string out;
    for (const auto& p : params) {
        if (!out.empty()) out.push_back('&');
        out += form_encode(p.name);
        out.push_back('=');
        out += form_encode(p.value);
    }
    return out;
}

std::string encode_uri_component(std::string_view text)
{
    std::string out;
    out.reserve(text.size() * 2);
    for (const char c : text) {
        switch (c) {
        case '-': case '_': case '.': case '!': case '~': case '*': case '\'': case '(': case ')':
            out.push_back(c);
            break;
        default:
            if (is_alnum(c))
                out.push_back(c);
            else
                append_escaped(out, c);
        }
    }
    return out;
}

result<std::string> decode_uri_component(std::string_view text)
{
    return percent_decode(text, false, errc::percent_encoding_invalid);
}

}  // namespace stirgate::core
