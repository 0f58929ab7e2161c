#include <catch2/catch.hpp>

#include "core/text.hpp"

using namespace stirgate::core;

TEST_CASE("ASCII case folding, prefixes and trimming ignore the locale", "[core]")
{
    CHECK(ascii_lower("Basic ABC-xyz\xC3\x89") == "basic abc-xyz\xC3\x89");  // non-ASCII kept
    CHECK(iequals("Content-Type", "content-type"));
    CHECK_FALSE(iequals("Content-Type", "content-typ"));
    CHECK(istarts_with("TN-Validation-Passed-A", "tn-validation-passed"));
    CHECK_FALSE(istarts_with("TN", "TN-"));
    CHECK(trim("  \tmax-age=60 \t") == "max-age=60");
    CHECK(trim("   ").empty());
    CHECK(trim("xxabcxx", "x") == "abc");
}
