#include "core/calltoken.hpp"

#include <vector>

#include <catch2/catch.hpp>

#include "core/base64url.hpp"
#include "core/form.hpp"
#include "support/vectors.hpp"

using namespace stirgate;
using namespace stirgate::core;

// The Twilio-shaped vectors (spec/TEST-VECTORS.md section 5) all carry this parentCallInfoToken,
// signed with pki/platform-calltoken.key.pem:
//   header  {"alg":"ES256"}
//   payload {"callSid":"CAfedcba9876543210fedcba9876543210","from":"+13105550100",
//            "to":"+14155550101","iat":"1767225600"}
// They lack accountSid and identityHeaderTokensSha256, so they are decoded and signature-checked
// here; the binding rules are exercised with tokens minted by the gateway's own code.

namespace {

constexpr std::int64_t vector_iat = 1767225600;
constexpr std::int64_t max_age = 3600;
const std::string account = "AC0123456789abcdef0123456789abcdef";
const std::string shaken_identity =
    "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0cy"
    "5leGFtcGxlLnRlc3Qvc3RpL29yaWctc3AtMTIzNC5wZW0ifQ.eyJhdHRlc3QiOiJBIn0.sig;info=<https://"
    "certs.example.test/sti/orig-sp-1234.pem>;alg=ES256;ppt=\"shaken\"";
const std::string div_identity =
    "eyJhbGciOiJFUzI1NiIsInBwdCI6ImRpdiJ9.eyJkaXYiOnt9fQ.sig;info=<https://certs.example.test/"
    "sti/div-sp-5678.pem>;alg=ES256;ppt=\"div\"";

es256_public_key platform_public_key()
{
    auto k = es256_public_key::from_pem(test::read_vector("pki/platform-calltoken.pub.pem"));
    REQUIRE(k);
    return *k;
}

es256_private_key platform_private_key()
{
    auto k = es256_private_key::from_pem(test::read_vector("pki/platform-calltoken.key.pem"));
    REQUIRE(k);
    return *k;
}

calltoken_mint_params mint_params()
{
    return calltoken_mint_params{.call_sid = "CAfedcba9876543210fedcba9876543210",
                                 .from = "+13105550100",
                                 .to = "+14155550101",
                                 .account_sid = account,
                                 .kid = std::nullopt};
}

// A minted, decoded token over `identities`, iat = vector_iat.
calltoken minted(const std::vector<std::string>& identities,
                 const calltoken_mint_params& params = mint_params())
{
    const auto value = mint_calltoken(params, identities, platform_private_key(), vector_iat);
    REQUIRE(value);
    auto token = decode_calltoken(*value);
    REQUIRE(token);
    return std::move(*token);
}

// A CallToken value around a JWT signed over arbitrary header/payload JSON.
std::string value_with_payload(std::string_view payload_json,
                               std::string_view header_json = R"({"alg":"ES256"})")
{
    const auto jwt = sign_jws(header_json, payload_json, platform_private_key());
    REQUIRE(jwt);
    return encode_calltoken_value(*jwt, std::vector<std::string>{});
}

}  // namespace

TEST_CASE("every good CallToken vector decodes and verifies with the platform key",
          "[core][calltoken]")
{
    const char* name = GENERATE("calltoken/calltoken_basic.json",
                                "calltoken/calltoken_diverted.json",
                                "calltoken/calltoken_no_passport.json",
                                "calltoken/calltoken_pretty_printed.json");
    INFO(name);
    const auto v = test::load_vector_json(name);
    const auto& expect = v["expect"];
    const auto key = platform_public_key();

    const auto token = decode_calltoken(v["calltoken_value"].GetString());
    REQUIRE(token);
    CHECK(token->parent_call_info_token == v["parentCallInfoToken"]["jws"].GetString());
    CHECK(token->jws.payload_json == v["parentCallInfoToken"]["payload_json"].GetString());
    CHECK(token->claims.call_sid == expect["parent_call_sid"].GetString());
    CHECK(token->claims.from == expect["from"].GetString());
    CHECK(token->claims.to == expect["to"].GetString());
    CHECK(std::to_string(token->claims.iat) == expect["iat"].GetString());
    CHECK(token->identity_header_tokens.size() == expect["identity_header_count"].GetUint());
    CHECK_FALSE(token->kid);
    CHECK_FALSE(token->claims.account_sid);
    CHECK_FALSE(token->claims.identity_header_tokens_sha256);
    CHECK(verify_calltoken_signature(*token, std::span(&key, 1)));
    CHECK(check_calltoken_from(*token, "+13105550100"));
    CHECK(check_calltoken_call(*token, "CAfedcba9876543210fedcba9876543210", "+13105550100",
                               "tel:+1-415-555-0101"));

    SECTION("the JSON text decodes the same way")
    {
        const auto again = decode_calltoken_json(v["calltoken_json"].GetString());
        REQUIRE(again);
        CHECK(again->identity_header_tokens == token->identity_header_tokens);
        CHECK(again->claims.call_sid == token->claims.call_sid);
    }
    SECTION("the webhook body gives the same CallToken value after one form-decode")
    {
        const auto form = parse_form(v["webhook_form_body_fragment"].GetString());
        REQUIRE(form);
        CHECK(form->get("CallToken") == v["calltoken_value"].GetString());
    }
    SECTION("Twilio-shaped tokens lack the binding claims, so full validation refuses them")
    {
        CHECK(validate_calltoken(*token, std::span(&key, 1), account, "+13105550100",
                                 test::vectors_verify_at, max_age)
                  .code() == errc::calltoken_missing_claim);
    }
}

