#include "core/base64url.hpp"

#include <array>

namespace stirgate::core {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// 0..63 for the base64url alphabet, -1 for everything else (including '+', '/', '=' and
// whitespace, which RFC 7515 section 2 excludes from base64url without padding).
constexpr std::array<std::int8_t, 256> make_table()
{
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto decode_table = make_table();

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> bytes)
{
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t n = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) |
                                std::uint32_t{bytes[i + 2]};
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t n = std::uint32_t{bytes[i]} << 16;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
    } else if (rest == 2) {
        const std::uint32_t n = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
    }
    return out;
}

std::string base64url_encode(std::string_view bytes)
{
    return base64url_encode(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

result<std::string> base64url_decode(std::string_view text)
{
    // A single leftover character carries only 6 bits: never a whole byte.
    if (text.size() % 4 == 1)
        return error{errc::base64url_invalid, "length is 1 mod 4"};
    std::string out(text.size() * 3 / 4, '\0');  // exact: 4 characters carry 3 bytes
    std::size_t n = 0;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto v = decode_table[static_cast<unsigned char>(text[i])];
        if (v < 0)
            return error{errc::base64url_invalid,
                         "character outside the base64url alphabet at offset " + std::to_string(i)};
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    out.resize(n);
    // RFC 4648 section 3.5: the unused low bits of the last character must be zero, so each byte
    // string has exactly one encoding (otherwise a signature could be replayed under many forms).
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return error{errc::base64url_invalid, "non-zero trailing bits"};
    return out;
}

}  // namespace stirgate::core
