#pragma once
// The gateway: every object of a running stirgate, built in one visible order from a config
// (STYLE.md section 4), and `stirgate serve` on top of it.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "app/config.hpp"
#include "core/clock.hpp"
#include "net/net.hpp"

namespace stirgate::net {
class router;
}

namespace stirgate::app {

struct gateway_options {
    // Seconds since the epoch for token and certificate checks; the system clock by default.
    // Tests inject the spec vectors' fixed time.
    core::clock_fn now;
    std::ostream* log_out = nullptr;  // JSON-lines log; std::cout by default
    // `stirgate serve`: when outbound deliveries are still in flight once the outbox's stop
    // bound has passed, run() returns without waiting for each request's own timeout (up to
    // webhooks.app_timeout_ms) and the caller must end the process without destroying the
    // gateway (see abandoned_deliveries()). Off (in-process use, tests): run() waits for them.
    bool abandon_stuck_deliveries = false;
};

class gateway final {
public:
    // Loads key material, trust anchors and CRLs and builds the router. Throws
    // std::runtime_error with one line "FILE: KEY: PROBLEM" when something cannot be loaded.
    explicit gateway(config cfg, gateway_options options = {});
    ~gateway();
    gateway(const gateway&) = delete;
    gateway& operator=(const gateway&) = delete;

    // Binds the listening socket, and the SIP face's with [sip] listen (throws naming the
    // address on failure).
    void listen();
    boost::asio::ip::tcp::endpoint local_endpoint() const;
    // The SIP face's port (UDP and TCP) once listen() ran; 0 without [sip] listen.
    std::uint16_t sip_port() const;
    // Serves until SIGTERM/SIGINT or stop(), drains, returns the exit code.
    int run();
    void stop();
    // After run() with abandon_stuck_deliveries: true when deliveries were left running. Their
    // items stay due in the store (redelivered after a restart); the background thread still
    // uses this object, so it must not be destroyed: end the process with std::_Exit.
    bool abandoned_deliveries() const noexcept;
    // What SIGHUP does while run() runs: re-read the config file and swap in its accounts and
    // numbers without dropping requests. A config that does not load is logged and ignored.
    void reload();

    const net::router& routes() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

struct serve_options {
    std::string config_path;
    std::optional<std::string> listen;  // --listen HOST:PORT overrides [server] listen
};

// Returns the process exit code: 0 after a clean drain, 2 (with one clear line on stderr) for a
// bad config or key material, 1 for a failure to bind.
int serve_command(const serve_options& options);

}  // namespace stirgate::app