TEST_CASE("encoding a vector's JWT and Identity list reproduces its CallToken value",
          "[core][calltoken]")
{
    const char* name = GENERATE("calltoken/calltoken_basic.json",
                                "calltoken/calltoken_diverted.json",
                                "calltoken/calltoken_no_passport.json");
    INFO(name);
    const auto v = test::load_vector_json(name);
    const auto token = decode_calltoken(v["calltoken_value"].GetString());
    REQUIRE(token);
    CHECK(encode_calltoken_value(token->parent_call_info_token, token->identity_header_tokens) ==
          v["calltoken_value"].GetString());
}

// Found by fuzz/calltoken: RapidJSON 1.1 decodes a lone surrogate escape into bytes that are not
// UTF-8, so the re-encoded value no longer parsed. Such a token is refused as malformed.
TEST_CASE("a CallToken whose JSON holds an unpaired surrogate escape is malformed",
          "[core][calltoken]")
{
    const auto v = test::load_vector_json("calltoken/calltoken_basic.json");
    const auto good = decode_calltoken(v["calltoken_value"].GetString());
    REQUIRE(good);
    for (const std::string bad : {"\\uDCDE", "\\uD800", "x\\uDBFFy"}) {
        INFO(bad);
        const std::string json = "{\"parentCallInfoToken\":\"" + good->parent_call_info_token +
                                 "\",\"identityHeaderTokens\":[\"a" + bad + "b\"]}";
        const auto token = decode_calltoken(json);
        REQUIRE_FALSE(token);
        CHECK(token.code() == errc::calltoken_malformed);
    }
    // A paired escape is text like any other and survives the round trip.
    const std::string paired = "{\"parentCallInfoToken\":\"" + good->parent_call_info_token +
                               "\",\"identityHeaderTokens\":[\"\\uD83D\\uDE00\"]}";
    const auto token = decode_calltoken(paired);
    REQUIRE(token);
    CHECK(token->identity_header_tokens == std::vector<std::string>{"\xF0\x9F\x98\x80"});
    const auto again = decode_calltoken(
        encode_calltoken_value(token->parent_call_info_token, token->identity_header_tokens));
    REQUIRE(again);
    CHECK(again->identity_header_tokens == token->identity_header_tokens);
}

TEST_CASE("the vector Identity values keep Twilio's quoted ppt", "[core][calltoken]")
{
    const auto v = test::load_vector_json("calltoken/calltoken_diverted.json");
    const auto token = decode_calltoken(v["calltoken_value"].GetString());
    REQUIRE(token);
    REQUIRE(token->identity_header_tokens.size() == 2);
    CHECK(token->identity_header_tokens[0].ends_with(";alg=ES256;ppt=\"shaken\""));
    CHECK(token->identity_header_tokens[1].ends_with(";alg=ES256;ppt=\"div\""));
}

TEST_CASE("calltoken_invalid.json: each broken token is refused with its errc",
          "[core][calltoken]")
{
    const auto v = test::load_vector_json("calltoken/calltoken_invalid.json");
    const auto key = platform_public_key();

    SECTION("bad_signature")
    {
        const auto token = decode_calltoken(v["bad_signature"]["calltoken_value"].GetString());
        REQUIRE(token);
        CHECK(verify_calltoken_signature(*token, std::span(&key, 1)).code() ==
              errc::calltoken_bad_signature);
        CHECK(validate_calltoken(*token, std::span(&key, 1), account, "+13105550100",
                                 test::vectors_verify_at, max_age)
                  .code() == errc::calltoken_bad_signature);
    }
    SECTION("from_mismatch")
    {
        // payload {"callSid":"CAfedcba...","from":"+13105550199","to":"+14155550101",
        //          "iat":"1767225600"}, properly signed
        const auto& c = v["from_mismatch"];
        const auto token = decode_calltoken(c["calltoken_value"].GetString());
        REQUIRE(token);
        CHECK(token->claims.from == "+13105550199");
        CHECK(verify_calltoken_signature(*token, std::span(&key, 1)));
        CHECK(check_calltoken_from(*token, c["create_call_from"].GetString()).code() ==
              errc::calltoken_from_mismatch);
    }
    SECTION("not_json")
    {
        CHECK(decode_calltoken(v["not_json"]["calltoken_value"].GetString()).code() ==
              errc::calltoken_malformed);
    }
}

