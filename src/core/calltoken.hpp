#pragma once
// CallToken: Twilio's shape (spec/TWILIO-API.md section 7) with the binding claims of DESIGN.md
// "CallToken". The value is encodeURIComponent of
//   {"parentCallInfoToken": "<ES256 JWT>", "identityHeaderTokens": ["<Identity value>", ...]}
// and the JWT (header {"alg":"ES256"}, optionally "kid") carries callSid, from, to, iat (a JSON
// string of epoch seconds), accountSid and identityHeaderTokensSha256, so a token edited,
// spliced onto other Identity headers or replayed by another account is refused.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/jws.hpp"

namespace stirgate::core {

// Claims of parentCallInfoToken as decoded (not yet trusted: see validate_calltoken).
struct calltoken_claims {
    std::string call_sid;  // callSid: the parent call, CA...
    std::string from;      // from: the caller, E.164 with '+'
    std::string to;        // to: the number called
    std::int64_t iat = 0;  // iat: epoch seconds (a JSON string on the wire)
    std::optional<std::string> account_sid;                    // accountSid (gateway extension)
    std::optional<std::string> identity_header_tokens_sha256;  // (gateway extension)
};

// A decoded CallToken. Owns its bytes.
struct calltoken {
    std::string parent_call_info_token;               // compact JWS as received
    std::vector<std::string> identity_header_tokens;  // full Identity values, arrival order
    std::optional<std::string> kid;                   // JWT header kid, if any
    calltoken_claims claims;
    decoded_jws jws;  // parent_call_info_token split and decoded, for signature checks
};

// What the gateway puts into a token it mints.
struct calltoken_mint_params {
    std::string call_sid;
    std::string from;  // E.164 with '+', as Twilio writes it
    std::string to;
    std::string account_sid;
    std::optional<std::string> kid;  // names the platform key, for rotation
};

// base64url (no padding) of SHA-256 over the values joined with a single LF; an empty list
// hashes the empty string.
std::string identity_header_tokens_sha256(std::span<const std::string> identity_header_tokens);

// Signs parentCallInfoToken with the platform key (iat = `now`; pass the first time the call was
// seen so a retried webhook gets the same claims) and returns the CallToken value: the
// percent-encoded JSON, ready to be sent as the CallToken form field (which form-encodes it
// once more). errc::invalid_parameter when a value contains CR or LF (it would make the joined
// hash ambiguous); errc::key_invalid / errc::crypto_failure from signing.
[[nodiscard]] result<std::string> mint_calltoken(
    const calltoken_mint_params& params,
    std::span<const std::string> identity_header_tokens,
    const es256_private_key& platform_key, std::int64_t now);

// The CallToken value for a given JWT and Identity list (compact JSON, then encodeURIComponent).
std::string encode_calltoken_value(std::string_view parent_call_info_token,
                                   std::span<const std::string> identity_header_tokens);

// Decodes a CallToken value (as received in the form field, i.e. still percent-encoded; a value
// already percent-decoded to JSON is accepted too). Any JSON layout is fine (Twilio's own
// examples are pretty-printed). Does not check the signature or any binding.
// errc::calltoken_malformed: bad %XX, not JSON, not an object with a string parentCallInfoToken
// and an array of strings identityHeaderTokens (none holding CR or LF, which no SIP header
// value can), a JWT that does not decode as ES256 JWS, or
// claims callSid/from/to/iat missing or of the wrong type.
[[nodiscard]] result<calltoken> decode_calltoken(std::string_view value);
// Same, from the JSON text.
[[nodiscard]] result<calltoken> decode_calltoken_json(std::string_view json);

// The parent call a token names, as this gateway (or its cluster) stored it.
struct known_parent_call {
    std::string_view account_sid;
    std::string_view from;
    std::string_view to;
    std::string_view status;  // Twilio spelling, for the message
    bool live = false;        // queued, ringing or in-progress
};

// Beyond the token's own claims (DESIGN.md "Twilio API details"): the parent it names must be
// `account_sid`'s, have the token's from and to, and still be live. calltoken_parent_mismatch or
// calltoken_parent_ended, the detail naming the defect. A parent the gateway never saw (a
// trusted foreign platform's) is not checked here: the caller skips this.
[[nodiscard]] result<void> check_calltoken_parent(const calltoken& token,
                                                  const known_parent_call& parent,
                                                  std::string_view account_sid);

// errc::calltoken_bad_signature unless one of `trusted_keys` verifies parentCallInfoToken.
[[nodiscard]] result<void> verify_calltoken_signature(
    const calltoken& token, std::span<const es256_public_key> trusted_keys);

// errc::calltoken_from_mismatch unless `request_from` and the token's `from` are the same TN
// (both canonicalised per RFC 8224 section 8).
[[nodiscard]] result<void> check_calltoken_from(const calltoken& token,
                                                std::string_view request_from);

// Incoming-webhook case: the token must describe the call of the request that carries it.
// errc::calltoken_call_mismatch when callSid differs or from/to are not the same TNs.
[[nodiscard]] result<void> check_calltoken_call(const calltoken& token, std::string_view call_sid,
                                                std::string_view from, std::string_view to);

// The whole DESIGN.md rule set, in this order:
//   calltoken_bad_signature    no trusted key verifies the JWT;
//   calltoken_missing_claim    accountSid or identityHeaderTokensSha256 absent;
//   calltoken_expired          now - iat > max_age_s, or iat more than future_skew_s ahead;
//   calltoken_account_mismatch accountSid != account_sid;
//   calltoken_hash_mismatch    identityHeaderTokensSha256 != hash of identityHeaderTokens (or a
//                              value holds a line break);
//   calltoken_from_mismatch    request From is not the token's from.
[[nodiscard]] result<void> validate_calltoken(const calltoken& token,
                                              std::span<const es256_public_key> trusted_keys,
                                              std::string_view account_sid,
                                              std::string_view request_from, std::int64_t now,
                                              std::int64_t max_age_s,
                                              std::int64_t future_skew_s = 5);

}  // namespace stirgate::core
