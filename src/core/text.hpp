#pragma once
// ASCII text helpers for protocol tokens (header names, schemes, host names, Basic, verstat
// values). ASCII only on purpose: std::tolower follows the C locale, protocols do not.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stirgate::core {

constexpr char ascii_lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string ascii_lower(std::string_view s);

constexpr char ascii_upper(char c) noexcept
{
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string ascii_upper(std::string_view s);

// ASCII character classes, for grammars (std::isalpha and friends follow the C locale).
constexpr bool is_ascii_alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_ascii_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}
constexpr bool is_ascii_hex(char c) noexcept
{
    return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// No C0 control character and no DEL (bytes from 0x80 up pass: UTF-8 text). Names and labels a
// client gives that are echoed in JSON and forwarded in forms.
constexpr bool has_no_control_characters(std::string_view s) noexcept
{
    for (const char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    return true;
}

// Case-insensitive (ASCII) equality and prefix test.
bool iequals(std::string_view a, std::string_view b) noexcept;
bool istarts_with(std::string_view s, std::string_view prefix) noexcept;
// Whether `needle` occurs in `s`, ASCII case-insensitively (an empty needle always does).
bool icontains(std::string_view s, std::string_view needle) noexcept;

// `s` without leading and trailing characters from `chars` (default: HTTP optional whitespace).
std::string_view trim(std::string_view s, std::string_view chars = " \t") noexcept;

// A decimal of ASCII digits only (no sign, no spaces) that is at most `max`; nullopt otherwise,
// including on overflow. For untrusted numeric fields (Timeout, PageSize, CallDuration, ...).
std::optional<std::int64_t> parse_decimal(std::string_view s, std::int64_t max) noexcept;

// `url` with any password (scheme://user:PASSWORD@host, or a password=VALUE query option as
// libpq takes it) replaced by "***", for log lines and error messages.
std::string redact_url_password(std::string_view url);

}  // namespace stirgate::core
