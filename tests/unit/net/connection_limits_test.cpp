#include "net/connection_limits.hpp"

#include <catch2/catch.hpp>

using stirgate::net::admission;
using stirgate::net::connection_caps;
using stirgate::net::connection_limiter;

TEST_CASE("connections over the per-address cap are refused; other addresses are not affected",
          "[net]")
{
    connection_limiter l(connection_caps{100, 2, 4});
    CHECK(l.admit("10.0.0.1", false) == admission::full);
    CHECK(l.admit("10.0.0.1", false) == admission::full);
    CHECK(l.admit("10.0.0.1", false) == admission::over_address);
    CHECK(l.admit("10.0.0.2", false) == admission::full);
    // A trusted proxy carries many clients: only the total applies to it.
    for (int i = 0; i < 10; ++i) CHECK(l.admit("10.0.0.9", true) == admission::full);
    CHECK(l.open() == 13);
    CHECK(l.open_from("10.0.0.1") == 2);
    // A connection that ends gives its place back.
    l.release("10.0.0.1", admission::full);
    CHECK(l.admit("10.0.0.1", false) == admission::full);
    // Refused ones hold nothing.
    l.release("10.0.0.1", admission::over_address);
    CHECK(l.open_from("10.0.0.1") == 2);
}

TEST_CASE("over max_connections a small reserve serves health checks, then all is refused", "[net]")
{
    connection_limiter l(connection_caps{3, 0, 2});
    for (int i = 0; i < 3; ++i) CHECK(l.admit("10.0.0.1", false) == admission::full);
    CHECK(l.admit("10.0.0.2", false) == admission::health_only);
    CHECK(l.admit("10.0.0.3", false) == admission::health_only);
    CHECK(l.admit("10.0.0.4", false) == admission::over_total);
    CHECK(l.admit("10.0.0.4", true) == admission::over_total);  // proxies too
    CHECK(l.open() == 5);
    l.release("10.0.0.2", admission::health_only);
    CHECK(l.admit("10.0.0.4", false) == admission::health_only);
    l.release("10.0.0.1", admission::full);
    CHECK(l.admit("10.0.0.5", false) == admission::full);
    // No caps at all.
    connection_limiter open_door(connection_caps{0, 0, 0});
    for (int i = 0; i < 50; ++i) CHECK(open_door.admit("10.0.0.1", false) == admission::full);
}