TEST_CASE("identityHeaderTokensSha256 hashes the values joined with LF", "[core][calltoken]")
{
    CHECK(identity_header_tokens_sha256(std::vector<std::string>{}) ==
          "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    CHECK(identity_header_tokens_sha256(std::vector<std::string>{"a", "b"}) ==
          "fhj3NzEbLcOy8mndeDlrA1HxT7Zu-oefdoyyMYGIPHg");
}

TEST_CASE("a minted CallToken keeps Twilio's shape and validates", "[core][calltoken]")
{
    const std::vector<std::string> identities{shaken_identity, div_identity};
    const auto token = minted(identities);
    const auto key = platform_public_key();

    // header {"alg":"ES256"}; payload: Twilio's four claims first, iat as a string
    CHECK(token.jws.header_json == R"({"alg":"ES256"})");
    CHECK(token.jws.payload_json ==
          R"({"callSid":"CAfedcba9876543210fedcba9876543210","from":"+13105550100",)"
          R"("to":"+14155550101","iat":"1767225600","accountSid":")" +
              account + R"(","identityHeaderTokensSha256":")" +
              identity_header_tokens_sha256(identities) + R"("})");
    CHECK(token.identity_header_tokens == identities);
    CHECK(token.claims.account_sid == account);
    CHECK(validate_calltoken(token, std::span(&key, 1), account, "+13105550100",
                             vector_iat + 5, max_age));
    CHECK(check_calltoken_call(token, "CAfedcba9876543210fedcba9876543210", "+13105550100",
                               "+14155550101"));
}

TEST_CASE("a minted CallToken survives the form layer of a webhook and a create-call request",
          "[core][calltoken]")
{
    const std::vector<std::string> identities{shaken_identity};
    const auto value = mint_calltoken(mint_params(), identities, platform_private_key(), vector_iat);
    REQUIRE(value);
    form_params out;
    out.add("CallToken", *value);
    const auto back = parse_form(format_form(out));
    REQUIRE(back);
    REQUIRE(back->get("CallToken") == *value);
    const auto token = decode_calltoken(*back->get("CallToken"));
    REQUIRE(token);
    const auto key = platform_public_key();
    CHECK(validate_calltoken(*token, std::span(&key, 1), account, "+13105550100", vector_iat,
                             max_age));
}

TEST_CASE("a kid in the mint parameters appears in the JWT header", "[core][calltoken]")
{
    auto params = mint_params();
    params.kid = "platform-2026";
    const auto token = minted({}, params);
    CHECK(token.jws.header_json == R"({"alg":"ES256","kid":"platform-2026"})");
    CHECK(token.kid == "platform-2026");
}

TEST_CASE("an empty identityHeaderTokens list is bound too", "[core][calltoken]")
{
    const auto token = minted({});
    const auto key = platform_public_key();
    CHECK(token.claims.identity_header_tokens_sha256 ==
          "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    CHECK(validate_calltoken(token, std::span(&key, 1), account, "+13105550100", vector_iat,
                             max_age));
    auto spliced = token;
    spliced.identity_header_tokens.push_back(shaken_identity);
    CHECK(validate_calltoken(spliced, std::span(&key, 1), account, "+13105550100", vector_iat,
                             max_age)
              .code() == errc::calltoken_hash_mismatch);
}

