// ATIS-1000082 verification request parsing and response rendering.

#include <catch2/catch.hpp>

#include "core/atis.hpp"

using stirgate::errc;
using stirgate::core::parse_atis_verification_request;

TEST_CASE("an ATIS verification request parses into canonical TNs", "[core][atis]")
{
    auto r = parse_atis_verification_request(
        R"({"verificationRequest":{"from":{"tn":"+1 (310) 555-0100"},"to":{"tn":["14155550101"]},)"
        R"("time":1767225600,"identity":"a.b.c;info=<https://x/y>"}})");
    REQUIRE(r);
    CHECK(r->from_tn == "13105550100");
    CHECK(r->to_tns == std::vector<std::string>{"14155550101"});
    CHECK(r->time == 1767225600);
    CHECK(r->identities == std::vector<std::string>{"a.b.c;info=<https://x/y>"});
    CHECK(r->request_uri_tn == "14155550101");  // defaults to the first To TN
    const auto call = stirgate::core::to_call_context(*r);
    CHECK(call.caller_tn == "13105550100");
    CHECK(call.to_tn == "14155550101");
    CHECK(call.sip_date == std::optional<std::int64_t>(1767225600));
}

TEST_CASE("identities, requestUri and the 3GPP single-string to are accepted", "[core][atis]")
{
    auto r = parse_atis_verification_request(
        R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":"tel:+14155550101"},)"
        R"("time":1,"identities":["x","y"],"requestUri":"sip:+16505550102@gw.example;user=phone"}})");
    REQUIRE(r);
    CHECK(r->to_tns == std::vector<std::string>{"14155550101"});
    CHECK(r->identities == std::vector<std::string>{"x", "y"});
    CHECK(r->request_uri_tn == "16505550102");
}

TEST_CASE("bad ATIS verification requests name the offending member", "[core][atis]")
{
    struct row {
        const char* body;
        errc code;
        const char* member;
    };
    const row rows[] = {
        {"", errc::body_unparseable, "body"},
        {"[]", errc::body_unparseable, "body"},
        {"{\"verificationRequest\":", errc::body_unparseable, "body"},
        {R"({"x":1})", errc::missing_parameter, "verificationRequest"},
        {R"({"verificationRequest":[]})", errc::invalid_parameter, "verificationRequest"},
        {R"({"verificationRequest":{}})", errc::missing_parameter, "from"},
        {R"({"verificationRequest":{"from":{}}})", errc::missing_parameter, "from.tn"},
        {R"({"verificationRequest":{"from":"1"}})", errc::invalid_parameter, "from"},
        {R"({"verificationRequest":{"from":{"tn":1}}})", errc::invalid_parameter, "from.tn"},
        {R"({"verificationRequest":{"from":{"tn":"sip:alice@x"}}})", errc::invalid_parameter,
         "from.tn"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"}}})", errc::missing_parameter, "to"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":[]}}})",
         errc::invalid_parameter, "to.tn"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":[5]}}})",
         errc::invalid_parameter, "to.tn"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]}}})",
         errc::missing_parameter, "time"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":"1"}})",
         errc::invalid_parameter, "time"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":-1}})",
         errc::invalid_parameter, "time"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":1}})",
         errc::missing_parameter, "identity"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":1,"identity":""}})",
         errc::invalid_parameter, "identity"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":1,"identity":"a","identities":["a"]}})",
         errc::invalid_parameter, "identities"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":1,"identities":[]}})",
         errc::invalid_parameter, "identities"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":1,"identity":"a","requestUri":"sip:bob@x"}})",
         errc::invalid_parameter, "requestUri"},
        {R"({"verificationRequest":{"from":{"tn":"13105550100"},"from":{"tn":"1"}}})",
         errc::body_unparseable, "body"},  // duplicate member names
    };
    for (const auto& r : rows) {
        INFO(r.body);
        auto parsed = parse_atis_verification_request(r.body);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.code() == r.code);
        CHECK(parsed.err().detail == r.member);
    }
}

TEST_CASE("more identities than the limit are refused", "[core][atis]")
{
    std::string ids;
    for (std::size_t i = 0; i <= stirgate::core::atis_max_identities; ++i)
        ids += std::string(i ? "," : "") + "\"x\"";
    auto parsed = parse_atis_verification_request(
        R"({"verificationRequest":{"from":{"tn":"13105550100"},"to":{"tn":["14155550101"]},"time":1,"identities":[)" +
        ids + "]}}");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.code() == errc::invalid_parameter);
}

