#include "core/twilio_signature.hpp"

#include <catch2/catch.hpp>

#include "support/vectors.hpp"

using namespace stirgate;
using namespace stirgate::core;

namespace {

form_params params_of(const rapidjson::Value& vec)
{
    form_params p;
    for (const auto& pair : vec["params_in_received_order"].GetArray())
        p.add(pair[0].GetString(), pair[1].GetString());
    return p;
}

// A copy of `s` with byte `i` changed.
std::string flip(std::string s, std::size_t i)
{
    s.at(i) = s.at(i) == 'x' ? 'y' : 'x';
    return s;
}

}  // namespace

TEST_CASE("form POST vectors give Twilio's string to sign and signature", "[core][twilio_signature]")
{
    const char* name = GENERATE("twilio_signature/form_post_minimal.json",
                                "twilio_signature/form_post.json",
                                "twilio_signature/multi_value_and_case.json");
    INFO(name);
    const auto v = test::load_vector_json(name);
    const std::string token = v["auth_token"].GetString();
    const std::string url = v["url"].GetString();
    const form_params params = params_of(v);
    const std::string expected = v["x_twilio_signature"].GetString();

    CHECK(twilio_string_to_sign(url, params) == v["string_to_sign"].GetString());
    CHECK(twilio_signature(token, url, params) == expected);
    CHECK(check_twilio_signature(token, url, params, expected));

    if (v.HasMember("form_body")) {
        // the same parameters as they arrive on the wire
        const auto parsed = parse_form(v["form_body"].GetString());
        REQUIRE(parsed);
        CHECK(parsed->entries() == params.entries());
        CHECK(check_twilio_signature(token, url, *parsed, expected));
    }
}

TEST_CASE("the minimal form vector's HMAC-SHA1 is the worked example", "[core][twilio_signature]")
{
    const auto v = test::load_vector_json("twilio_signature/form_post_minimal.json");
    CHECK(twilio_signature(v["auth_token"].GetString(), v["url"].GetString(), params_of(v)) ==
          "QRvN2DDXrBNmYg4KE/lMlP0McrQ=");
}

TEST_CASE("a signature over the URL with :443 checks against the URL without it, and back",
          "[core][twilio_signature]")
{
    const auto v = test::load_vector_json("twilio_signature/form_post.json");
    const std::string token = v["auth_token"].GetString();
    const std::string url = v["url"].GetString();
    const std::string url443 = v["same_request_url_with_explicit_443"].GetString();
    const std::string sig443 = v["x_twilio_signature_if_url_had_443"].GetString();
    const std::string sig = v["x_twilio_signature"].GetString();
    const form_params params = params_of(v);

    CHECK(twilio_signature(token, url443, params) == sig443);
    CHECK(check_twilio_signature(token, url, params, sig443));   // signer added :443
    CHECK(check_twilio_signature(token, url443, params, sig));   // signer left it out
    CHECK(check_twilio_signature(token, url443, params, sig443));
    // a port that is not the default is part of the URL
    const std::string url8443 = "https://gateway.example.test:8443/twilio/voice/incoming?tenant=acme";
    CHECK(check_twilio_signature(token, url8443, params, sig).code() == errc::signature_invalid);
}

TEST_CASE("http URLs try :80 as the default port", "[core][twilio_signature]")
{
    const std::string token = "secret";
    const form_params p{{{"A", "1"}}};
    CHECK(check_twilio_signature(token, "http://h.test/x",
                                 p, twilio_signature(token, "http://h.test:80/x", p)));
    CHECK(check_twilio_signature(token, "http://h.test:80/x", p,
                                 twilio_signature(token, "http://h.test/x", p)));
    CHECK(check_twilio_signature(token, "http://[::1]:80/x", p,
                                 twilio_signature(token, "http://[::1]/x", p)));
    CHECK(check_twilio_signature(token, "http://h.test/x", p,
                                 twilio_signature(token, "http://h.test:443/x", p))
              .code() == errc::signature_invalid);
}

TEST_CASE("a GET request signs the URL alone", "[core][twilio_signature]")
{
    const auto v = test::load_vector_json("twilio_signature/get_request.json");
    const std::string token = v["auth_token"].GetString();
    const std::string url = v["url"].GetString();
    CHECK(twilio_string_to_sign(url) == v["string_to_sign"].GetString());
    CHECK(twilio_signature(token, url) == v["x_twilio_signature"].GetString());
    CHECK(check_twilio_signature(token, url, {}, v["x_twilio_signature"].GetString()));
}