TEST_CASE("tampering with a minted CallToken is detected", "[core][calltoken]")
{
    const std::vector<std::string> identities{shaken_identity, div_identity};
    const auto token = minted(identities);
    const auto key = platform_public_key();
    const auto keys = std::span(&key, 1);
    const auto now = vector_iat + 60;

    SECTION("edited identityHeaderTokens")
    {
        auto edited = identities;
        edited[0].back() = '\'';
        const auto value = encode_calltoken_value(token.parent_call_info_token, edited);
        const auto t = decode_calltoken(value);
        REQUIRE(t);
        CHECK(validate_calltoken(*t, keys, account, "+13105550100", now, max_age).code() ==
              errc::calltoken_hash_mismatch);
    }
    SECTION("a DIV dropped, reordered or joined differently")
    {
        const std::vector<std::vector<std::string>> variants{
            {shaken_identity},
            {div_identity, shaken_identity},
            {shaken_identity + "\n" + div_identity},
            {shaken_identity, div_identity, div_identity}};
        for (const auto& ids : variants) {
            auto t = token;
            t.identity_header_tokens = ids;
            CHECK(validate_calltoken(t, keys, account, "+13105550100", now, max_age).code() ==
                  errc::calltoken_hash_mismatch);
        }
    }
    SECTION("another account")
    {
        CHECK(validate_calltoken(token, keys, "AC00000000000000000000000000000000", "+13105550100",
                                 now, max_age)
                  .code() == errc::calltoken_account_mismatch);
    }
    SECTION("stale")
    {
        CHECK(validate_calltoken(token, keys, account, "+13105550100", vector_iat + max_age,
                                 max_age));
        CHECK(validate_calltoken(token, keys, account, "+13105550100", vector_iat + max_age + 1,
                                 max_age)
                  .code() == errc::calltoken_expired);
    }
    SECTION("from the future beyond the skew")
    {
        CHECK(validate_calltoken(token, keys, account, "+13105550100", vector_iat - 5, max_age));
        CHECK(validate_calltoken(token, keys, account, "+13105550100", vector_iat - 6, max_age)
                  .code() == errc::calltoken_expired);
    }
    SECTION("signed by a key that is not trusted")
    {
        const auto other = es256_private_key::generate();
        REQUIRE(other);
        const std::vector<es256_public_key> untrusted{other->public_key()};
        CHECK(validate_calltoken(token, untrusted, account, "+13105550100", now, max_age).code() ==
              errc::calltoken_bad_signature);
        CHECK(validate_calltoken(token, {}, account, "+13105550100", now, max_age).code() ==
              errc::calltoken_bad_signature);
        // any trusted key may be the one (rotation)
        const std::vector<es256_public_key> rotated{other->public_key(), key};
        CHECK(validate_calltoken(token, rotated, account, "+13105550100", now, max_age));
    }
    SECTION("an edited claim breaks the signature")
    {
        auto t = token;
        const auto dot = t.jws.signing_input.find('.');
        const std::string forged_payload =
            R"({"callSid":"CAfedcba9876543210fedcba9876543210","from":"+13105550199",)"
            R"("to":"+14155550101","iat":"1767225600"})";
        t.jws.signing_input = t.jws.signing_input.substr(0, dot + 1) +
                              base64url_encode(forged_payload);
        CHECK(validate_calltoken(t, keys, account, "+13105550199", now, max_age).code() ==
              errc::calltoken_bad_signature);
    }
    SECTION("From differs from the token's caller")
    {
        CHECK(validate_calltoken(token, keys, account, "+13105550199", now, max_age).code() ==
              errc::calltoken_from_mismatch);
        CHECK(validate_calltoken(token, keys, account, "client:alice", now, max_age).code() ==
              errc::calltoken_from_mismatch);
        // the same number in another notation is the same caller
        CHECK(validate_calltoken(token, keys, account, "tel:+1-310-555-0100", now, max_age));
        CHECK(validate_calltoken(token, keys, account, "3105550100", now, max_age));
    }
    SECTION("a token that describes another call")
    {
        CHECK(check_calltoken_call(token, "CA00000000000000000000000000000000", "+13105550100",
                                   "+14155550101")
                  .code() == errc::calltoken_call_mismatch);
        CHECK(check_calltoken_call(token, "CAfedcba9876543210fedcba9876543210", "+13105550199",
                                   "+14155550101")
                  .code() == errc::calltoken_call_mismatch);
        CHECK(check_calltoken_call(token, "CAfedcba9876543210fedcba9876543210", "+13105550100",
                                   "+14155550199")
                  .code() == errc::calltoken_call_mismatch);
    }
}

TEST_CASE("tokens without a binding claim are refused with calltoken_missing_claim",
          "[core][calltoken]")
{
    const auto key = platform_public_key();
    const char* payload = GENERATE(
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":"1767225600",)"
        R"("identityHeaderTokensSha256":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"})",
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":"1767225600",)"
        R"("accountSid":"AC0123456789abcdef0123456789abcdef"})");
    const auto token = decode_calltoken(value_with_payload(payload));
    REQUIRE(token);
    CHECK(validate_calltoken(*token, std::span(&key, 1), account, "+13105550100", vector_iat,
                             max_age)
              .code() == errc::calltoken_missing_claim);
}

