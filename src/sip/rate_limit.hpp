#pragma once
// Messages per second from one source address: a token bucket per address, refilled
// continuously, as large as the rate (so a burst of one second's worth passes). Pure: the time
// is an argument. Not thread-safe: the SIP listener uses it from its one executor.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace stirgate::sip {

class source_rate final {
public:
    // per_second 0: no limit. At most max_sources addresses are tracked; beyond that the ones
    // whose buckets have refilled are forgotten (they would pass anyway), and when none has,
    // all are (a spoofed-source flood must not grow the table without bound).
    explicit source_rate(std::uint32_t per_second, std::size_t max_sources = 65536);

    // True when a message from `address` at `now` may be served (and takes its token).
    bool allow(std::string_view address, std::chrono::steady_clock::time_point now);

    std::size_t tracked() const noexcept { return buckets_.size(); }

private:
    struct bucket {
        double tokens = 0;
        std::chrono::steady_clock::time_point last{};
    };
    void prune(std::chrono::steady_clock::time_point now);

    double per_second_;
    std::size_t max_sources_;
    std::unordered_map<std::string, bucket> buckets_;
};

}  // namespace stirgate::sip
