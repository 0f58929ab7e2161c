#include "core/dates.hpp"

#include <catch2/catch.hpp>

TEST_CASE("RFC 2822 dates are written in UTC the way Twilio writes them", "[core]")
{
    using stirgate::core::format_rfc2822;
    CHECK(format_rfc2822(1767225605) == "Thu, 01 Jan 2026 00:00:05 +0000");
    CHECK(format_rfc2822(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
    CHECK(format_rfc2822(1709210096) == "Thu, 29 Feb 2024 12:34:56 +0000");
    CHECK(format_rfc2822(4102444799) == "Thu, 31 Dec 2099 23:59:59 +0000");
    CHECK(format_rfc2822(-1) == "Wed, 31 Dec 1969 23:59:59 +0000");
}
