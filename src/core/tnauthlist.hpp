#pragma once
// TNAuthList certificate extension (RFC 8226 section 9, OID 1.3.6.1.5.5.7.1.26).
//
//   TNAuthorizationList ::= SEQUENCE SIZE (1..MAX) OF TNEntry
//   TNEntry ::= CHOICE { spc [0] ServiceProviderCode, range [1] TelephoneNumberRange,
//                        one [2] TelephoneNumber }            -- module uses EXPLICIT TAGS
//
// The parser reads the extension value (the OCTET STRING content) by hand: it sees bytes from
// certificates fetched off the network, so every length is checked against what remains and
// anything that is not strict DER is refused.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace stirgate::core {

// TelephoneNumberRange ::= SEQUENCE { start TelephoneNumber, count INTEGER (2..MAX), ... }
struct tn_range {
    std::string start;
    std::uint64_t count = 0;

    friend bool operator==(const tn_range&, const tn_range&) = default;
};

// Entries in the order they appear, split by kind.
struct tn_auth_list {
    std::vector<std::string> spcs;   // ServiceProviderCode values (SHAKEN leaf certs carry only these)
    std::vector<tn_range> ranges;
    std::vector<std::string> tns;    // "one" entries: 1..15 of 0-9 # *

    friend bool operator==(const tn_auth_list&, const tn_auth_list&) = default;
};

// Parses the DER of a TNAuthorizationList. errc::cert_no_tnauthlist (the extension is unusable,
// so the certificate is treated as lacking it) with a detail for: truncated or over-long
// lengths, indefinite or non-minimal lengths, trailing bytes at any level, an empty list, an
// unknown CHOICE tag, SPC/TN characters outside their alphabets, a range count below 2.
[[nodiscard]] result<tn_auth_list> parse_tnauthlist(std::span<const std::uint8_t> der);

}  // namespace stirgate::core
