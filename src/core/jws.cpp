#include "core/jws.hpp"

#include <algorithm>

#include "core/base64url.hpp"
#include "core/json.hpp"

namespace stirgate::core {
namespace {

error malformed(std::string what, const error& cause)
{
    return error{errc::jws_malformed, std::move(what) + ": " + cause.detail};
}

}  // namespace

result<decoded_jws> decode_jws(std::string_view compact)
{
    // RFC 7515 section 7.1: exactly three segments separated by two dots.
    if (std::count(compact.begin(), compact.end(), '.') != 2)
        return error{errc::jws_malformed, "not three dot-separated segments"};
    const auto dot1 = compact.find('.');
    const auto dot2 = compact.find('.', dot1 + 1);
    const auto header_b64 = compact.substr(0, dot1);
    const auto payload_b64 = compact.substr(dot1 + 1, dot2 - dot1 - 1);
    const auto signature_b64 = compact.substr(dot2 + 1);
    if (header_b64.empty() || payload_b64.empty())
        return error{errc::jws_malformed, "empty header or payload segment (compact form?)"};

    decoded_jws out;
    auto header = base64url_decode(header_b64);
    if (!header) return malformed("header segment", header.err());
    out.header_json = std::move(header).value();
    auto header_doc = parse_json_object(out.header_json);
    if (!header_doc) return malformed("header", header_doc.err());

    // RFC 7518 section 3.4 / RFC 8225 section 8: ES256 only. "none" and every other alg are
    // refused here, before a signature is even looked at, so no caller can be downgraded.
    const auto alg = get_string(*header_doc, "alg", errc::jws_alg_unsupported);
    if (!alg) return alg.err();
    if (*alg != "ES256")
        return error{errc::jws_alg_unsupported, "alg \"" + std::string(*alg) + "\" is not ES256"};

    auto payload = base64url_decode(payload_b64);
    if (!payload) return malformed("payload segment", payload.err());
    out.payload_json = std::move(payload).value();
    if (auto doc = parse_json_object(out.payload_json); !doc) return malformed("payload", doc.err());

    auto signature = base64url_decode(signature_b64);
    if (!signature) return malformed("signature segment", signature.err());
    // RFC 7518 section 3.4: the JWS signature is raw R||S, exactly 64 bytes. A DER signature
    // (70-72 bytes) is a common signer bug and must fail rather than be "helpfully" converted.
    if (signature->size() != out.signature.size())
        return error{errc::jws_signature_malformed,
                     "signature is " + std::to_string(signature->size()) + " bytes, not 64"};
    std::copy(signature->begin(), signature->end(), reinterpret_cast<char*>(out.signature.data()));

    // The signature covers the segments as transmitted (vector G5), never a re-encoding.
    out.signing_input = std::string(compact.substr(0, dot2));
    return out;
}

result<void> verify_jws(const decoded_jws& jws, const es256_public_key& key)
{
    return key.verify(jws.signing_input, jws.signature);
}

result<std::string> sign_jws(std::string_view header_json, std::string_view payload_json,
                             const es256_private_key& key)
{
    std::string token = base64url_encode(header_json);
    token += '.';
    token += base64url_encode(payload_json);
    auto signature = key.sign(token);
    if (!signature) return std::move(signature).err();
    token += '.';
    token += base64url_encode(std::span<const std::uint8_t>(signature->data(), signature->size()));
    return token;
}

}  // namespace stirgate::core