TEST_CASE("a line break inside an Identity value cannot fake two values", "[core][calltoken]")
{
    // [shaken + LF + div] would hash like [shaken, div]
    const std::vector<std::string> joined{shaken_identity + "\n" + div_identity};
    const auto token = minted({shaken_identity, div_identity});
    CHECK(decode_calltoken(encode_calltoken_value(token.parent_call_info_token, joined)).code() ==
          errc::calltoken_malformed);
    CHECK(mint_calltoken(mint_params(), joined, platform_private_key(), vector_iat).code() ==
          errc::invalid_parameter);
    const std::vector<std::string> cr{shaken_identity + "\r"};
    CHECK(mint_calltoken(mint_params(), cr, platform_private_key(), vector_iat).code() ==
          errc::invalid_parameter);
}

TEST_CASE("an integer iat is accepted alongside Twilio's string form", "[core][calltoken]")
{
    const auto token = decode_calltoken(value_with_payload(
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":1767225600})"));
    REQUIRE(token);
    CHECK(token->claims.iat == vector_iat);
}

TEST_CASE("CallTokens of the wrong shape are calltoken_malformed", "[core][calltoken]")
{
    const std::string good_jwt = [] {
        const auto jwt = sign_jws(R"({"alg":"ES256"})",
                                  R"({"callSid":"CA1","from":"+1","to":"+2","iat":"1"})",
                                  platform_private_key());
        REQUIRE(jwt);
        return *jwt;
    }();
    const std::vector<std::string> json_texts{
        "",
        "[]",
        "{}",
        "\"text\"",
        R"({"parentCallInfoToken":")" + good_jwt + R"("})",
        R"({"identityHeaderTokens":[]})",
        R"({"parentCallInfoToken":1,"identityHeaderTokens":[]})",
        R"({"parentCallInfoToken":")" + good_jwt + R"(","identityHeaderTokens":"x"})",
        R"({"parentCallInfoToken":")" + good_jwt + R"(","identityHeaderTokens":[1]})",
        R"({"parentCallInfoToken":"abc","identityHeaderTokens":[]})",
        R"({"parentCallInfoToken":"a.b.c","identityHeaderTokens":[]})",
        R"({"parentCallInfoToken":")" + good_jwt + R"(","identityHeaderTokens":[]} trailing)",
        R"({"parentCallInfoToken":")" + good_jwt + R"(","parentCallInfoToken":")" + good_jwt +
            R"(","identityHeaderTokens":[]})",
    };
    for (const auto& text : json_texts) {
        INFO(text);
        CHECK(decode_calltoken_json(text).code() == errc::calltoken_malformed);
        CHECK(decode_calltoken(encode_uri_component(text)).code() == errc::calltoken_malformed);
    }
    CHECK(decode_calltoken_json(R"({"parentCallInfoToken":")" + good_jwt +
                                R"(","identityHeaderTokens":[]})"));
}

TEST_CASE("JWT claims of the wrong shape are calltoken_malformed", "[core][calltoken]")
{
    const char* payload = GENERATE(
        R"({"from":"+13105550100","to":"+14155550101","iat":"1767225600"})",
        R"({"callSid":"CA1","to":"+14155550101","iat":"1767225600"})",
        R"({"callSid":"CA1","from":"+13105550100","iat":"1767225600"})",
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101"})",
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":"soon"})",
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":"-1"})",
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":""})",
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":1.5})",
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":"99999999999999"})",
        R"({"callSid":"CA1","from":13105550100,"to":"+14155550101","iat":"1767225600"})",
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":"1767225600",)"
        R"("accountSid":7})",
        R"([1,2])");
    INFO(payload);
    CHECK(decode_calltoken(value_with_payload(payload)).code() == errc::calltoken_malformed);
}

TEST_CASE("a JWT header other than ES256, or a non-string kid, is calltoken_malformed",
          "[core][calltoken]")
{
    const std::string payload =
        R"({"callSid":"CA1","from":"+13105550100","to":"+14155550101","iat":"1767225600"})";
    CHECK(decode_calltoken(value_with_payload(payload, R"({"alg":"ES256","kid":5})")).code() ==
          errc::calltoken_malformed);
    // alg none: hand-built, since sign_jws only makes ES256
    const std::string none_jwt =
        base64url_encode(std::string_view(R"({"alg":"none"})")) + "." +
        base64url_encode(payload) + ".";
    CHECK(decode_calltoken(encode_calltoken_value(none_jwt, std::vector<std::string>{})).code() ==
          errc::calltoken_malformed);
}
