#include "core/tn.hpp"

#include <catch2/catch.hpp>

#include "support/vectors.hpp"

using namespace stirgate;
using namespace stirgate::core;

TEST_CASE("every row of tn_canonicalization.json canonicalises as the table says", "[core][tn]")
{
    const auto doc = test::load_vector_json("tn_canonicalization.json");
    REQUIRE(doc.IsArray());
    REQUIRE(doc.Size() >= 8);
    for (const auto& row : doc.GetArray()) {
        const std::string input = row["input"].GetString();
        INFO("input: " << input);
        const auto got = canonicalize_tn(input);
        if (row["canonical"].IsNull()) {
            REQUIRE_FALSE(got);
            CHECK(got.code() == errc::tn_invalid);
        } else {
            REQUIRE(got);
            CHECK(*got == row["canonical"].GetString());
        }
    }
}

TEST_CASE("URI parameters and visual separators are dropped", "[core][tn]")
{
    CHECK(*canonicalize_tn("tel:+1-310-555-0100;ext=22") == "13105550100");
    CHECK(*canonicalize_tn("tel:+13105550100;verstat=TN-Validation-Passed") == "13105550100");
    CHECK(*canonicalize_tn("sip:+13105550100;verstat=TN-Validation-Passed@platform.example.test;"
                           "user=phone") == "13105550100");
    CHECK(*canonicalize_tn("sip:+1.310.555.0100@h;user=phone") == "13105550100");
    CHECK(*canonicalize_tn("SIP:+13105550100@h") == "13105550100");
    CHECK(*canonicalize_tn("sips:+13105550100@h:5061;transport=tls") == "13105550100");
    CHECK(*canonicalize_tn("sip:%2B13105550100@h") == "13105550100");
    CHECK(*canonicalize_tn("sip:+13105550100:secret@h") == "13105550100");
    CHECK(*canonicalize_tn("  +13105550100  ") == "13105550100");
}

TEST_CASE("local numbers follow NANP and international-prefix policy", "[core][tn]")
{
    CHECK(*canonicalize_tn("(310) 555-0100") == "13105550100");
    CHECK(*canonicalize_tn("011442079460958") == "442079460958");
    CHECK(*canonicalize_tn("00442079460958") == "442079460958");
    CHECK(*canonicalize_tn("911") == "911");
    CHECK(*canonicalize_tn("tel:#31#") == "#31#");
    // a global number is never rewritten
    CHECK(*canonicalize_tn("+3105550100") == "3105550100");
}

TEST_CASE("identities that are not telephone numbers yield tn_invalid", "[core][tn]")
{
    const auto* bad = GENERATE(as<const char*>{}, "", "   ", "sip:alice@example.test",
                               "sip:example.test", "client:alice", "tel:", "+", "1+2",
                               "+*67", "sip:%2@h", "sip:@h", "urn:service:sos", "<sip:alice@x>",
                               "\"Bob\" sip:+13105550100@h");
    INFO("input: " << bad);
    CHECK(canonicalize_tn(bad).code() == errc::tn_invalid);
}

TEST_CASE("the TN of a SIP name-addr is taken from inside the angle brackets", "[core][tn]")
{
    CHECK(*tn_from_name_addr("<sip:+13105550100@host;user=phone>;tag=x") == "13105550100");
    CHECK(*tn_from_name_addr("\"Alice <boss>\" <sip:+13105550100@host;user=phone>;tag=abc") ==
          "13105550100");
    CHECK(*tn_from_name_addr("Alice <tel:+1-310-555-0100>") == "13105550100");
    CHECK(*tn_from_name_addr("<tel:+13105550100;verstat=TN-Validation-Passed>") ==
          "13105550100");
    CHECK(*tn_from_name_addr("sip:+13105550100@host;tag=x") == "13105550100");
    CHECK(*tn_from_name_addr("tel:+13105550100;tag=x") == "13105550100");
    CHECK(tn_from_name_addr("<sip:alice@host>;tag=x").code() == errc::tn_invalid);
    CHECK(tn_from_name_addr("<sip:+13105550100@host").code() == errc::tn_invalid);
    CHECK(tn_from_name_addr("\"unterminated <sip:+13105550100@h>").code() == errc::tn_invalid);
    // canonicalize_tn accepts a name-addr too
    CHECK(*canonicalize_tn("<sip:+13105550100@host>;tag=1") == "13105550100");
}

TEST_CASE("same_tn compares canonical forms and nothing else", "[core][tn]")
{
    CHECK(same_tn("+13105550100", "tel:+1-310-555-0100"));
    CHECK(same_tn("sip:3105550100@h", "+13105550100"));
    CHECK_FALSE(same_tn("+13105550100", "+13105550199"));
    CHECK_FALSE(same_tn("sip:alice@h", "sip:alice@h"));
}

TEST_CASE("e164_number parses Twilio API numbers into digits and +digits", "[core][tn]")
{
    const auto n = e164_number::parse("+14155550101");
    REQUIRE(n);
    CHECK(n->digits() == "14155550101");
    CHECK(n->e164() == "+14155550101");
    CHECK(*e164_number::parse("+1 (415) 555-0101") == *n);
    CHECK(*e164_number::parse("tel:+1-415-555-0101") == *n);
    CHECK(*e164_number::parse("4155550101") == *n);
    CHECK(*e164_number::parse("14155550101") == *n);
    CHECK(e164_number::parse("+442079460958")->e164() == "+442079460958");
    CHECK(e164_number::parse("+6834002")->digits() == "6834002");
    CHECK(e164_number{}.empty());
}

TEST_CASE("e164_number refuses what is not a global number", "[core][tn]")
{
    const auto* bad = GENERATE(as<const char*>{}, "", "911", "*67", "+1234", "client:alice",
                               "sip:+14155550101@h", "<sip:+14155550101@h>",
                               "+1234567890123456", "+0123456789", "alice", "+1415555010a");
    INFO("input: " << bad);
    CHECK(e164_number::parse(bad).code() == errc::tn_invalid);
}
