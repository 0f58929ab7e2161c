#include "core/passport.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "core/base64url.hpp"
#include "core/json.hpp"
#include "support/vectors.hpp"

using stirgate::errc;
using namespace stirgate::core;
using stirgate::test::load_vector_json;
using stirgate::test::read_vector;

namespace {

const std::string orig_x5u = "https://certs.example.test/sti/orig-sp-1234.pem";
const std::string div_x5u = "https://certs.example.test/sti/div-sp-5678.pem";
const std::string origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";

std::string case_jws(std::string_view file, unsigned index = 0)
{
    const auto doc = load_vector_json(std::string("cases/") + std::string(file));
    const std::string value = doc["identity_headers"][index].GetString();
    return value.substr(0, value.find(';'));
}

std::string case_passport_field(std::string_view file, const char* field, unsigned index = 0)
{
    const auto doc = load_vector_json(std::string("cases/") + std::string(file));
    return doc["passports"][index][field].GetString();
}

es256_public_key cert_key(std::string_view stem)
{
    auto k = es256_public_key::from_pem(read_vector("pki/" + std::string(stem) + ".cert.pem"));
    REQUIRE(k);
    return *k;
}

es256_private_key private_key(std::string_view stem)
{
    auto k = es256_private_key::from_pem(read_vector("pki/" + std::string(stem) + ".key.pem"));
    REQUIRE(k);
    return *k;
}

// An unsigned token for decoder tests (decoding never checks the signature).
std::string token(std::string_view header, std::string_view payload)
{
    return base64url_encode(header) + "." + base64url_encode(payload) + "." +
           base64url_encode(std::string(64, '\x01'));
}

constexpr std::string_view shaken_header =
    R"({"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://certs.example.test/sti/orig-sp-1234.pem"})";
constexpr std::string_view div_header =
    R"({"alg":"ES256","ppt":"div","typ":"passport","x5u":"https://certs.example.test/sti/div-sp-5678.pem"})";

passport_claims g1_claims()
{
    passport_claims c;
    c.iat = 1767225600;
    c.orig = passport_identity::tn("13105550100");
    c.dest.tn = {"14155550101"};
    c.attest = attestation::A;
    c.origid = origid;
    return c;
}

passport_claims g4_div_claims()
{
    passport_claims c;
    c.iat = 1767225600;
    c.orig = passport_identity::tn("13105550100");
    c.dest.tn = {"16505550102"};
    c.div = passport_identity::tn("14155550101");
    return c;
}

}  // namespace

TEST_CASE("G1's SHAKEN PASSporT decodes into the model and verifies with orig-sp-1234", "[core]")
{
    // header  {"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://certs.example.test/sti/orig-sp-1234.pem"}
    // payload {"attest":"A","dest":{"tn":["14155550101"]},"iat":1767225600,"orig":{"tn":"13105550100"},
    //          "origid":"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55"}
    auto p = decode_passport(case_jws("G1_shaken_A.json"));
    REQUIRE(p);
    CHECK(p->header.ppt == passport_type::shaken);
    CHECK(p->header.x5u == orig_x5u);
    CHECK(p->claims.iat == 1767225600);
    CHECK(p->claims.orig == passport_identity::tn("13105550100"));
    CHECK(p->claims.dest.tn == std::vector<std::string>{"14155550101"});
    CHECK(p->claims.dest.uri.empty());
    REQUIRE(p->claims.attest);
    CHECK(*p->claims.attest == attestation::A);
    CHECK(p->claims.origid == origid);
    CHECK_FALSE(p->claims.div);
    CHECK(verify_passport(*p, cert_key("orig-sp-1234")));
    CHECK(verify_passport(*p, cert_key("div-sp-5678")).code() == errc::jws_signature_invalid);
}

TEST_CASE("the G1 header and payload JSON are reproduced byte for byte from the model", "[core]")
{
    CHECK(encode_passport_header({passport_type::shaken, orig_x5u}) ==
          case_passport_field("G1_shaken_A.json", "header_json"));
    auto payload = encode_passport_claims(passport_type::shaken, g1_claims());
    REQUIRE(payload);
    CHECK(*payload == case_passport_field("G1_shaken_A.json", "payload_json"));
    CHECK(*payload ==
          R"({"attest":"A","dest":{"tn":["14155550101"]},"iat":1767225600,"orig":{"tn":"13105550100"},"origid":"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55"})");
}

