#include "core/identity_header.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "support/vectors.hpp"

using stirgate::errc;
using namespace stirgate::core;
using stirgate::test::load_vector_json;

namespace {

std::string case_identity(std::string_view file, unsigned index = 0)
{
    const auto doc = load_vector_json(std::string("cases/") + std::string(file));
    return doc["identity_headers"][index].GetString();
}

const std::string jws = "aGVhZA.cGF5bG9hZA.c2ln";
const std::string orig_info = "https://certs.example.test/sti/orig-sp-1234.pem";

}  // namespace

TEST_CASE("G1's Identity value parses into token, info, alg and bare ppt", "[core]")
{
    const auto value = case_identity("G1_shaken_A.json");
    auto h = parse_identity_header(value);
    REQUIRE(h);
    CHECK(h->token == value.substr(0, value.find(';')));
    CHECK_FALSE(h->compact);
    CHECK(h->info == orig_info);
    CHECK(h->alg == std::optional<std::string>("ES256"));
    CHECK(h->ppt == std::optional<std::string>("shaken"));
    CHECK_FALSE(h->ppt_quoted);
    CHECK(h->other_params.empty());
}

TEST_CASE("G2's quoted ppt parses to the same value", "[core]")
{
    auto h = parse_identity_header(case_identity("G2_shaken_B_quoted_ppt.json"));
    REQUIRE(h);
    CHECK(h->ppt == std::optional<std::string>("shaken"));
    CHECK(h->ppt_quoted);
}

TEST_CASE("compact-form values are recognised (C1 baseline, B18 div)", "[core]")
{
    auto c1 = parse_identity_header(case_identity("C1_baseline_compact_reconstruct.json"));
    REQUIRE(c1);
    CHECK(c1->compact);
    CHECK(c1->token.substr(0, 2) == "..");
    CHECK_FALSE(c1->ppt);
    auto b18 = parse_identity_header(case_identity("B18_div_compact_form.json", 1));
    REQUIRE(b18);
    CHECK(b18->compact);
    CHECK(b18->ppt == std::optional<std::string>("div"));
}

TEST_CASE("B13's value without alg parses with alg absent", "[core]")
{
    auto h = parse_identity_header(case_identity("B13_alg_none.json"));
    REQUIRE(h);
    CHECK_FALSE(h->alg);
    CHECK(h->ppt == std::optional<std::string>("shaken"));
}

TEST_CASE("every vector Identity value parses", "[core]")
{
    const char* file = GENERATE("G1_shaken_A.json", "G2_shaken_B_quoted_ppt.json", "G3_shaken_C_from_only.json",
                                "G4_shaken_plus_div.json", "G5_noncanonical_json_valid_sig.json",
                                "B1_bad_signature.json", "B4_unsupported_ppt.json", "B5_ppt_param_header_mismatch.json",
                                "B6_malformed_base64.json", "B8_info_x5u_mismatch.json", "B14_iat_string.json",
                                "B15_der_signature.json", "B16_div_chain_broken.json", "B18_div_compact_form.json");
    const auto doc = load_vector_json(std::string("cases/") + file);
    for (const auto& v : doc["identity_headers"].GetArray()) {
        auto h = parse_identity_header(v.GetString());
        CHECK(h);
    }
}

TEST_CASE("Identity values with LWS, case and extra parameters parse the same", "[core]")
{
    const std::string value = GENERATE_COPY(
        jws + ";info=<" + orig_info + ">;alg=ES256;ppt=shaken",
        jws + ";info=<" + orig_info + ">;alg=ES256;ppt=\"shaken\"",
        jws + " ; info = <" + orig_info + "> ; alg = ES256 ; ppt = \"shaken\" ",
        "  " + jws + "\t;\tinfo=<" + orig_info + ">;alg=ES256;ppt=shaken\r\n",
        jws + "\r\n ;info=<" + orig_info + ">\r\n\t;alg=ES256;ppt=shaken",  // folded lines
        jws + ";INFO=<" + orig_info + ">;Alg=ES256;PPT=shaken",
        jws + ";ppt=shaken;alg=ES256;info=<" + orig_info + ">",
        jws + ";info=<" + orig_info + ">;foo=bar;alg=ES256;flag;ppt=shaken;x=\"a;b\"");
    auto h = parse_identity_header(value);
    REQUIRE(h);
    CHECK(h->token == jws);
    CHECK(h->info == orig_info);
    CHECK(h->alg == std::optional<std::string>("ES256"));
    CHECK(h->ppt == std::optional<std::string>("shaken"));
}

