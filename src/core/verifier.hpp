#pragma once
// STI-VS for one call (RFC 8224 section 6.2, RFC 8588, RFC 8946 section 4.2; STIR-SHAKEN.md
// section 8). Pure: certificates are fetched and validated by the shell (sti/), so verification
// is two steps:
//   1. required_x5u(values)                -> the x5u URLs to fetch and validate;
//   2. verify_call(values, call, now, ...) -> the verdict, given the validated certificates.
// Checks run in the order the test vectors assume: syntax -> freshness -> identity binding ->
// certificate (fetch, trust) -> signature, so each failure reports the code of its first defect.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/verstat.hpp"

namespace stirgate::core {

// A signing certificate that chained to a trust anchor, was not revoked, is valid at the
// verification time and carries a TNAuthList (built by sti::trust_store).
struct verified_cert {
    es256_public_key key;         // leaf key, EC P-256
    std::string spc;              // first SPC of the leaf's TNAuthList
    std::int64_t not_after = 0;   // leaf notAfter, seconds since the epoch
};

// x5u URL -> validated certificate, or why it could not be had (x5u_fetch_failed, x5u_refused,
// cert_untrusted, cert_expired, cert_revoked, cert_no_tnauthlist). A URL missing from the map
// counts as x5u_fetch_failed.
using certificate_map = std::map<std::string, result<verified_cert>, std::less<>>;

struct verify_policy {
    std::int64_t iat_window_s = 60;   // RFC 8224 section 6.2 step 4 (recommended 60 s)
    std::int64_t future_skew_s = 5;   // STIR-SHAKEN.md section 13.4: gateway default
    // RFC 8946 section 4.2 / STIR-SHAKEN.md 13.7: a PASSporT that a div PASSporT extends (the
    // SHAKEN one of a forwarded call, or an earlier hop) may be older; the outermost one gets
    // the normal window. The RFC suggests at most about three hours; a forwarded call rings
    // for minutes, not hours.
    std::int64_t chained_window_s = 600;
};

// What the SIP request says, already canonicalised (RFC 8224 section 8): empty when the header
// holds no TN, which then matches nothing.
struct call_context {
    std::string caller_tn;       // P-Asserted-Identity (first TN) else From
    std::string to_tn;           // To
    std::string request_uri_tn;  // Request-URI (the platform number the call arrived on)
    std::optional<std::int64_t> sip_date;  // SIP Date header, seconds since the epoch
};

// The x5u (= info) URLs of the Identity values that verify_call would need a certificate for:
// supported ppt (shaken, div), full form, parseable. Deduplicated, in order of first use.
std::vector<std::string> required_x5u(std::span<const std::string> identity_values);

struct identity_result {
    std::string ppt;            // ppt parameter without quotes; empty for baseline (no ppt)
    bool ignored = false;       // unsupported ppt or baseline RFC 8224: not part of the verdict
    // errc{} when this PASSporT verified on its own. Ignored values: identity_ppt_unsupported,
    // or for a baseline compact-form value the RFC 8224 result (errc{} = it verified).
    errc code = errc{};
    int sip_code = 0;           // error_info(code).sip_code; 0 when verified or ignored
    std::string detail;         // why, for logs only (never sent to a client)
    std::optional<attestation> attest;  // SHAKEN attest claim when the payload could be read
    std::string x5u;            // info parameter
    std::string spc;            // SPC of the signing certificate's TNAuthList, once validated
};

struct verification_outcome {
    std::vector<identity_result> identities;  // one per input value, same order

    bool valid = false;                       // SHAKEN verified (and its div chain, if any)
    sip_verstat verstat = sip_verstat::no_tn_validation;  // for the caller's PAI/From
    std::optional<sip_verstat> div_verstat;   // when the call carries decodable div PASSporTs
    stir_verstat twilio;                      // Twilio StirVerstat (TWILIO-API.md section 6)

    errc code = errc{};                       // first defect of the failing verdict
    int sip_code = 0;                         // 403/436/437/438, 0 when valid or ignored
    std::string reason;                       // RFC 8224 phrase, or "Invalid PASSporT"

    std::string shaken_passport;              // compact JWS of the SHAKEN PASSporT (for
                                              // StirPassportToken); empty when none was read
    std::optional<attestation> attest;        // its attest claim
};

// Verifies every Identity header value of one call at time `now` (seconds since the epoch).
// Unsupported ppt values are ignored (RFC 8224 section 6.2 step 1); compact form is refused for
// shaken/div (RFC 8588 section 3, RFC 8946 section 3); div PASSporTs must link to an earlier
// dest with an unchanged orig and the outermost dest must be the Request-URI (RFC 8946 s.4.2).
// Without div PASSporTs, dest may match To or the Request-URI (STIR-SHAKEN.md section 13.5).
verification_outcome verify_call(std::span<const std::string> identity_values,
                                 const call_context& call, std::int64_t now,
                                 const verify_policy& policy,
                                 const certificate_map& certificates);

// The reason text for a verification errc: "Invalid PASSporT" where the token's claims or type
// are wrong (RFC 8224 section 6.2.2 allows it), else the RFC 8224 phrase of its SIP code.
std::string_view verification_reason(errc code) noexcept;

}  // namespace stirgate::core
