#include "core/form.hpp"

#include <catch2/catch.hpp>

#include "support/vectors.hpp"

using namespace stirgate;
using namespace stirgate::core;

TEST_CASE("a form body keeps repeated names in order and decodes + and %XX", "[core][form]")
{
    const auto f = parse_form("To=%2B14155550101&StatusCallbackEvent=initiated&"
                              "StatusCallbackEvent=ringing&Say=hello+world%21&Empty=&Bare");
    REQUIRE(f);
    CHECK(f->size() == 6);
    CHECK(f->get("To") == "+14155550101");
    CHECK(f->get("Say") == "hello world!");
    CHECK(f->get("StatusCallbackEvent") == "initiated");
    CHECK(f->all("StatusCallbackEvent") == std::vector<std::string>{"initiated", "ringing"});
    CHECK(f->get("Empty") == "");
    CHECK(f->get("Bare") == "");
    CHECK_FALSE(f->get("to"));  // names are case-sensitive
    CHECK(f->all("Missing").empty());
    CHECK(f->contains("Bare"));
    CHECK_FALSE(f->contains("bare"));
}

TEST_CASE("empty pieces are skipped and '=' splits once", "[core][form]")
{
    const auto f = parse_form("&a=1&&b=x=y&");
    REQUIRE(f);
    REQUIRE(f->size() == 2);
    CHECK(f->entries()[0] == form_param{"a", "1"});
    CHECK(f->entries()[1] == form_param{"b", "x=y"});
    CHECK(parse_form("")->empty());
    CHECK(parse_form("a%3Db=%26")->get("a=b") == "&");
}

TEST_CASE("a broken %XX escape makes the form invalid", "[core][form]")
{
    const auto* bad = GENERATE(as<const char*>{}, "a=%", "a=%2", "a=%zz", "a%=1", "a=%2g&b=1",
                               "a=1&b=%G0");
    INFO("body: " << bad);
    CHECK(parse_form(bad).code() == errc::form_invalid);
}

TEST_CASE("format_form round-trips through parse_form", "[core][form]")
{
    form_params p;
    p.add("To", "+16505550102");
    p.add("Url", "https://app.example.test/twiml/forward?x=1&y=2");
    p.add("Say", "héllo wörld ~*'()!");
    p.add("StatusCallbackEvent", "initiated");
    p.add("StatusCallbackEvent", "ringing");
    const std::string body = format_form(p);
    CHECK(body.starts_with("To=%2B16505550102&Url=https%3A%2F%2Fapp.example.test%2Ftwiml%2F"
                           "forward%3Fx%3D1%26y%3D2&Say=h%C3%A9llo+w%C3%B6rld+~%2A%27%28%29%21&"));
    const auto back = parse_form(body);
    REQUIRE(back);
    CHECK(back->entries() == p.entries());
}

TEST_CASE("the create-call fragment of a CallToken vector decodes to the CallToken value",
          "[core][form]")
{
    const auto v = test::load_vector_json("calltoken/calltoken_basic.json");
    const auto f = parse_form(v["create_call_form_fragment"].GetString());
    REQUIRE(f);
    CHECK(f->get("CallToken") == v["calltoken_value"].GetString());
    CHECK(f->get("From") == "+13105550100");
    // and encoding the value again gives the wire bytes back
    form_params p;
    p.add("CallToken", v["calltoken_value"].GetString());
    CHECK(format_form(p) == v["webhook_form_body_fragment"].GetString());
}

TEST_CASE("encodeURIComponent keeps exactly its unreserved set", "[core][form]")
{
    CHECK(encode_uri_component("AZaz09-_.!~*'()") == "AZaz09-_.!~*'()");
    CHECK(encode_uri_component("{\"a\": [1,2]};/?:@&=+$#%\n") ==
          "%7B%22a%22%3A%20%5B1%2C2%5D%7D%3B%2F%3F%3A%40%26%3D%2B%24%23%25%0A");
    CHECK(encode_uri_component("\xC3\xA9") == "%C3%A9");
    CHECK(encode_uri_component(std::string_view("\0", 1)) == "%00");
}

TEST_CASE("decodeURIComponent is strict and leaves '+' alone", "[core][form]")
{
    CHECK(*decode_uri_component("%7B%22a%22%3A1%7D") == "{\"a\":1}");
    CHECK(*decode_uri_component("a+b%2bc") == "a+b+c");
    const auto* bad = GENERATE(as<const char*>{}, "%", "%7", "%7G", "abc%", "%%41");
    INFO("text: " << bad);
    CHECK(decode_uri_component(bad).code() == errc::percent_encoding_invalid);
}

TEST_CASE("CallToken values of every vector decode to their JSON text", "[core][form]")
{
    for (const char* name : {"calltoken/calltoken_basic.json", "calltoken/calltoken_diverted.json",
                             "calltoken/calltoken_no_passport.json",
                             "calltoken/calltoken_pretty_printed.json"}) {
        INFO(name);
        const auto v = test::load_vector_json(name);
        const auto json = decode_uri_component(v["calltoken_value"].GetString());
        REQUIRE(json);
        CHECK(*json == v["calltoken_json"].GetString());
        CHECK(encode_uri_component(*json) == v["calltoken_value"].GetString());
    }
}

TEST_CASE("percent-decoding round-trips every byte value at every position", "[core][form]")
{
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    CHECK(*decode_uri_component(encode_uri_component(all)) == all);
    form_params p;
    p.add(all, all + " +%");
    const auto back = parse_form(format_form(p));
    REQUIRE(back);
    CHECK(back->entries() == p.entries());
    // An escape that ends exactly at the end of the text, and one cut short by it.
    CHECK(*decode_uri_component("ab%41") == "abA");
    CHECK(decode_uri_component("ab%4").code() == errc::percent_encoding_invalid);
    CHECK(parse_form("a=b%4").code() == errc::form_invalid);
    CHECK(*decode_uri_component("") == "");
}
