#include <catch2/catch.hpp>

#include "core/text.hpp"

using namespace stirgate::core;

TEST_CASE("ASCII case folding, prefixes and trimming ignore the locale", "[core]")
{
    CHECK(ascii_lower("Basic ABC-xyz\xC3\x89") == "basic abc-xyz\xC3\x89");  // non-ASCII kept
    CHECK(ascii_upper("post\xC3\xA9-get") == "POST\xC3\xA9-GET");  // \xC3\xA9 is not folded
    CHECK(iequals("Content-Type", "content-type"));
    CHECK_FALSE(iequals("Content-Type", "content-typ"));
    CHECK(istarts_with("TN-Validation-Passed-A", "tn-validation-passed"));
    CHECK_FALSE(istarts_with("TN", "TN-"));
    CHECK(icontains("Application/JSON; q=0.9", "json"));
    CHECK(icontains("text/html, */*", "*/*"));
    CHECK(icontains("abc", ""));
    CHECK_FALSE(icontains("application/xml", "json"));
    CHECK_FALSE(icontains("js", "json"));
    CHECK(trim("  \tmax-age=60 \t") == "max-age=60");
    CHECK(trim("   ").empty());
    CHECK(trim("xxabcxx", "x") == "abc");
}

TEST_CASE("parse_decimal takes only plain digits within the bound", "[core]")
{
    CHECK(parse_decimal("0", 10) == std::optional<std::int64_t>(0));
    CHECK(parse_decimal("600", 600) == std::optional<std::int64_t>(600));
    CHECK_FALSE(parse_decimal("601", 600));
    for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1e3", "0x10", "9999999999999999999"})
        CHECK_FALSE(parse_decimal(bad, 999'999'999'999'999'999));
}

TEST_CASE("a URL's password is redacted wherever it sits, the rest kept", "[core]")
{
    CHECK(redact_url_password("postgresql://user:s3cret@db.example:5432/x") ==
          "postgresql://user:***@db.example:5432/x");
    CHECK(redact_url_password("postgresql://db/x?user=a&password=s3cret&sslmode=require") ==
          "postgresql://db/x?user=a&password=***&sslmode=require");
    CHECK(redact_url_password("postgresql://user@db/x") == "postgresql://user@db/x");
    // An '@' after the authority is not userinfo.
    CHECK(redact_url_password("https://h.example/a:b@c") == "https://h.example/a:b@c");
}