TEST_CASE("a JSON body is bound through bodySHA256 in the signed URL", "[core][twilio_signature]")
{
    const auto v = test::load_vector_json("twilio_signature/json_body.json");
    const std::string token = v["auth_token"].GetString();
    const std::string url = v["url"].GetString();
    const std::string body = v["body"].GetString();
    const std::string sig = v["x_twilio_signature"].GetString();

    CHECK(url_with_body_sha256("https://gateway.example.test/twilio/events", body) == url);
    CHECK(twilio_signature(token, url) == sig);
    CHECK(check_twilio_signature_json(token, url, body, sig));

    SECTION("a changed body fails even though the URL signature is good")
    {
        CHECK(check_twilio_signature_json(token, url, flip(body, 10), sig).code() ==
              errc::signature_invalid);
    }
    SECTION("a URL without bodySHA256 fails")
    {
        const std::string bare = "https://gateway.example.test/twilio/events";
        CHECK(check_twilio_signature_json(token, bare, body, twilio_signature(token, bare))
                  .code() == errc::signature_invalid);
    }
    SECTION("a wrong signature fails")
    {
        CHECK(check_twilio_signature_json(token, url, body, flip(sig, 3)).code() ==
              errc::signature_invalid);
    }
    SECTION("no signature is signature_missing")
    {
        CHECK(check_twilio_signature_json(token, url, body, "").code() ==
              errc::signature_missing);
    }
}

TEST_CASE("url_with_body_sha256 appends to an existing query", "[core][twilio_signature]")
{
    CHECK(url_with_body_sha256("https://h/x?a=1", "") ==
          "https://h/x?a=1&bodySHA256="
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(url_with_body_sha256("https://h/x?", "").starts_with("https://h/x?bodySHA256="));
}

TEST_CASE("one changed byte anywhere invalidates the signature", "[core][twilio_signature]")
{
    const auto v = test::load_vector_json("twilio_signature/form_post_minimal.json");
    const std::string token = v["auth_token"].GetString();
    const std::string url = v["url"].GetString();
    const form_params params = params_of(v);
    const std::string sig = v["x_twilio_signature"].GetString();

    SECTION("a value")
    {
        auto entries = params.entries();
        entries[0].value = flip(entries[0].value, 5);
        CHECK(check_twilio_signature(token, url, form_params(entries), sig).code() ==
              errc::signature_invalid);
    }
    SECTION("a name")
    {
        auto entries = params.entries();
        entries[2].name = flip(entries[2].name, 0);
        CHECK(check_twilio_signature(token, url, form_params(entries), sig).code() ==
              errc::signature_invalid);
    }
    SECTION("an added parameter")
    {
        auto entries = params.entries();
        entries.push_back({"Extra", ""});
        CHECK(check_twilio_signature(token, url, form_params(entries), sig).code() ==
              errc::signature_invalid);
    }
    SECTION("the URL")
    {
        CHECK(check_twilio_signature(token, flip(url, url.size() - 1), params, sig).code() ==
              errc::signature_invalid);
        CHECK(check_twilio_signature(token, "http" + url.substr(5), params, sig).code() ==
              errc::signature_invalid);
    }
    SECTION("the token")
    {
        CHECK(check_twilio_signature(flip(token, 0), url, params, sig).code() ==
              errc::signature_invalid);
    }
    SECTION("the signature")
    {
        CHECK(check_twilio_signature(token, url, params, flip(sig, 0)).code() ==
              errc::signature_invalid);
        CHECK(check_twilio_signature(token, url, params, sig.substr(0, 27)).code() ==
              errc::signature_invalid);
    }
    SECTION("a missing signature")
    {
        CHECK(check_twilio_signature(token, url, params, "").code() == errc::signature_missing);
    }
}

TEST_CASE("parameter order on the wire does not matter, value order within a name neither",
          "[core][twilio_signature]")
{
    const form_params a{{{"b", "2"}, {"a", "x"}, {"a", "y"}}};
    const form_params b{{{"a", "y"}, {"b", "2"}, {"a", "x"}}};
    CHECK(twilio_string_to_sign("u", a) == "uaxayb2");
    CHECK(twilio_signature("t", "u", a) == twilio_signature("t", "u", b));
}