TEST_CASE("the verification response carries reasonCode as an integer only on failure",
          "[core][atis]")
{
    stirgate::core::verification_outcome pass;
    pass.valid = true;
    pass.verstat = stirgate::core::sip_verstat::tn_validation_passed;
    CHECK(stirgate::core::render_atis_verification_response(pass) ==
          R"({"verificationResponse":{"verstat":"TN-Validation-Passed"}})");

    stirgate::core::verification_outcome fail;
    fail.verstat = stirgate::core::sip_verstat::tn_validation_failed;
    fail.sip_code = 438;
    fail.reason = "Invalid Identity Header";
    CHECK(stirgate::core::render_atis_verification_response(fail) ==
          R"({"verificationResponse":{"verstat":"TN-Validation-Failed","reasonCode":438,"reasonText":"Invalid Identity Header"}})");

    stirgate::core::verification_outcome none;  // e.g. only an unsupported ppt: no code
    CHECK(stirgate::core::render_atis_verification_response(none) ==
          R"({"verificationResponse":{"verstat":"No-TN-Validation"}})");
}

TEST_CASE("an ATIS signing request parses into canonical SHAKEN or DIV claims", "[core][atis]")
{
    auto shaken = stirgate::core::parse_atis_signing_request(
        R"({"signingRequest":{"attest":"A","dest":{"tn":["+14155550101"]},"iat":1767225600,)"
        R"("orig":{"tn":"tel:+1-310-555-0100"},"origid":"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55"}})");
    REQUIRE(shaken);
    CHECK(shaken->ppt == stirgate::core::passport_type::shaken);
    CHECK(shaken->claims.orig.value == "13105550100");
    CHECK(shaken->claims.dest.tn == std::vector<std::string>{"14155550101"});
    CHECK(shaken->claims.attest == stirgate::core::attestation::A);
    CHECK(shaken->claims.iat == 1767225600);
    // Canonical claims, exactly as vector G1's payload.
    auto encoded = stirgate::core::encode_passport_claims(shaken->ppt, shaken->claims);
    REQUIRE(encoded);
    CHECK(*encoded ==
          R"({"attest":"A","dest":{"tn":["14155550101"]},"iat":1767225600,"orig":{"tn":"13105550100"},"origid":"4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55"})");

    auto div = stirgate::core::parse_atis_signing_request(
        R"({"signingRequest":{"ppt":"div","dest":{"tn":["16505550102"]},"iat":1767225600,)"
        R"("orig":{"tn":"13105550100"},"div":{"tn":"14155550101"}}})");
    REQUIRE(div);
    CHECK(div->ppt == stirgate::core::passport_type::div);
    REQUIRE(div->claims.div.has_value());
    CHECK(div->claims.div->value == "14155550101");

    const std::pair<const char*, const char*> bad[] = {
        {R"({"signingRequest":{"dest":{"tn":["1"]}}})", "orig"},
        {R"({"signingRequest":{"orig":{"tn":"13105550100"},"dest":{"tn":[]},"iat":1,"attest":"A","origid":"x"}})", "dest.tn"},
        {R"({"signingRequest":{"orig":{"tn":"13105550100"},"dest":{"tn":["14155550101"]},"iat":"1","attest":"A","origid":"x"}})", "iat"},
        {R"({"signingRequest":{"orig":{"tn":"13105550100"},"dest":{"tn":["14155550101"]},"iat":1,"origid":"x"}})", "attest"},
        {R"({"signingRequest":{"orig":{"tn":"13105550100"},"dest":{"tn":["14155550101"]},"iat":1,"attest":"a","origid":"x"}})", "attest"},
        {R"({"signingRequest":{"orig":{"tn":"13105550100"},"dest":{"tn":["14155550101"]},"iat":1,"attest":"A","origid":""}})", "origid"},
        {R"({"signingRequest":{"ppt":"div","orig":{"tn":"13105550100"},"dest":{"tn":["14155550101"]},"iat":1}})", "div"},
        {R"({"signingRequest":{"ppt":"div","orig":{"tn":"13105550100"},"dest":{"tn":["14155550101"]},"iat":1,"attest":"A","div":{"tn":"1"}}})", "ppt"},
    };
    for (const auto& [body, member] : bad) {
        INFO(body);
        auto r = stirgate::core::parse_atis_signing_request(body);
        REQUIRE_FALSE(r);
        CHECK(r.err().detail == member);
    }
}