TEST_CASE("the G4 DIV PASSporT decodes and re-encodes to the vector's canonical JSON", "[core]")
{
    // header  {"alg":"ES256","ppt":"div","typ":"passport","x5u":"https://certs.example.test/sti/div-sp-5678.pem"}
    // payload {"dest":{"tn":["16505550102"]},"div":{"tn":"14155550101"},"iat":1767225600,"orig":{"tn":"13105550100"}}
    auto p = decode_passport(case_jws("G4_shaken_plus_div.json", 1));
    REQUIRE(p);
    CHECK(p->header.ppt == passport_type::div);
    CHECK(p->header.x5u == div_x5u);
    REQUIRE(p->claims.div);
    CHECK(*p->claims.div == passport_identity::tn("14155550101"));
    CHECK_FALSE(p->claims.div_hi);
    CHECK_FALSE(p->claims.attest);
    CHECK(verify_passport(*p, cert_key("div-sp-5678")));

    CHECK(encode_passport_header(p->header) == case_passport_field("G4_shaken_plus_div.json", "header_json", 1));
    auto payload = encode_passport_claims(passport_type::div, g4_div_claims());
    REQUIRE(payload);
    CHECK(*payload == case_passport_field("G4_shaken_plus_div.json", "payload_json", 1));
    CHECK(*payload ==
          R"({"dest":{"tn":["16505550102"]},"div":{"tn":"14155550101"},"iat":1767225600,"orig":{"tn":"13105550100"}})");
}

TEST_CASE("G5's non-canonical PASSporT verifies over the received bytes and re-encodes canonically",
          "[core]")
{
    // payload as sent: { "orig":{"tn":"13105550100"}, "dest":{"tn":["14155550101"]}, "iat":1767225600,
    //                    "attest":"A", "origid":"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55" }
    auto p = decode_passport(case_jws("G5_noncanonical_json_valid_sig.json"));
    REQUIRE(p);
    CHECK(verify_passport(*p, cert_key("orig-sp-1234")));
    auto canonical = encode_passport_claims(p->header.ppt, p->claims);
    REQUIRE(canonical);
    CHECK(*canonical == case_passport_field("G1_shaken_A.json", "payload_json"));
    CHECK(*canonical != p->jws.payload_json);
}

TEST_CASE("broken vectors fail at the PASSporT layer with the expected errc", "[core]")
{
    SECTION("B14: iat as a string is passport_claims_invalid")
    {
        auto p = decode_passport(case_jws("B14_iat_string.json"));
        REQUIRE_FALSE(p);
        CHECK(p.code() == errc::passport_claims_invalid);
        CHECK(p.err().detail.find("iat") != std::string::npos);
    }
    SECTION("B13: alg none is jws_alg_unsupported")
    {
        CHECK(decode_passport(case_jws("B13_alg_none.json")).code() == errc::jws_alg_unsupported);
    }
    SECTION("B15: a DER signature is jws_signature_malformed")
    {
        CHECK(decode_passport(case_jws("B15_der_signature.json")).code() ==
              errc::jws_signature_malformed);
    }
    SECTION("B6: a '*' in the payload is jws_malformed")
    {
        CHECK(decode_passport(case_jws("B6_malformed_base64.json")).code() == errc::jws_malformed);
    }
    SECTION("B1: a flipped signature byte decodes but does not verify")
    {
        auto p = decode_passport(case_jws("B1_bad_signature.json"));
        REQUIRE(p);
        CHECK(verify_passport(*p, cert_key("orig-sp-1234")).code() == errc::jws_signature_invalid);
    }
    SECTION("B4: ppt rph is identity_ppt_unsupported, so the header is ignored")
    {
        CHECK(decode_passport(case_jws("B4_unsupported_ppt.json")).code() ==
              errc::identity_ppt_unsupported);
    }
    SECTION("B18: a compact-form DIV is not a full-form PASSporT")
    {
        CHECK(decode_passport(case_jws("B18_div_compact_form.json", 1)).code() == errc::jws_malformed);
    }
}

