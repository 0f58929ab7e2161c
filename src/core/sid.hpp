#pragma once
// Twilio-style SIDs: their shape ("CA"/"AC"/"CF" + 32 hex) and new CallSids from a random source.
// The random source is a parameter (tests pass a seeded one); openssl_random_bytes is the
// production one.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace stirgate::core {

// Fills the span with unpredictable bytes (CallSids). Production: openssl_random_bytes.
using random_fn = std::function<void(std::span<std::uint8_t>)>;

// OpenSSL's CSPRNG (RAND_bytes); aborts the process if it fails, since every SID after that
// would be guessable.
void openssl_random_bytes(std::span<std::uint8_t> out);

// `prefix` ("CA", "CF", ...) + 32 lower-case hex from `random`.
std::string new_sid(std::string_view prefix, const random_fn& random);
// "CA" + 32 lower-case hex from `random`.
std::string new_call_sid(const random_fn& random);

// `prefix` + 32 hex digits (either case).
bool is_sid(std::string_view s, std::string_view prefix) noexcept;
// "CA" / "AC" / "CF" (conference) + 32 hex digits (either case).
bool is_call_sid(std::string_view s) noexcept;
bool is_account_sid(std::string_view s) noexcept;
bool is_conference_sid(std::string_view s) noexcept;

}  // namespace stirgate::core
