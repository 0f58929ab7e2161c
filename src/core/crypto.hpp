#pragma once
// OpenSSL 3 EVP wrappers for what stirgate signs and checks: ES256 (ECDSA P-256 + SHA-256) with
// the raw 64-byte R||S signatures JWS uses, SHA-256, HMAC-SHA1 and constant-time comparison.
// Keys are parsed once and reused; a key object is cheap to copy (reference-counted) and safe to
// use from several threads at once. Each key keeps an operation context initialised once (the
// provider's ECDSA implementation and SHA-256 fetched when the key is made); a sign or verify
// duplicates it instead of fetching algorithms again (OpenSSL 3 fetches cost ~10 % of a sign).

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

typedef struct evp_pkey_st EVP_PKEY;  // NOLINT: OpenSSL's own forward declaration

namespace stirgate::core::detail {
struct es256_operation;  // a key's prepared sign or verify context (crypto.cpp)
}

namespace stirgate::core {

using es256_signature = std::array<std::uint8_t, 64>;  // R || S, each 32 bytes big-endian
using sha256_digest = std::array<std::uint8_t, 32>;

struct evp_pkey_deleter {
    void operator()(EVP_PKEY* k) const noexcept;
};

class es256_public_key {
public:
    es256_public_key() = default;  // empty: verify() fails with key_invalid
    // A PEM "PUBLIC KEY" (SPKI) or a PEM certificate (its subject key is used).
    // errc::key_invalid when the PEM does not parse or the key is not EC P-256.
    [[nodiscard]] static result<es256_public_key> from_pem(std::string_view pem);
    // Takes a reference to an existing EVP_PKEY (e.g. a certificate's key); checks P-256.
    [[nodiscard]] static result<es256_public_key> from_evp(EVP_PKEY* key);

    // errc::jws_signature_invalid when the signature does not verify over `data`;
    // errc::key_invalid for an empty key.
    [[nodiscard]] result<void> verify(std::string_view data, const es256_signature& sig) const;

    // PEM "PUBLIC KEY" text.
    std::string to_pem() const;
    EVP_PKEY* native() const noexcept { return key_.get(); }
    explicit operator bool() const noexcept { return key_ != nullptr; }

private:
    std::shared_ptr<EVP_PKEY> key_;
    std::shared_ptr<const detail::es256_operation> op_;  // verify context, made with key_
};

class es256_private_key {
public:
    es256_private_key() = default;
    // PEM "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY"; errc::key_invalid unless EC P-256.
    [[nodiscard]] static result<es256_private_key> from_pem(std::string_view pem);
    // Fresh P-256 key from OpenSSL's CSPRNG (used by `stirgate init` and tests).
    [[nodiscard]] static result<es256_private_key> generate();

    // ECDSA over SHA-256(data), converted from OpenSSL's DER to raw R||S.
    [[nodiscard]] result<es256_signature> sign(std::string_view data) const;

    es256_public_key public_key() const;
    std::string to_pem() const;  // PKCS#8 PEM
    EVP_PKEY* native() const noexcept { return key_.get(); }
    explicit operator bool() const noexcept { return key_ != nullptr; }

private:
    std::shared_ptr<EVP_PKEY> key_;
    std::shared_ptr<const detail::es256_operation> op_;  // sign context, made with key_
};

// DER ECDSA-Sig-Value <-> raw R||S. DER input that is not a valid P-256 signature, or that has
// trailing bytes, gives errc::jws_signature_malformed.
[[nodiscard]] result<es256_signature> der_to_raw_signature(std::span<const std::uint8_t> der);
[[nodiscard]] result<std::string> raw_to_der_signature(const es256_signature& raw);

sha256_digest sha256(std::string_view data);
std::string hex_lower(std::span<const std::uint8_t> bytes);
std::array<std::uint8_t, 20> hmac_sha1(std::string_view key, std::string_view message);

// Standard base64 with padding (RFC 4648 section 4), as X-Twilio-Signature and Basic auth use.
std::string base64_encode(std::span<const std::uint8_t> bytes);
std::string base64_encode(std::string_view bytes);
// Strict decode: rejects characters outside the alphabet and bad padding (errc::invalid_parameter).
[[nodiscard]] result<std::string> base64_decode(std::string_view text);

// Compares without an early exit, so timing does not reveal the matching prefix.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace stirgate::core
