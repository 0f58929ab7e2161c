// CallToken values as a customer's Calls API request or an upstream webhook carries them
// (percent-encoded JSON around an ES256 JWT): decode, then every check the gateway runs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "fuzz_support.hpp"

using namespace stirgate;

namespace {

const std::vector<core::es256_public_key>& trusted()
{
    static const std::vector<core::es256_public_key> keys = [] {
        auto k = core::es256_public_key::from_pem(
            fuzz::read_vector("pki/platform-calltoken.pub.pem"));
        FUZZ_CHECK(k);
        return std::vector<core::es256_public_key>{*k};
    }();
    return keys;
}

constexpr std::int64_t now = 1767225605;  // the vectors' verify_at

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto token = core::decode_calltoken(input);
    if (!token) {
        FUZZ_CHECK(token.err().code == errc::calltoken_malformed);
        return 0;
    }
    for (const auto& v : token->identity_header_tokens)
        FUZZ_CHECK(v.find_first_of("\r\n") == std::string::npos);

    (void)core::verify_calltoken_signature(*token, trusted());
    (void)core::check_calltoken_from(*token, "+13105550100");
    (void)core::check_calltoken_call(*token, "CAfedcba9876543210fedcba9876543210",
                                     "+13105550100", "+14155550101");
    (void)core::validate_calltoken(*token, trusted(), "AC0123456789abcdef0123456789abcdef",
                                   token->claims.from, now, 3600);
    (void)core::identity_header_tokens_sha256(token->identity_header_tokens);

    // Re-encoding what was decoded gives a value that decodes to the same token.
    const std::string value = core::encode_calltoken_value(token->parent_call_info_token,
                                                           token->identity_header_tokens);
    auto again = core::decode_calltoken(value);
    FUZZ_CHECK(again);
    FUZZ_CHECK(again->parent_call_info_token == token->parent_call_info_token);
    FUZZ_CHECK(again->identity_header_tokens == token->identity_header_tokens);
    FUZZ_CHECK(again->claims.call_sid == token->claims.call_sid);
    FUZZ_CHECK(again->claims.from == token->claims.from && again->claims.to == token->claims.to);
    FUZZ_CHECK(again->claims.iat == token->claims.iat);
    return 0;
}
