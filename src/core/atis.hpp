#pragma once
// ATIS-1000082 STI REST API bodies (STIR-SHAKEN.md section 12): verification request parsing
// and response rendering. Pure, so the parser that sees client bytes is unit- and fuzz-tested.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/passport.hpp"
#include "core/verifier.hpp"

namespace stirgate::core {

// At most this many Identity values per request: a real call carries a SHAKEN PASSporT and a
// few DIVs; more is abuse of the certificate fetcher.
inline constexpr std::size_t atis_max_identities = 16;

struct atis_verification_request {
    std::string from_tn;               // canonical TN of verificationRequest.from.tn
    std::vector<std::string> to_tns;   // canonical TNs of to.tn (ATIS array, 3GPP string)
    std::int64_t time = 0;             // SIP Date as epoch seconds
    std::vector<std::string> identities;  // `identity`, or `identities` in arrival order
    std::string request_uri_tn;        // canonical TN of requestUri; to_tns[0] when absent
};

// Parses {"verificationRequest":{"from":{"tn":..},"to":{"tn":[..]},"time":N,"identity":".."}}
// (DESIGN.md: `identities` may replace `identity`; `requestUri` is a sip:/tel: URI or bare TN).
// Errors, with the offending member path as the detail (safe to echo as an ATIS variable):
//   body_unparseable   not a JSON object, or no verificationRequest object;
//   missing_parameter  from / to / time / identity absent;
//   invalid_parameter  wrong type, a value that is not a TN, both identity and identities,
//                      an empty or over-long identities list, a negative time.
[[nodiscard]] result<atis_verification_request> parse_atis_verification_request(
    std::string_view body);

// {"signingRequest":{"attest","dest":{"tn":[..]},"iat","orig":{"tn"},"origid"}} (ATIS form),
// optionally "ppt":"shaken"|"div" (3GPP; div then takes "div":{"tn"} and no attest/origid).
// Returns the claims to sign, TNs canonicalised. Errors as for verification requests (detail =
// offending member); a ppt other than shaken/div is invalid_parameter "ppt".
struct atis_signing_request {
    passport_type ppt = passport_type::shaken;
    passport_claims claims;
};
[[nodiscard]] result<atis_signing_request> parse_atis_signing_request(std::string_view body);

// {"signingResponse":{"identity":"<full Identity header value>"}}
std::string render_atis_signing_response(std::string_view identity);

// The call context verify_call needs for a parsed request.
call_context to_call_context(const atis_verification_request& r);

// {"verificationResponse":{"verstat":"TN-Validation-Passed"}}; a failed verification adds
// "reasonCode" (a JSON integer: Oracle's SBC ignores a string) and "reasonText".
std::string render_atis_verification_response(const verification_outcome& outcome);

}  // namespace stirgate::core
