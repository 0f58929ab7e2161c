#include "core/base64url.hpp"

#include <catch2/catch.hpp>

#include <string>

using stirgate::errc;
using namespace stirgate::core;

TEST_CASE("base64url encodes the RFC 4648 test strings without padding", "[core]")
{
    // RFC 4648 section 10, with the padding dropped as RFC 7515 section 2 requires.
    const auto [plain, encoded] = GENERATE(table<std::string, std::string>({
        {"", ""},
        {"f", "Zg"},
        {"fo", "Zm8"},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg"},
        {"fooba", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy"},
    }));
    CHECK(base64url_encode(plain) == encoded);
    auto back = base64url_decode(encoded);
    REQUIRE(back);
    CHECK(*back == plain);
}

TEST_CASE("base64url uses - and _ where base64 uses + and /", "[core]")
{
    const std::string bytes{"\xfb\xff\xbf", 3};
    CHECK(base64url_encode(bytes) == "-_-_");
    auto back = base64url_decode("-_-_");
    REQUIRE(back);
    CHECK(*back == bytes);
}

TEST_CASE("base64url round-trips every byte value", "[core]")
{
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (std::size_t n = 0; n <= all.size(); n += 37) {
        const auto prefix = all.substr(0, n);
        auto back = base64url_decode(base64url_encode(prefix));
        REQUIRE(back);
        CHECK(*back == prefix);
    }
}

TEST_CASE("base64url decoding rejects anything that is not strict unpadded base64url", "[core]")
{
    const std::string bad = GENERATE(as<std::string>{},
                                     "Zm9v+A",     // base64 '+'
                                     "Zm9v/A",     // base64 '/'
                                     "Zg==",       // padding
                                     "Zm8=",       // padding
                                     "Zm 9v",      // space
                                     "Zm9v\n",     // line break
                                     "Zm9v\t",     // tab
                                     "eyJh*GciOi", // '*' as in vector B6
                                     "Z",          // length 1 mod 4
                                     "Zm9vY",      // length 1 mod 4
                                     "Zh",         // trailing bits set ("Zg" is canonical)
                                     "Zm9",        // trailing bits set ("Zm8" is canonical)
                                     "Zm9v.",      // dot
                                     std::string("Zm\0v", 4));
    auto r = base64url_decode(bad);
    REQUIRE_FALSE(r);
    CHECK(r.code() == errc::base64url_invalid);
}
