#pragma once
// Counts failures (wrong passwords) per key, such as a client address or an account, in fixed
// windows, so a guessing client can be answered 429 instead of being let to try on. Memory is
// bounded: at most `max_keys` keys are tracked; when full, expired windows are dropped first and
// a new key beyond that is not tracked (it fails open: a flood of distinct keys cannot push out
// the keys already being throttled). Thread-safe; the clock is the caller's (epoch ms).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stirgate::core {

struct failure_throttle_options {
    std::size_t threshold = 20;                 // failures per window before blocking
    std::chrono::milliseconds window{60000};    // fixed window, from a key's first failure
    std::size_t max_keys = 10000;
};

class failure_throttle final {
public:
    explicit failure_throttle(failure_throttle_options options = {}) : options_(options) {}

    // When `key` has had `threshold` failures in its current window: how long until the window
    // ends (at least 1 s, for Retry-After). nullopt: not blocked.
    std::optional<std::chrono::seconds> blocked(std::string_view key, std::int64_t now_ms) const;
    // Records one failure of `key`.
    void failed(std::string_view key, std::int64_t now_ms);

    std::size_t tracked_keys() const;

private:
    struct window {
        std::int64_t started_ms = 0;
        std::size_t failures = 0;
    };
    void drop_expired(std::int64_t now_ms);  // mutex_ held

    failure_throttle_options options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, window> windows_;
};

}  // namespace stirgate::core