TEST_CASE("SHAKEN claims of the wrong shape are passport_claims_invalid naming the claim", "[core]")
{
    const auto [payload, claim] = GENERATE(table<std::string, std::string>({
        {R"({"attest":"A","dest":{"tn":["14155550101"]},"iat":"1767225600","orig":{"tn":"13105550100"},"origid":"x"})", "iat"},
        {R"({"attest":"A","dest":{"tn":["14155550101"]},"iat":1767225600.0,"orig":{"tn":"13105550100"},"origid":"x"})", "iat"},
        {R"({"attest":"A","dest":{"tn":["14155550101"]},"iat":1.7e9,"orig":{"tn":"13105550100"},"origid":"x"})", "iat"},
        {R"({"attest":"A","dest":{"tn":["14155550101"]},"iat":-1,"orig":{"tn":"13105550100"},"origid":"x"})", "iat"},
        {R"({"attest":"A","dest":{"tn":["14155550101"]},"orig":{"tn":"13105550100"},"origid":"x"})", "iat"},
        {R"({"attest":"A","dest":{"tn":"14155550101"},"iat":1,"orig":{"tn":"13105550100"},"origid":"x"})", "dest.tn"},
        {R"({"attest":"A","dest":{"tn":[14155550101]},"iat":1,"orig":{"tn":"13105550100"},"origid":"x"})", "dest.tn"},
        {R"({"attest":"A","dest":{"tn":[]},"iat":1,"orig":{"tn":"13105550100"},"origid":"x"})", "dest"},
        {R"({"attest":"A","dest":{},"iat":1,"orig":{"tn":"13105550100"},"origid":"x"})", "dest"},
        {R"({"attest":"A","dest":["14155550101"],"iat":1,"orig":{"tn":"13105550100"},"origid":"x"})", "dest"},
        {R"({"attest":"A","iat":1,"orig":{"tn":"13105550100"},"origid":"x"})", "dest"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":["13105550100"]},"origid":"x"})", "orig.tn"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":13105550100},"origid":"x"})", "orig.tn"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1","uri":"sip:a@b"},"origid":"x"})", "orig"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{},"origid":"x"})", "orig"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":"13105550100","origid":"x"})", "orig"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"origid":"x"})", "orig"},
        {R"({"attest":"D","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"x"})", "attest"},
        {R"({"attest":"a","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"x"})", "attest"},
        {R"({"attest":["A"],"dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"x"})", "attest"},
        {R"({"dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"x"})", "attest"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":""})", "origid"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":7})", "origid"},
        {R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"}})", "origid"},
    }));
    auto p = decode_passport(token(shaken_header, payload));
    REQUIRE_FALSE(p);
    CHECK(p.code() == errc::passport_claims_invalid);
    CHECK_THAT(p.err().detail, Catch::Contains(claim));
}

TEST_CASE("DIV claims of the wrong shape are passport_claims_invalid", "[core]")
{
    const std::string payload = GENERATE(as<std::string>{},
        R"({"dest":{"tn":["16505550102"]},"iat":1,"orig":{"tn":"13105550100"}})",
        R"({"dest":{"tn":["16505550102"]},"div":"14155550101","iat":1,"orig":{"tn":"13105550100"}})",
        R"({"dest":{"tn":["16505550102"]},"div":{},"iat":1,"orig":{"tn":"13105550100"}})",
        R"({"dest":{"tn":["16505550102"]},"div":{"tn":["14155550101"]},"iat":1,"orig":{"tn":"1"}})",
        R"({"dest":{"tn":["16505550102"]},"div":{"tn":"1","uri":"sip:x@y"},"iat":1,"orig":{"tn":"1"}})",
        R"({"dest":{"tn":["16505550102"]},"div":{"tn":"1","hi":1},"iat":1,"orig":{"tn":"1"}})",
        R"({"dest":{"tn":["16505550102"]},"div":{"tn":"1","x":"1"},"iat":1,"orig":{"tn":"1"}})",
        R"({"dest":{"tn":["16505550102"]},"div":{"tn":"1"},"iat":1,"orig":{"tn":"1"},"opt":"a.b.c"})");
    CHECK(decode_passport(token(div_header, payload)).code() == errc::passport_claims_invalid);
}