TEST_CASE("unknown parameters are kept in order with lower-cased names", "[core]")
{
    auto h = parse_identity_header(jws + ";info=<" + orig_info + ">;Foo=Bar;flag;x=\"a;b\";h=[::1]");
    REQUIRE(h);
    REQUIRE(h->other_params.size() == 4);
    CHECK(h->other_params[0].name == "foo");
    CHECK(h->other_params[0].value == "Bar");
    CHECK(h->other_params[1].name == "flag");
    CHECK(h->other_params[1].value.empty());
    CHECK(h->other_params[2].value == "\"a;b\"");
    CHECK(h->other_params[3].value == "[::1]");
}

TEST_CASE("Identity values that break the RFC 8224 grammar are identity_header_malformed", "[core]")
{
    const std::string bad = GENERATE_COPY(
        std::string(),
        std::string("   "),
        ";info=<" + orig_info + ">",                        // no token
        jws,                                                // no info
        jws + ";alg=ES256;ppt=shaken",                      // no info
        jws + ";info=" + orig_info,                         // info without <>
        jws + ";info=\"" + orig_info + "\"",                // info quoted, not <>
        jws + ";info=<" + orig_info,                        // unterminated <
        jws + ";info=<>",                                   // empty URI
        jws + ";info=<certs.example.test/sti.pem>",         // not absolute
        jws + ";info=<https://a b>",                        // space in URI
        jws + ";info",                                      // info without value
        jws + ";info=<" + orig_info + ">;info=<" + orig_info + ">",  // twice
        jws + ";info=<" + orig_info + ">;ppt=shaken;ppt=div",        // ppt twice
        jws + ";info=<" + orig_info + ">;alg=ES256;alg=ES256",       // alg twice
        jws + ";info=<" + orig_info + ">;ppt",                       // ppt without value
        jws + ";info=<" + orig_info + ">;ppt=\"\"",                  // empty ppt
        jws + ";info=<" + orig_info + ">;ppt=\"shaken",              // unterminated quote
        jws + ";info=<" + orig_info + ">;",                          // trailing ;
        jws + ";;info=<" + orig_info + ">",                          // empty parameter
        jws + ";info=<" + orig_info + ">;alg=",                      // empty value
        jws + ";info=<" + orig_info + ">junk",                       // junk after value
        jws + " extra;info=<" + orig_info + ">",                     // two tokens
        jws + ";info=<" + orig_info + ">;ppt=sha ken");              // space inside a token
    auto h = parse_identity_header(bad);
    REQUIRE_FALSE(h);
    CHECK(h.code() == errc::identity_header_malformed);
}

TEST_CASE("a leading Identity: or y: header name is stripped by the helper", "[core]")
{
    const std::string value = jws + ";info=<" + orig_info + ">;ppt=shaken";
    CHECK(strip_identity_header_name("Identity: " + value) == value);
    CHECK(strip_identity_header_name("identity:" + value) == value);
    CHECK(strip_identity_header_name("  IDENTITY \t:  " + value) == value);
    CHECK(strip_identity_header_name("y: " + value) == value);
    CHECK(strip_identity_header_name("Y:" + value) == value);
    CHECK(strip_identity_header_name(value) == value);
    CHECK(strip_identity_header_name("Identity-Info: <x>") == "Identity-Info: <x>");
    auto h = parse_identity_header(strip_identity_header_name("Identity: " + value));
    REQUIRE(h);
    CHECK(h->token == jws);
}

TEST_CASE("format_identity_header writes the RFC 8224 full form, quoting ppt by default", "[core]")
{
    CHECK(format_identity_header(jws, orig_info, passport_type::shaken) ==
          jws + ";info=<" + orig_info + ">;alg=ES256;ppt=\"shaken\"");
    CHECK(format_identity_header(jws, orig_info, passport_type::div, {.quote_ppt = false}) ==
          jws + ";info=<" + orig_info + ">;alg=ES256;ppt=div");

    SECTION("G1's value is reproduced with the unquoted option")
    {
        const auto g1 = case_identity("G1_shaken_A.json");
        CHECK(format_identity_header(g1.substr(0, g1.find(';')), orig_info, passport_type::shaken,
                                     {.quote_ppt = false}) == g1);
    }
    SECTION("formatted values parse back")
    {
        for (const bool quote : {true, false}) {
            auto h = parse_identity_header(
                format_identity_header(jws, orig_info, passport_type::div, {.quote_ppt = quote}));
            REQUIRE(h);
            CHECK(h->token == jws);
            CHECK(h->info == orig_info);
            CHECK(h->ppt == std::optional<std::string>("div"));
            CHECK(h->ppt_quoted == quote);
        }
    }
}
