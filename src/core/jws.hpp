#pragma once
// JWS compact serialization with ES256 only (RFC 7515, RFC 7518 section 3.4).
// Verification always runs over the bytes received (never a re-serialisation).

#include <string>
#include <string_view>

#include "core/crypto.hpp"
#include "core/error.hpp"

namespace stirgate::core {

// A compact JWS split and decoded. Owns its bytes, so it outlives the input string.
struct decoded_jws {
    std::string signing_input;  // "<header_b64>.<payload_b64>", exactly as received
    std::string header_json;    // decoded header bytes
    std::string payload_json;   // decoded payload bytes
    es256_signature signature{};
};

// Splits "h.p.s", decodes each segment with strict base64url, requires the header to be a JSON
// object with "alg":"ES256" and the signature to be 64 raw bytes.
// errc: jws_malformed (segments, base64url, JSON), jws_alg_unsupported (alg absent/other/none),
//       jws_signature_malformed (not 64 bytes, e.g. DER).
[[nodiscard]] result<decoded_jws> decode_jws(std::string_view compact);

// Verifies the signature of a decoded JWS. errc::jws_signature_invalid on mismatch.
[[nodiscard]] result<void> verify_jws(const decoded_jws& jws, const es256_public_key& key);

// Builds "b64(header).b64(payload).b64(sig)" from the exact JSON bytes given.
[[nodiscard]] result<std::string> sign_jws(std::string_view header_json,
                                           std::string_view payload_json,
                                           const es256_private_key& key);

}  // namespace stirgate::core
