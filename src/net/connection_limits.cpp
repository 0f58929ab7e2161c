#include "net/connection_limits.hpp"

namespace stirgate::net {

admission connection_limiter::admit(const std::string& address, bool exempt)
{
    const std::lock_guard lock(mutex_);
    if (!exempt && caps_.max_connections_per_address != 0) {
        const auto it = per_address_.find(address);
        if (it != per_address_.end() && it->second >= caps_.max_connections_per_address)
            return admission::over_address;
    }
    admission a = admission::full;
    if (caps_.max_connections != 0 && full_ >= caps_.max_connections) {
        if (reserve_ >= caps_.health_reserve) return admission::over_total;
        a = admission::health_only;
    }
    ++(a == admission::full ? full_ : reserve_);
    ++per_address_[address];
    return a;
}

void connection_limiter::release(const std::string& address, admission a)
{
    if (!admitted(a)) return;
    const std::lock_guard lock(mutex_);
    --(a == admission::full ? full_ : reserve_);
    const auto it = per_address_.find(address);
    if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

std::size_t connection_limiter::open() const
{
    const std::lock_guard lock(mutex_);
    return full_ + reserve_;
}

std::size_t connection_limiter::open_from(const std::string& address) const
{
    const std::lock_guard lock(mutex_);
    const auto it = per_address_.find(address);
    return it == per_address_.end() ? 0 : it->second;
}

}  // namespace stirgate::net
