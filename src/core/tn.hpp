#pragma once
// Telephone numbers: RFC 8224 section 8 canonicalisation (what PASSporT orig/dest/div compare)
// and the E.164 type the Twilio API fields become at the boundary.

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace stirgate::core {

// Canonical form of a TN identity (RFC 8224 section 8): only digits, '*' and '#', with the
// country code. Accepts a tel: URI, a sip:/sips: URI (user part) or a bare number such as
// "+1 (310) 555-0100". URI parameters (;user=phone, ;verstat=, ;isub=, ;ext=) are dropped first,
// then visual separators. A number written without '+' gets local (NANP) policy: 10 digits with
// a valid area code get the prefix 1, "011"/"00" international prefixes are stripped; short
// codes such as "911" or "*67" stay as they are.
// errc::tn_invalid when the identity is not a TN (e.g. "sip:alice@example.test", empty user).
[[nodiscard]] result<std::string> canonicalize_tn(std::string_view identity);

// The TN of a SIP From / P-Asserted-Identity / To header value: a name-addr
// (`"Alice" <sip:+13105550100@host;user=phone>;tag=x`) or an addr-spec (`sip:...;tag=x`, where
// the header parameters after the URI are not part of it, RFC 3261 section 20.10).
// errc::tn_invalid when there is no URI or it does not hold a TN.
[[nodiscard]] result<std::string> tn_from_name_addr(std::string_view header_value);

// True when both identities canonicalise and the canonical strings are equal (RFC 8224 s.8
// step 4: byte-for-byte). Anything that is not a TN matches nothing.
bool same_tn(std::string_view a, std::string_view b);

// A global E.164 number: 1 to 15 digits, first digit 1-9 (ITU-T E.164 section 6).
// Built only by parse(), so code that holds one need not re-check it.
class e164_number final {
public:
    e164_number() = default;  // empty; only for containers and result<T>

    // Accepts what the Twilio API sends for To/From: "+14155550101", with or without visual
    // separators ("+1 (415) 555-0101"), a tel: URI, or a national NANP number ("4155550101",
    // "14155550101") which local policy turns global. errc::tn_invalid for anything else,
    // including sip:/client: addresses, '*'/'#' and numbers longer than 15 digits.
    [[nodiscard]] static result<e164_number> parse(std::string_view text);

    const std::string& digits() const noexcept { return digits_; }  // "14155550101"
    std::string e164() const { return "+" + digits_; }               // "+14155550101"
    bool empty() const noexcept { return digits_.empty(); }

    friend bool operator==(const e164_number&, const e164_number&) = default;
    friend auto operator<=>(const e164_number&, const e164_number&) = default;

private:
    explicit e164_number(std::string digits) : digits_(std::move(digits)) {}
    std::string digits_;
};

}  // namespace stirgate::core
