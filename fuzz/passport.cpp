// Compact JWS / PASSporT tokens (RFC 7515, RFC 8225, RFC 8588, RFC 8946) straight off the wire:
// decode_jws and decode_passport refuse with an error, and what decodes re-encodes.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "core/base64url.hpp"
#include "core/crypto.hpp"
#include "core/jws.hpp"
#include "core/passport.hpp"
#include "fuzz_support.hpp"

using namespace stirgate;

namespace {

const core::es256_public_key& vector_key()
{
    static const core::es256_public_key key = [] {
        auto k = core::es256_public_key::from_pem(fuzz::read_vector("pki/orig-sp-1234.pub.pem"));
        FUZZ_CHECK(k);
        return *k;
    }();
    return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    // A DER ECDSA signature (what B15 carries) converts to raw and back, or is refused.
    if (auto raw = core::der_to_raw_signature({data, size})) {
        auto der = core::raw_to_der_signature(*raw);
        FUZZ_CHECK(der);
        auto raw2 = core::der_to_raw_signature(
            {reinterpret_cast<const std::uint8_t*>(der->data()), der->size()});
        FUZZ_CHECK(raw2 && *raw2 == *raw);
    }

    auto jws = core::decode_jws(input);
    if (!jws) {
        const errc c = jws.err().code;
        FUZZ_CHECK(c == errc::jws_malformed || c == errc::jws_alg_unsupported ||
                   c == errc::jws_signature_malformed);
        return 0;
    }
    // The signing input is the received bytes up to the second '.'.
    FUZZ_CHECK(input.substr(0, jws->signing_input.size()) == jws->signing_input);
    FUZZ_CHECK(input.size() > jws->signing_input.size() && input[jws->signing_input.size()] == '.');
    (void)core::verify_jws(*jws, vector_key());

    auto p = core::decode_passport(input);
    if (!p) return 0;
    FUZZ_CHECK(p->jws.signing_input == jws->signing_input);
    FUZZ_CHECK(p->claims.iat >= 0);
    FUZZ_CHECK(!p->header.x5u.empty());
    (void)core::verify_passport(*p, vector_key());

    // Claims the strict decoder accepted are claims the canonical encoder can write...
    auto claims = core::encode_passport_claims(p->header.ppt, p->claims);
    FUZZ_CHECK(claims);
    const std::string header = core::encode_passport_header(p->header);
    // ...and that decode to the same PASSporT (dest arrays come back sorted).
    const std::string compact = core::base64url_encode(header) + "." +
                                core::base64url_encode(*claims) + "." +
                                core::base64url_encode(std::span<const std::uint8_t>(
                                    p->jws.signature.data(), p->jws.signature.size()));
    auto again = core::decode_passport(compact);
    FUZZ_CHECK(again);
    FUZZ_CHECK(again->header.ppt == p->header.ppt && again->header.x5u == p->header.x5u);
    const auto& a = p->claims;
    const auto& b = again->claims;
    FUZZ_CHECK(a.iat == b.iat && a.orig == b.orig);
    if (p->header.ppt == core::passport_type::shaken)
        FUZZ_CHECK(a.attest == b.attest && a.origid == b.origid);
    else
        FUZZ_CHECK(a.div == b.div && a.div_hi == b.div_hi);
    auto sorted = [](std::vector<std::string> v) {
        std::sort(v.begin(), v.end());
        return v;
    };
    FUZZ_CHECK(sorted(a.dest.tn) == b.dest.tn && sorted(a.dest.uri) == b.dest.uri);
    return 0;
}
