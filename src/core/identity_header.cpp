#include "core/identity_header.hpp"

#include "core/text.hpp"

#include <algorithm>

namespace stirgate::core {
namespace {

// LWS (RFC 3261 section 25.1) including folded lines: intermediaries may insert CRLF + SP.
bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 3261 section 25.1 token characters.
bool is_token_char(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
}

// RFC 3986 section 3: absolute URI = scheme ":" hier-part; scheme = ALPHA *(ALPHA/DIGIT/+/-/.)
bool is_absolute_uri(std::string_view uri)
{
    const auto colon = uri.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon + 1 == uri.size()) return false;
    const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
    if (!alpha(uri[0])) return false;
    for (std::size_t i = 1; i < colon; ++i) {
        const char c = uri[i];
        if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
    }
    return std::none_of(uri.begin(), uri.end(), [](char c) {
        return is_lws(c) || c == '<' || c == '>' || c == '"' || static_cast<unsigned char>(c) < 0x20;
    });
}

error malformed(std::string detail) { return error{errc::identity_header_malformed, std::move(detail)}; }

class cursor {
public:
    explicit cursor(std::string_view s) : s_(s) {}
    void skip_lws()
    {
        while (i_ < s_.size() && is_lws(s_[i_])) ++i_;
    }
    bool done() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    void advance() { ++i_; }
    std::size_t pos() const { return i_; }
    template <typename Pred>  // a template, so the per-character test inlines
    std::string_view take_while(Pred pred)
    {
        const auto start = i_;
        while (i_ < s_.size() && pred(s_[i_])) ++i_;
        return s_.substr(start, i_ - start);
    }
    // Up to (not including) `c`; npos when absent.
    std::size_t find(char c) const { return s_.find(c, i_); }
    std::string_view slice(std::size_t from, std::size_t to) const { return s_.substr(from, to - from); }
    void seek(std::size_t p) { i_ = p; }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

// quoted-string (RFC 3261 section 25.1) starting at the opening quote; returns it with quotes.
result<std::string_view> take_quoted(cursor& c, std::string_view name)
{
    const auto start = c.pos();
    c.advance();
    while (!c.done()) {
        const char ch = c.peek();
        c.advance();
        if (ch == '\\') {
            if (c.done()) break;
            c.advance();
        } else if (ch == '"') {
            return c.slice(start, c.pos());
        }
    }
    return malformed("unterminated quoted value for \"" + std::string(name) + "\"");
}

}  // namespace

result<identity_header> parse_identity_header(std::string_view value)
{
    cursor c(value);
    c.skip_lws();
    identity_header out;
    // The digest is 1*(base64url-char / "."); its characters are checked by decode_jws.
    out.token = std::string(c.take_while([](char ch) { return ch != ';' && !is_lws(ch); }));
    if (out.token.empty()) return malformed("no signed-identity-digest before the parameters");
    out.compact = out.token.size() >= 2 && out.token[0] == '.' && out.token[1] == '.';

    bool have_info = false;
    c.skip_lws();
    while (!c.done()) {
        if (c.peek() != ';') return malformed("expected ';' at offset " + std::to_string(c.pos()));
        c.advance();
        c.skip_lws();
        const auto name_raw = c.take_while(is_token_char);
        if (name_raw.empty()) return malformed("empty parameter at offset " + std::to_string(c.pos()));
        const auto name = ascii_lower(name_raw);
        c.skip_lws();
        std::string_view param_value;
        bool has_value = false;
        if (!c.done() && c.peek() == '=') {
            c.advance();
            c.skip_lws();
            has_value = true;
            if (c.done()) return malformed("parameter \"" + name + "\" has no value");
            if (c.peek() == '<') {
                const auto close = c.find('>');
                if (close == std::string_view::npos)
                    return malformed("unterminated <...> in parameter \"" + name + "\"");
                param_value = c.slice(c.pos(), close + 1);
                c.seek(close + 1);
            } else if (c.peek() == '"') {
                auto q = take_quoted(c, name);
                if (!q) return std::move(q).err();
                param_value = *q;
            } else {
                // token / host (generic-param, RFC 3261 section 25.1): host adds ':' '[' ']'.
                param_value = c.take_while([](char ch) {
                    return is_token_char(ch) || ch == ':' || ch == '[' || ch == ']';
                });
                if (param_value.empty())
                    return malformed("parameter \"" + name + "\" has an invalid value");
            }
            c.skip_lws();
        }

        if (name == "info") {
            // RFC 8224 section 4: ident-info = "info" EQUAL LAQUOT absoluteURI RAQUOT
            if (have_info) return malformed("info appears twice");
            if (!has_value || param_value.size() < 2 || param_value.front() != '<')
                return malformed("info is not <absoluteURI>");
            const auto uri = param_value.substr(1, param_value.size() - 2);
            if (!is_absolute_uri(uri)) return malformed("info is not an absolute URI");
            out.info = std::string(uri);
            have_info = true;
        } else if (name == "alg") {
            if (out.alg) return malformed("alg appears twice");
            if (!has_value) return malformed("alg has no value");
            out.alg = std::string(param_value);
        } else if (name == "ppt") {
            if (out.ppt) return malformed("ppt appears twice");
            if (!has_value) return malformed("ppt has no value");
            // STIR-SHAKEN.md section 3.2: accept ppt=shaken and ppt="shaken" alike.
            if (param_value.size() >= 2 && param_value.front() == '"') {
                out.ppt = std::string(param_value.substr(1, param_value.size() - 2));
                out.ppt_quoted = true;
            } else {
                out.ppt = std::string(param_value);
            }
            if (out.ppt->empty()) return malformed("ppt is empty");
        } else {
            out.other_params.push_back({name, std::string(param_value)});
        }
    }
    if (!have_info) return malformed("info parameter is missing");
    return out;
}

std::string_view strip_identity_header_name(std::string_view line)
{
    std::size_t i = 0;
    while (i < line.size() && is_lws(line[i])) ++i;
    const auto rest = line.substr(i);
    for (const std::string_view name : {std::string_view("identity"), std::string_view("y")}) {
        if (!istarts_with(rest, name)) continue;
        std::size_t j = name.size();
        while (j < rest.size() && (rest[j] == ' ' || rest[j] == '\t')) ++j;  // HCOLON
        if (j < rest.size() && rest[j] == ':') {
            ++j;
            while (j < rest.size() && is_lws(rest[j])) ++j;
            return rest.substr(j);
        }
    }
    return line;
}

std::string format_identity_header(std::string_view jws, std::string_view info, passport_type ppt,
                                   identity_format_options opts)
{
    std::string out(jws);
    out += ";info=<";
    out += info;
    out += ">;alg=ES256;ppt=";
    if (opts.quote_ppt) out += '"';
    out += to_string(ppt);
    if (opts.quote_ppt) out += '"';
    return out;
}

}  // namespace stirgate::core
