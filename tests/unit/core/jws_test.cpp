#include "core/jws.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "core/base64url.hpp"
#include "support/vectors.hpp"

using stirgate::errc;
using namespace stirgate::core;
using stirgate::test::load_vector_json;
using stirgate::test::read_vector;

namespace {

// The JWS of the first Identity header of a case file: everything before the first ';'.
std::string case_jws(std::string_view file, unsigned index = 0)
{
    const auto doc = load_vector_json(std::string("cases/") + std::string(file));
    const std::string value = doc["identity_headers"][index].GetString();
    return value.substr(0, value.find(';'));
}

es256_public_key orig_key()
{
    auto k = es256_public_key::from_pem(read_vector("pki/orig-sp-1234.cert.pem"));
    REQUIRE(k);
    return *k;
}

}  // namespace

TEST_CASE("G1's JWS decodes to the vector's header, payload and signature and verifies", "[core]")
{
    // header  {"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://certs.example.test/sti/orig-sp-1234.pem"}
    // payload {"attest":"A","dest":{"tn":["14155550101"]},"iat":1767225600,"orig":{"tn":"13105550100"},
    //          "origid":"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55"}
    const auto doc = load_vector_json("cases/G1_shaken_A.json");
    const auto& p = doc["passports"][0];
    auto jws = decode_jws(case_jws("G1_shaken_A.json"));
    REQUIRE(jws);
    CHECK(jws->header_json == p["header_json"].GetString());
    CHECK(jws->payload_json == p["payload_json"].GetString());
    CHECK(jws->signing_input == p["signing_input"].GetString());
    CHECK(hex_lower(jws->signature) == p["signature_hex"].GetString());
    CHECK(verify_jws(*jws, orig_key()));
}

TEST_CASE("G5's JWS with unsorted keys and whitespace verifies over the received bytes", "[core]")
{
    // header  {"typ":"passport","alg":"ES256","ppt":"shaken","x5u":"..."}
    // payload { "orig":{"tn":"13105550100"}, "dest":{"tn":["14155550101"]}, "iat":1767225600, ... }
    auto jws = decode_jws(case_jws("G5_noncanonical_json_valid_sig.json"));
    REQUIRE(jws);
    CHECK(jws->header_json.find("{\"typ\"") == 0);
    CHECK(jws->payload_json.find("{ \"orig\"") == 0);
    CHECK(verify_jws(*jws, orig_key()));
}

TEST_CASE("G4's DIV JWS verifies with the diverting SP's key only", "[core]")
{
    auto jws = decode_jws(case_jws("G4_shaken_plus_div.json", 1));
    REQUIRE(jws);
    auto div_key = es256_public_key::from_pem(read_vector("pki/div-sp-5678.cert.pem"));
    REQUIRE(div_key);
    CHECK(verify_jws(*jws, *div_key));
    CHECK(verify_jws(*jws, orig_key()).code() == errc::jws_signature_invalid);
}

TEST_CASE("B1's flipped signature byte yields jws_signature_invalid", "[core]")
{
    auto jws = decode_jws(case_jws("B1_bad_signature.json"));
    REQUIRE(jws);
    CHECK(verify_jws(*jws, orig_key()).code() == errc::jws_signature_invalid);
}

TEST_CASE("B13's alg none yields jws_alg_unsupported", "[core]")
{
    // header {"alg":"none","ppt":"shaken","typ":"passport","x5u":"..."}, empty signature
    CHECK(decode_jws(case_jws("B13_alg_none.json")).code() == errc::jws_alg_unsupported);
}

TEST_CASE("B15's DER signature yields jws_signature_malformed", "[core]")
{
    auto r = decode_jws(case_jws("B15_der_signature.json"));
    REQUIRE_FALSE(r);
    CHECK(r.code() == errc::jws_signature_malformed);
    CHECK(r.err().detail.find("70") != std::string::npos);
}

TEST_CASE("B6's '*' in the payload segment yields jws_malformed naming base64url", "[core]")
{
    auto r = decode_jws(case_jws("B6_malformed_base64.json"));
    REQUIRE_FALSE(r);
    CHECK(r.code() == errc::jws_malformed);
    CHECK(r.err().detail.find("payload") != std::string::npos);
}

