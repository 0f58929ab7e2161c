#pragma once
// X-Twilio-Signature (spec/TWILIO-API.md section 8): HMAC-SHA1 keyed with the auth token over
// the URL plus, for form POSTs, the sorted form fields; standard base64 with padding.
// One implementation serves both directions: the gateway checks what the SIP edge sends and
// signs what it posts to applications.

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/form.hpp"

namespace stirgate::core {

// The string Twilio signs: `url` exactly as requested, then for a form POST every field as
// name + value with no separators, sorted by name in byte order and, for a repeated name, by
// value (twilio-python's RequestValidator). GET and JSON requests pass no params.
std::string twilio_string_to_sign(std::string_view url, const form_params& post_params = {});

// base64(HMAC-SHA1(auth_token, twilio_string_to_sign(url, post_params))), 28 characters.
std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& post_params = {});

// Checks the X-Twilio-Signature value of a form POST (or, with no params, a GET) against `url`
// as given and against its twin with/without the scheme's default port (:443 / :80), because
// Twilio's signers disagree about it. Comparison is constant-time.
// errc::signature_missing when `signature` is empty; errc::signature_invalid otherwise.
[[nodiscard]] result<void> check_twilio_signature(std::string_view auth_token,
                                                  std::string_view url,
                                                  const form_params& post_params,
                                                  std::string_view signature);

// JSON bodies: the signer adds bodySHA256=<lowercase hex SHA-256 of the body> to the URL query and
// signs the URL alone. Both the signature (as above) and the body hash must match.
// errc::signature_missing, errc::signature_invalid (bad signature, or a bodySHA256 parameter
// that is absent or differs from the body's hash).
[[nodiscard]] result<void> check_twilio_signature_json(std::string_view auth_token,
                                                       std::string_view url,
                                                       std::string_view body,
                                                       std::string_view signature);

// `url` with bodySHA256=<hex sha256(body)> appended to its query: the URL to request and sign
// when posting a JSON body (then twilio_signature(token, that_url)).
std::string url_with_body_sha256(std::string_view url, std::string_view body);

}  // namespace stirgate::core
