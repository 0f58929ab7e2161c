#include "core/failure_throttle.hpp"

#include <algorithm>

namespace stirgate::core {

std::optional<std::chrono::seconds> failure_throttle::blocked(std::string_view key,
                                                              std::int64_t now_ms) const
{
    const std::lock_guard lock(mutex_);
    const auto it = windows_.find(std::string(key));
    if (it == windows_.end()) return std::nullopt;
    const std::int64_t ends_ms = it->second.started_ms + options_.window.count();
    if (now_ms >= ends_ms || it->second.failures < options_.threshold) return std::nullopt;
    const std::int64_t left_s = (ends_ms - now_ms + 999) / 1000;
    return std::chrono::seconds(std::max<std::int64_t>(1, left_s));
}

void failure_throttle::failed(std::string_view key, std::int64_t now_ms)
{
    const std::lock_guard lock(mutex_);
    auto it = windows_.find(std::string(key));
    if (it == windows_.end()) {
        if (windows_.size() >= options_.max_keys) drop_expired(now_ms);
        if (windows_.size() >= options_.max_keys) return;  // full of live windows: fail open
        it = windows_.emplace(std::string(key), window{now_ms, 0}).first;
    }
    window& w = it->second;
    if (now_ms >= w.started_ms + options_.window.count()) w = window{now_ms, 0};
    ++w.failures;
}

std::size_t failure_throttle::tracked_keys() const
{
    const std::lock_guard lock(mutex_);
    return windows_.size();
}

void failure_throttle::drop_expired(std::int64_t now_ms)
{
    std::erase_if(windows_, [&](const auto& entry) {
        return now_ms >= entry.second.started_ms + options_.window.count();
    });
}

}  // namespace stirgate::core
