#pragma once
// Caps on open connections (#16 item 4), decided when a connection is accepted: in total and per
// client address, with a small reserve above the total cap for health checks, so a client that
// holds many connections cannot take the descriptors /healthz, /readyz, the store and outbound
// deliveries need. No sockets: addresses are IP literals. Thread-safe (connections end on any
// I/O thread).

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace stirgate::net {

struct connection_caps {
    std::size_t max_connections = 4096;             // [server] max_connections; 0 = no cap
    std::size_t max_connections_per_address = 256;  // [server] ...; 0 = no cap
    std::size_t health_reserve = 16;  // connections above max_connections for health checks
};

enum class admission {
    full,          // served as usual
    health_only,   // over max_connections, inside the reserve: health paths only, then close
    over_address,  // refused: the address holds max_connections_per_address already
    over_total,    // refused: max_connections and the health reserve are in use
};

constexpr bool admitted(admission a) noexcept
{
    return a == admission::full || a == admission::health_only;
}

class connection_limiter final {
public:
    explicit connection_limiter(connection_caps caps) : caps_(caps) {}

    // Decides for a new connection from `address`. `exempt` (a trusted proxy, whose address
    // carries many clients) skips the per-address cap, not the total. Anything but refused must
    // be matched by one release() with the same address and admission (admitted()).
    admission admit(const std::string& address, bool exempt);
    void release(const std::string& address, admission a);

    std::size_t open() const;  // admitted and not released, reserve included
    std::size_t open_from(const std::string& address) const;
    const connection_caps& caps() const noexcept { return caps_; }

private:
    connection_caps caps_;
    mutable std::mutex mutex_;
    std::size_t full_ = 0;
    std::size_t reserve_ = 0;
    std::unordered_map<std::string, std::size_t> per_address_;  // entries > 0 only: bounded
};

}  // namespace stirgate::net