TEST_CASE("other alg values are refused before the signature is looked at", "[core]")
{
    const std::string header = GENERATE(as<std::string>{}, R"({"alg":"none"})", R"({"alg":"HS256"})",
                                        R"({"alg":"RS256"})", R"({"alg":"es256"})",
                                        R"({"alg":"ES384"})", R"({"typ":"passport"})",
                                        R"({"alg":null})", R"({"alg":["ES256"]})");
    const auto token = base64url_encode(header) + "." + base64url_encode("{}") + ".";
    CHECK(decode_jws(token).code() == errc::jws_alg_unsupported);
}

TEST_CASE("structurally broken compact JWS values are jws_malformed", "[core]")
{
    const std::string sig = base64url_encode(std::string(64, 'x'));
    const std::string h = base64url_encode(R"({"alg":"ES256"})");
    const std::string p = base64url_encode(R"({"iat":1})");
    const std::string bad = GENERATE_COPY(
        std::string(), std::string("."), std::string(".."), h + "." + p,  // two segments
        h + "." + p + "." + sig + ".",                                     // four segments
        ".." + sig,                                                        // compact form
        "." + p + "." + sig, h + ".." + sig,                               // empty segment
        h + "=." + p + "." + sig,                                          // padding
        h + "." + p + "." + sig + "=",                                     // padding in signature
        h + "." + p + " ." + sig,                                          // whitespace
        base64url_encode("not json") + "." + p + "." + sig,                // header not JSON
        base64url_encode("[1]") + "." + p + "." + sig,                     // header not an object
        h + "." + base64url_encode("[]") + "." + sig,                      // payload not an object
        h + "." + base64url_encode(R"({"a":1,"a":2})") + "." + sig,        // duplicate names
        base64url_encode(R"({"alg":"ES256","alg":"none"})") + "." + p + "." + sig,
        h + "." + base64url_encode("{\"a\":\"\xff\"}") + "." + sig);       // invalid UTF-8
    CHECK(decode_jws(bad).code() == errc::jws_malformed);
}

TEST_CASE("signatures that are not 64 bytes are jws_signature_malformed", "[core]")
{
    const std::string h = base64url_encode(R"({"alg":"ES256"})");
    const std::string p = base64url_encode(R"({"iat":1})");
    const std::size_t n = GENERATE(0u, 1u, 32u, 63u, 65u, 70u, 72u, 128u);
    const auto token = h + "." + p + "." + base64url_encode(std::string(n, 'x'));
    CHECK(decode_jws(token).code() == errc::jws_signature_malformed);
}

TEST_CASE("sign_jws output decodes and verifies, and tampering is detected", "[core]")
{
    auto key = es256_private_key::generate();
    REQUIRE(key);
    const std::string header = R"({"alg":"ES256","typ":"passport"})";
    const std::string payload = R"({"iat":1767225600,"x":"a/b"})";
    auto token = sign_jws(header, payload, *key);
    REQUIRE(token);
    auto jws = decode_jws(*token);
    REQUIRE(jws);
    CHECK(jws->header_json == header);
    CHECK(jws->payload_json == payload);
    CHECK(verify_jws(*jws, key->public_key()));

    SECTION("a payload swapped in from another token fails")
    {
        auto other = sign_jws(header, R"({"iat":1767225601,"x":"a/b"})", *key);
        REQUIRE(other);
        const auto spliced = token->substr(0, token->find('.')) +
                             other->substr(other->find('.'), other->rfind('.') - other->find('.')) +
                             token->substr(token->rfind('.'));
        auto d = decode_jws(spliced);
        REQUIRE(d);
        CHECK(verify_jws(*d, key->public_key()).code() == errc::jws_signature_invalid);
    }
    SECTION("another key does not verify it")
    {
        auto other = es256_private_key::generate();
        REQUIRE(other);
        CHECK(verify_jws(*jws, other->public_key()).code() == errc::jws_signature_invalid);
    }
}
