#pragma once
// The verstat vocabulary: the SIP-side value of 3GPP TS 24.229 (ATIS three-value form) and
// Twilio's StirVerstat (spec/TWILIO-API.md section 6), kept apart on purpose.

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace stirgate::core {

enum class attestation { A, B, C };

// "A" / "B" / "C" -> attestation; errc::invalid_parameter otherwise (case-sensitive, as RFC 8588).
[[nodiscard]] result<attestation> parse_attestation(std::string_view s);
std::string_view to_string(attestation a) noexcept;

// SIP-side verstat (3GPP TS 24.229 / ATIS).
enum class sip_verstat { tn_validation_passed, tn_validation_failed, no_tn_validation };
std::string_view to_string(sip_verstat v) noexcept;  // "TN-Validation-Passed", ...
// The three values, compared ASCII case-insensitively like other SIP tokens; a value that extends
// one of them with a '-' suffix (carrier-specific, e.g. "TN-Validation-Passed-A") is tolerated
// as that value (spec/STIR-SHAKEN.md s.11). errc::invalid_parameter otherwise.
[[nodiscard]] result<sip_verstat> parse_sip_verstat(std::string_view s);

// How a verification ended, in Twilio's terms (spec/TWILIO-API.md section 6 [G] mapping):
//   passed          -> TN-Validation-Passed-{attest}[-Diverted]
//   failed          -> TN-Validation-Failed[-{attest}][-Diverted]  (signature, certificate, fetch)
//   not_validated   -> No-TN-Validation  (syntax, binding, freshness, unsupported ppt)
//   undetermined    -> NULL  (Twilio: "unable to verify, no attestation determined"; only ever
//                     parsed from an upstream, the gateway itself does not emit it)
enum class twilio_outcome { passed, failed, not_validated, undetermined };

struct stir_verstat {
    twilio_outcome outcome = twilio_outcome::not_validated;
    std::optional<attestation> attest;  // claimed attestation of the SHAKEN PASSporT, if known
    bool diverted = false;              // the call carried a DIV chain
    bool passthrough = false;           // Twilio "Passport Passthrough" (-Passthrough suffix)

    friend bool operator==(const stir_verstat&, const stir_verstat&) = default;
};

// Twilio StirVerstat text for an outcome, e.g. "TN-Validation-Passed-A-Diverted".
// attest/diverted/passthrough are ignored for not_validated and undetermined; diverted wins over
// passthrough (Twilio has no value with both).
std::string to_string(const stir_verstat& v);
// Parses every value of Twilio's table, case-sensitively, so that to_string(parse(s)) == s;
// also "TN-Validation-Failed-Diverted" (the gateway's failure without a known attestation).
// errc::invalid_parameter for anything else.
[[nodiscard]] result<stir_verstat> parse_stir_verstat(std::string_view s);

// Client SDK rule (twilio-voice.js CallerInfo.isVerified): verified means TN-Validation-Passed-A.
bool is_verified_a(const stir_verstat& v) noexcept;

}  // namespace stirgate::core
