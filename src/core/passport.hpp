#pragma once
// PASSporT (RFC 8225) with the SHAKEN (RFC 8588) and div (RFC 8946) extensions: the model, a
// strict decoder and a canonical encoder (RFC 8225 section 9). A decoded PASSporT keeps the JWS
// exactly as received: signatures are always checked over the transmitted bytes (vector G5), and
// re-encoding is only for what we sign and for compact-form reconstruction.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/jws.hpp"
#include "core/verstat.hpp"

namespace stirgate::core {

// The PASSporT extensions this gateway handles (the header and Identity `ppt`).
enum class passport_type { shaken, div };
std::string_view to_string(passport_type t) noexcept;
// "shaken" / "div"; errc::identity_ppt_unsupported for anything else (the header is then ignored,
// RFC 8224 section 6.2 step 1).
[[nodiscard]] result<passport_type> parse_passport_type(std::string_view s);

// orig and div identities: exactly one of {"tn": "..."} or {"uri": "..."} (RFC 8225 section 5.2.1).
struct passport_identity {
    enum class kind { tn, uri };
    kind type = kind::tn;
    std::string value;  // a canonical TN (no '+', RFC 8224 section 8) or a URI

    static passport_identity tn(std::string v) { return {kind::tn, std::move(v)}; }
    static passport_identity uri(std::string v) { return {kind::uri, std::move(v)}; }
    bool is_tn() const noexcept { return type == kind::tn; }
    friend bool operator==(const passport_identity&, const passport_identity&) = default;
};

// dest: arrays of TNs and/or URIs, at least one entry in all (RFC 8225 section 5.2.1).
struct passport_dest {
    std::vector<std::string> tn;
    std::vector<std::string> uri;
    friend bool operator==(const passport_dest&, const passport_dest&) = default;
};

// JOSE header (RFC 8225 section 4). alg is always ES256 (enforced by decode_jws).
struct passport_header {
    passport_type ppt = passport_type::shaken;
    std::string x5u;  // URL of the signing certificate; must equal the Identity `info`
};

// Claims of a shaken or div PASSporT. Which optional part is set follows the header ppt.
struct passport_claims {
    std::int64_t iat = 0;  // NumericDate, seconds
    passport_identity orig;
    passport_dest dest;
    // ppt=shaken (RFC 8588 section 4)
    std::optional<attestation> attest;
    std::string origid;
    // ppt=div (RFC 8946 section 3)
    std::optional<passport_identity> div;
    std::optional<std::string> div_hi;  // History-Info index, e.g. "1.2.1"
};

// A decoded PASSporT: parsed header and claims plus the JWS as received.
struct passport {
    passport_header header;
    passport_claims claims;
    decoded_jws jws;
};

// Decodes a full-form compact JWS (decode_jws), then the header and claims, strictly:
//   jws_* errors from decode_jws;
//   identity_ppt_unsupported: ppt absent (a baseline PASSporT) or other than shaken/div;
//   passport_header_invalid: typ not "passport", x5u missing or not a non-empty string,
//     ppt not a string;
//   passport_claims_invalid: iat not a non-negative JSON integer, orig not exactly one of tn/uri
//     (strings), dest without a tn/uri array of strings, attest not A/B/C or origid not a
//     non-empty string (shaken), div not an object with exactly one of tn/uri, hi not a string,
//     or opt present (div).
// Unknown extra header members and claims are tolerated; the detail names the claim.
[[nodiscard]] result<passport> decode_passport(std::string_view compact);
[[nodiscard]] result<passport> decode_passport(decoded_jws jws);
// The same, for a caller that already parsed jws.header_json with parse_json_object (the
// verifier checks alg and ppt first): `header_doc` is that document, not parsed again.
[[nodiscard]] result<passport> decode_passport(decoded_jws jws, const rapidjson::Value& header_doc);

// Checks the signature over the received bytes. errc::jws_signature_invalid, key_invalid.
[[nodiscard]] result<void> verify_passport(const passport& p, const es256_public_key& key);

// Canonical JSON (sorted keys, no whitespace): {"alg":"ES256","ppt":..,"typ":"passport","x5u":..}
std::string encode_passport_header(const passport_header& h);
// Canonical claims for `ppt`. dest arrays are emitted sorted (RFC 8225 section 9); only the
// claims of that ppt are emitted (a div PASSporT never copies attest/origid, RFC 8946 section 3).
// errc::passport_claims_invalid when a required claim of `ppt` is missing or dest is empty.
[[nodiscard]] result<std::string> encode_passport_claims(passport_type ppt, const passport_claims& c);

// Signs: canonical header + canonical claims -> compact JWS "h.p.s" (full form).
[[nodiscard]] result<std::string> sign_passport(const passport_claims& claims, passport_type ppt,
                                                std::string_view x5u, const es256_private_key& key);

// RFC 8224 section 4 compact form for a baseline PASSporT (no ppt): the verifier rebuilds the
// header {"alg":"ES256","typ":"passport","x5u":info} and claims {"dest":{"tn":[...]},"iat":..,
// "orig":{"tn":..}} from the SIP request (Date, From/PAI, To, info) and verifies "..sig" over them.
struct baseline_inputs {
    std::int64_t iat = 0;
    std::string orig_tn;
    std::vector<std::string> dest_tn;
    std::string x5u;
};
// errc::jws_malformed unless `compact` is "..<sig>"; jws_signature_malformed unless sig is 64
// bytes; passport_claims_invalid when orig/dest are empty. The result's signing_input is the
// reconstruction, so verify_jws() checks it.
[[nodiscard]] result<decoded_jws> rebuild_compact_passport(std::string_view compact,
                                                           const baseline_inputs& in);

}  // namespace stirgate::core