TEST_CASE("a DIV with a History-Info index and URI identities decodes", "[core]")
{
    auto p = decode_passport(token(
        div_header,
        R"({"dest":{"uri":["sip:b@example.test"]},"div":{"hi":"1.2.1","uri":"sip:a@example.test"},"iat":1,"orig":{"uri":"sip:o@example.test"}})"));
    REQUIRE(p);
    CHECK(p->claims.orig == passport_identity::uri("sip:o@example.test"));
    CHECK(p->claims.dest.uri == std::vector<std::string>{"sip:b@example.test"});
    REQUIRE(p->claims.div);
    CHECK(*p->claims.div == passport_identity::uri("sip:a@example.test"));
    CHECK(p->claims.div_hi == std::optional<std::string>("1.2.1"));
    auto again = encode_passport_claims(passport_type::div, p->claims);
    REQUIRE(again);
    CHECK(*again ==
          R"({"dest":{"uri":["sip:b@example.test"]},"div":{"hi":"1.2.1","uri":"sip:a@example.test"},"iat":1,"orig":{"uri":"sip:o@example.test"}})");
}

TEST_CASE("PASSporT headers of the wrong shape are rejected", "[core]")
{
    const std::string payload =
        R"({"attest":"A","dest":{"tn":["1"]},"iat":1,"orig":{"tn":"1"},"origid":"x"})";
    const auto [header, code] = GENERATE(table<std::string, errc>({
        {R"({"alg":"ES256","ppt":"shaken","x5u":"https://x.test/a.pem"})", errc::passport_header_invalid},
        {R"({"alg":"ES256","ppt":"shaken","typ":"JWT","x5u":"https://x.test/a.pem"})", errc::passport_header_invalid},
        {R"({"alg":"ES256","ppt":"shaken","typ":"PASSPORT","x5u":"https://x.test/a.pem"})", errc::passport_header_invalid},
        {R"({"alg":"ES256","ppt":"shaken","typ":"passport"})", errc::passport_header_invalid},
        {R"({"alg":"ES256","ppt":"shaken","typ":"passport","x5u":""})", errc::passport_header_invalid},
        {R"({"alg":"ES256","ppt":"shaken","typ":"passport","x5u":["https://x.test/a.pem"]})", errc::passport_header_invalid},
        {R"({"alg":"ES256","ppt":1,"typ":"passport","x5u":"https://x.test/a.pem"})", errc::passport_header_invalid},
        {R"({"alg":"ES256","ppt":"rph","typ":"passport","x5u":"https://x.test/a.pem"})", errc::identity_ppt_unsupported},
        {R"({"alg":"ES256","ppt":"div-o","typ":"passport","x5u":"https://x.test/a.pem"})", errc::identity_ppt_unsupported},
        {R"({"alg":"ES256","typ":"passport","x5u":"https://x.test/a.pem"})", errc::identity_ppt_unsupported},
        {R"({"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://x.test/a.pem","typ":"passport"})", errc::jws_malformed},
    }));
    CHECK(decode_passport(token(header, payload)).code() == code);
}

TEST_CASE("extra header members and claims are tolerated on decode but never emitted", "[core]")
{
    auto p = decode_passport(token(
        R"({"alg":"ES256","kid":"k1","ppt":"shaken","typ":"passport","x5u":"https://x.test/a.pem"})",
        R"({"attest":"B","dest":{"tn":["2","1"]},"iat":5,"mky":[],"orig":{"tn":"1"},"origid":"o"})"));
    REQUIRE(p);
    auto again = encode_passport_claims(passport_type::shaken, p->claims);
    REQUIRE(again);
    // dest values sorted (RFC 8225 section 9), mky dropped.
    CHECK(*again == R"({"attest":"B","dest":{"tn":["1","2"]},"iat":5,"orig":{"tn":"1"},"origid":"o"})");
}

TEST_CASE("encoding refuses claims that lack what the ppt requires", "[core]")
{
    auto no_attest = g1_claims();
    no_attest.attest.reset();
    CHECK(encode_passport_claims(passport_type::shaken, no_attest).code() == errc::passport_claims_invalid);
    auto no_origid = g1_claims();
    no_origid.origid.clear();
    CHECK(encode_passport_claims(passport_type::shaken, no_origid).code() == errc::passport_claims_invalid);
    CHECK(encode_passport_claims(passport_type::div, g1_claims()).code() == errc::passport_claims_invalid);
    auto no_dest = g1_claims();
    no_dest.dest.tn.clear();
    CHECK(encode_passport_claims(passport_type::shaken, no_dest).code() == errc::passport_claims_invalid);

    SECTION("a div PASSporT never carries attest or origid")
    {
        auto c = g4_div_claims();
        c.attest = attestation::A;
        c.origid = origid;
        auto payload = encode_passport_claims(passport_type::div, c);
        REQUIRE(payload);
        CHECK(*payload == case_passport_field("G4_shaken_plus_div.json", "payload_json", 1));
    }
}

TEST_CASE("signed SHAKEN and DIV PASSporTs decode to the same model and verify", "[core]")
{
    SECTION("SHAKEN with the orig-sp-1234 key")
    {
        auto tok = sign_passport(g1_claims(), passport_type::shaken, orig_x5u, private_key("orig-sp-1234"));
        REQUIRE(tok);
        // Same canonical bytes as G1 (only the randomised signature differs).
        CHECK(tok->substr(0, tok->rfind('.')) == case_passport_field("G1_shaken_A.json", "signing_input"));
        auto p = decode_passport(*tok);
        REQUIRE(p);
        CHECK(p->header.x5u == orig_x5u);
        CHECK(p->claims.orig == g1_claims().orig);
        CHECK(p->claims.dest == g1_claims().dest);
        CHECK(p->claims.attest == g1_claims().attest);
        CHECK(p->claims.origid == origid);
        CHECK(verify_passport(*p, cert_key("orig-sp-1234")));
    }
    SECTION("DIV with the div-sp-5678 key")
    {
        auto tok = sign_passport(g4_div_claims(), passport_type::div, div_x5u, private_key("div-sp-5678"));
        REQUIRE(tok);
        auto p = decode_passport(*tok);
        REQUIRE(p);
        CHECK(p->header.ppt == passport_type::div);
        CHECK(p->claims.div == g4_div_claims().div);
        CHECK(verify_passport(*p, cert_key("div-sp-5678")));
        CHECK(verify_passport(*p, cert_key("orig-sp-1234")).code() == errc::jws_signature_invalid);
    }
    SECTION("an empty x5u is refused")
    {
        CHECK(sign_passport(g1_claims(), passport_type::shaken, "", private_key("orig-sp-1234")).code() ==
              errc::passport_header_invalid);
    }
}

TEST_CASE("C1's compact form verifies over the header and claims rebuilt from SIP", "[core]")
{
    // Rebuilt header  {"alg":"ES256","typ":"passport","x5u":"https://certs.example.test/sti/orig-sp-1234.pem"}
    // Rebuilt payload {"dest":{"tn":["14155550101"]},"iat":1767225600,"orig":{"tn":"13105550100"}}
    const auto compact = case_jws("C1_baseline_compact_reconstruct.json");
    REQUIRE(compact.substr(0, 2) == "..");
    const baseline_inputs in{1767225600, "13105550100", {"14155550101"}, orig_x5u};
    auto jws = rebuild_compact_passport(compact, in);
    REQUIRE(jws);
    CHECK(jws->header_json == case_passport_field("C1_baseline_compact_reconstruct.json", "header_json"));
    CHECK(jws->payload_json == case_passport_field("C1_baseline_compact_reconstruct.json", "payload_json"));
    CHECK(jws->signing_input == case_passport_field("C1_baseline_compact_reconstruct.json", "signing_input"));
    CHECK(verify_jws(*jws, cert_key("orig-sp-1234")));

    SECTION("another Date does not verify")
    {
        auto other = rebuild_compact_passport(compact, {1767225601, "13105550100", {"14155550101"}, orig_x5u});
        REQUIRE(other);
        CHECK(verify_jws(*other, cert_key("orig-sp-1234")).code() == errc::jws_signature_invalid);
    }
    SECTION("another caller does not verify")
    {
        auto other = rebuild_compact_passport(compact, {1767225600, "13105550199", {"14155550101"}, orig_x5u});
        REQUIRE(other);
        CHECK(verify_jws(*other, cert_key("orig-sp-1234")).code() == errc::jws_signature_invalid);
    }
    SECTION("values that are not compact form are refused")
    {
        CHECK(rebuild_compact_passport(case_jws("G1_shaken_A.json"), in).code() == errc::jws_malformed);
        CHECK(rebuild_compact_passport("..", in).code() == errc::jws_signature_malformed);
        CHECK(rebuild_compact_passport("..a+b", in).code() == errc::jws_malformed);
        CHECK(rebuild_compact_passport("...x", in).code() == errc::jws_malformed);
        CHECK(rebuild_compact_passport(".." + base64url_encode(std::string(70, 'x')), in).code() ==
              errc::jws_signature_malformed);
    }
}

TEST_CASE("ppt names parse only for shaken and div", "[core]")
{
    CHECK(parse_passport_type("shaken").value() == passport_type::shaken);
    CHECK(parse_passport_type("div").value() == passport_type::div);
    CHECK(to_string(passport_type::shaken) == "shaken");
    CHECK(to_string(passport_type::div) == "div");
    for (const auto* s : {"SHAKEN", "rph", "div-o", "", "\"shaken\""})
        CHECK(parse_passport_type(s).code() == errc::identity_ppt_unsupported);
}

TEST_CASE("the canonical JSON writer sorts members recursively and adds no whitespace", "[core]")
{
    auto doc = parse_json_object(
        "{ \"z\" : [ {\"b\":1,\"a\":true}, null, \"x/y\" ],\n \"a\": {\"d\":false, \"c\":\"\xc3\xa9\\u00e8\"},"
        " \"B\": -5, \"\xc3\xa9\": 0 }");
    REQUIRE(doc);
    // Byte order of UTF-8 names is code-point order: "B" < "a" < "z" < "\u00e9".
    CHECK(write_canonical_json(*doc) ==
          "{\"B\":-5,\"a\":{\"c\":\"\xc3\xa9\xc3\xa8\",\"d\":false},\"z\":[{\"a\":true,\"b\":1},null,\"x/y\"],"
          "\"\xc3\xa9\":0}");
}

TEST_CASE("parse_json_object accepts one object only and rejects duplicate names at any depth",
          "[core]")
{
    CHECK(parse_json_object(R"({"a":{"b":[{"c":1,"d":2}]}})"));
    const std::string bad = GENERATE(as<std::string>{}, "", "[]", "\"s\"", "1", "null", "{", "{}x",
                                     "{} {}", R"({"a":1,"a":1})", R"({"a":{"b":1,"b":2}})",
                                     R"({"a":[{"c":1,"c":1}]})", "{\"a\":\"\xc3\"}", "{'a':1}",
                                     R"({"a":NaN})",
                                     "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}");
    CHECK(parse_json_object(bad).code() == errc::json_invalid);
}

TEST_CASE("typed JSON getters check the type before reading", "[core]")
{
    auto doc = parse_json_object(
        R"({"s":"v","i":42,"neg":-1,"f":1.0,"e":1e3,"big":18446744073709551615,"b":true,"o":{},"a":[]})");
    REQUIRE(doc);
    CHECK(get_string(*doc, "s").value() == "v");
    CHECK(get_int64(*doc, "i").value() == 42);
    CHECK(get_int64(*doc, "neg").value() == -1);
    CHECK(get_bool(*doc, "b").value());
    CHECK(get_object(*doc, "o"));
    CHECK(get_array(*doc, "a"));
    CHECK(get_int64(*doc, "s").code() == errc::json_invalid);
    CHECK(get_int64(*doc, "f").code() == errc::json_invalid);
    CHECK(get_int64(*doc, "e").code() == errc::json_invalid);
    CHECK(get_int64(*doc, "big").code() == errc::json_invalid);
    CHECK(get_string(*doc, "i", errc::passport_claims_invalid).code() == errc::passport_claims_invalid);
    CHECK(get_object(*doc, "a").code() == errc::json_invalid);
    CHECK(get_array(*doc, "o").code() == errc::json_invalid);
    auto missing = get_string(*doc, "nope");
    REQUIRE_FALSE(missing);
    CHECK_THAT(missing.err().detail, Catch::Contains("nope"));
    CHECK(find_member(*doc, "nope") == nullptr);
}
