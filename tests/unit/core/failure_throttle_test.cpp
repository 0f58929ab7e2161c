#include "core/failure_throttle.hpp"

#include <string>

#include <catch2/catch.hpp>

using stirgate::core::failure_throttle;
using stirgate::core::failure_throttle_options;

TEST_CASE("failure throttle: a key is blocked after threshold failures until its window ends",
          "[core]")
{
    failure_throttle t({3, std::chrono::milliseconds(10000), 100});
    const std::int64_t t0 = 1767225600000;
    CHECK_FALSE(t.blocked("10.0.0.1", t0));
    t.failed("10.0.0.1", t0);
    t.failed("10.0.0.1", t0 + 100);
    CHECK_FALSE(t.blocked("10.0.0.1", t0 + 200));
    t.failed("10.0.0.1", t0 + 200);
    REQUIRE(t.blocked("10.0.0.1", t0 + 300));
    CHECK(*t.blocked("10.0.0.1", t0 + 300) == std::chrono::seconds(10));  // 9.7 s, rounded up
    CHECK(*t.blocked("10.0.0.1", t0 + 9999) == std::chrono::seconds(1));
    CHECK_FALSE(t.blocked("10.0.0.2", t0 + 300));  // other keys are not affected
    // The window ends: a fresh start, and one failure does not block again.
    CHECK_FALSE(t.blocked("10.0.0.1", t0 + 10000));
    t.failed("10.0.0.1", t0 + 10000);
    CHECK_FALSE(t.blocked("10.0.0.1", t0 + 10001));
}

TEST_CASE("failure throttle: memory is bounded; expired keys make room, live ones stay",
          "[core]")
{
    failure_throttle t({2, std::chrono::milliseconds(1000), 4});
    const std::int64_t t0 = 1767225600000;
    for (int i = 0; i < 2; ++i) t.failed("guesser", t0);
    for (int i = 0; i < 100; ++i) t.failed("addr-" + std::to_string(i), t0);
    CHECK(t.tracked_keys() == 4);
    CHECK(t.blocked("guesser", t0));  // a flood of new keys does not push it out
    // Later, the expired windows are dropped for new keys.
    t.failed("late", t0 + 5000);
    CHECK(t.tracked_keys() == 1);
    CHECK_FALSE(t.blocked("guesser", t0 + 5000));
}
