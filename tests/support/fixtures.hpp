#pragma once
// Fixtures the tests share: the test account, the wall clock a gateway process runs on, request
// bodies and CallTokens built from the spec vectors, and PyJWT as an independent check of the
// PASSporTs the gateway produces.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"

namespace stirgate::test {

// The account most tests authenticate as.
inline constexpr const char* account_sid = "AC0123456789abcdef0123456789abcdef";
inline constexpr const char* account_token = "0123456789abcdef0123456789abcdef";
// The [edge] auth_token of forwarding_config(): the key of X-Twilio-Signature between the edge
// and the gateway.
inline constexpr const char* edge_secret = "edge-shared-secret";

// A key from the spec vectors (a path under tests/vectors); the test fails when it does not load.
core::es256_private_key vector_private_key(std::string_view relative);
core::es256_public_key vector_public_key(std::string_view relative);  // key or certificate PEM

// Seconds since the epoch, as a gateway process sees them (it runs on real time).
std::int64_t wall_now();

// "Basic base64(sid:token)".
std::string basic_auth(const std::string& sid, const std::string& token);

// The first Identity header of the G1 vector (cases/G1_shaken_A.json): SHAKEN, attestation A.
std::string g1_identity();

// A CallToken for the inbound call `call_sid` (+13105550100 to +14155550101) of `account`,
// carrying `identities`, issued at `iat` and signed with the vectors' key `key_file` (under pki/).
std::string mint_calltoken(const std::string& call_sid, const std::string& account,
                           const std::vector<std::string>& identities, std::int64_t iat,
                           const std::string& key_file = "platform-calltoken.key.pem");

// An ATIS verificationRequest body (from a TN to one TN, at `time`).
std::string verification_body(const std::string& from, const std::string& to, std::int64_t time,
                              const std::vector<std::string>& identities,
                              const std::string& request_uri = "");

// The TOML of a gateway that forwards calls for account_sid to the edge on 127.0.0.1:edge_port
// (drain_timeout_ms 3000, the vectors' DIV signer and CallToken keys, edge_secret; verified caller
// ID +12125550123), storing in `storage_url`; a test appends numbers or accounts.
std::string forwarding_config(std::uint16_t edge_port, const std::string& storage_url);

// A raw Calls API create (forward) for account_sid with a fresh CallToken of the G1 vector's
// inbound call, To +16505550102 From +13105550100.
std::string forward_request();

// The "sid" of a JSON body, "" if there is none.
std::string sid_of(const std::string& body);

// GET of one call of account_sid on 127.0.0.1:port: true when it answers 200 with that sid.
bool call_fetchable(std::uint16_t port, const std::string& sid);

// PyJWT (python3-jwt) checks a compact ES256 JWS with a PEM public key file: shares no code with
// the gateway. False for a refused token, and when python3 or PyJWT is missing.
bool pyjwt_verifies(const std::string& jws, const std::string& public_key_file);

}  // namespace stirgate::test
