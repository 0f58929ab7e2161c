#include "core/sid.hpp"

#include <array>
#include <cstdlib>

#include <openssl/rand.h>

#include "core/crypto.hpp"

namespace stirgate::core {
bool is_sid(std::string_view s, std::string_view prefix) noexcept
{
    if (s.size() != 34 || s.substr(0, 2) != prefix) return false;
    for (const char c : s.substr(2)) {
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex) return false;
    }
    return true;
}

void openssl_random_bytes(std::span<std::uint8_t> out)
{
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

std::string new_sid(std::string_view prefix, const random_fn& random)
{
    std::array<std::uint8_t, 16> bytes{};
    random(bytes);
    return std::string(prefix) + hex_lower(bytes);
}

std::string new_call_sid(const random_fn& random)
{
    return new_sid("CA", random);
}

bool is_call_sid(std::string_view s) noexcept
{
    return is_sid(s, "CA");
}
bool is_account_sid(std::string_view s) noexcept
{
    return is_sid(s, "AC");
}
bool is_conference_sid(std::string_view s) noexcept
{
    return is_sid(s, "CF");
}

}  // namespace stirgate::core
