#include "sip/rate_limit.hpp"

#include <algorithm>

namespace stirgate::sip {

source_rate::source_rate(std::uint32_t per_second, std::size_t max_sources)
    : per_second_(per_second), max_sources_(std::max<std::size_t>(max_sources, 1))
{
}

void source_rate::prune(std::chrono::steady_clock::time_point now)
{
    std::erase_if(buckets_, [&](const auto& item) {
        const double elapsed = std::chrono::duration<double>(now - item.second.last).count();
        return item.second.tokens + elapsed * per_second_ >= per_second_;
    });
    if (buckets_.size() >= max_sources_) buckets_.clear();
}

bool source_rate::allow(std::string_view address, std::chrono::steady_clock::time_point now)
{
    if (per_second_ <= 0) return true;
    auto it = buckets_.find(std::string(address));
    if (it == buckets_.end()) {
        if (buckets_.size() >= max_sources_) prune(now);
        it = buckets_.emplace(std::string(address), bucket{per_second_, now}).first;
    }
    bucket& b = it->second;
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(per_second_, b.tokens + std::max(0.0, elapsed) * per_second_);
    b.last = now;
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
}

}  // namespace stirgate::sip
