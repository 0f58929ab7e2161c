#pragma once
// The SIP face's I/O (DESIGN.md "SIP face"): UDP and TCP on one port, on an executor of the
// gateway's I/O threads, answering each request through sip/redirect.hpp. Verification awaits
// x5u fetches, so every message is its own coroutine: a slow certificate repository delays
// only the requests that need it and never an HTTP request on the same thread.
//
// TCP (RFC 3261 section 18.3): messages framed by Content-Length (absent: no body), several per
// connection; a double-CRLF keep-alive is answered with one CRLF (RFC 5626 section 4.4.1).
// A connection that sends no message within tcp_idle_timeout, takes longer than
// tcp_read_timeout to send one, exceeds max_message_bytes, or sends bytes that are not a SIP
// request is closed. UDP: one message per datagram; one that is not a SIP request is dropped.

#include "net/net.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/accounts.hpp"
#include "core/clock.hpp"
#include "net/cidr.hpp"
#include "obs/log.hpp"
#include "sip/message.hpp"
#include "sti/call_verifier.hpp"
#include "sti/signer.hpp"

namespace stirgate::sip {

struct peer {
    net::cidr_block cidr;
    std::string account_sid;
    bool passthrough = false;  // its Identity values are customers' own (-Passthrough verdicts)
};

enum class transport { udp, tcp };
std::string_view to_string(transport t) noexcept;

struct service_dependencies {
    const core::account_directory& accounts;  // outlives the service
    std::vector<peer> peers;                  // first match wins
    const sti::call_verifier& verifier;       // outlives the service
    sti::signing_identity signer;             // key empty: INVITEs are not signed
    core::clock_fn now;
    message_limits limits;
    obs::logger& log;  // outlives the service
    // Every request answered (method, status) and every request absorbed (status 0: an ACK);
    // called on the listener's thread.
    std::function<void(std::string_view method, int status)> on_message = {};
};

// What to do with one received message.
struct exchange_result {
    std::optional<std::string> response;  // nullopt: send nothing
    bool not_sip = false;                 // not a SIP request (TCP closes the connection)
};

class redirect_service final {
public:
    explicit redirect_service(service_dependencies deps);

    // Parses, authorises (peers), signs or verifies, logs one JSON line. Arguments by value:
    // the coroutine outlives the caller's expression. Never throws for any input.
    boost::asio::awaitable<exchange_result> handle(std::string message, std::string address,
                                                   std::uint16_t port, transport via) const;

private:
    service_dependencies deps_;
};

namespace detail {
struct listener_state;  // sip/listener.cpp: shared with the listener's coroutines
}

struct listener_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5060;  // 0: one the OS picks that is free for both UDP and TCP
    std::size_t max_message_bytes = 16384;
    std::uint32_t rate_per_source = 200;  // messages a second per address; 0 = no limit
    std::size_t max_tcp_connections = 256;
    std::size_t max_udp_in_flight = 1024;  // datagrams being answered at once; more: dropped
    std::chrono::milliseconds tcp_idle_timeout{120000};
    std::chrono::milliseconds tcp_read_timeout{10000};
    std::chrono::milliseconds write_timeout{5000};
    // Messages dropped unanswered (reason: "rate", "busy", "not_sip", "tcp_cap"); listener thread.
    std::function<void(std::string_view reason)> on_dropped = {};
};

class listener final {
public:
    // `executor` must be run by one thread (it owns the listener's state). `log` must outlive
    // the executor's io_context.
    listener(boost::asio::any_io_executor executor, listener_options options,
             std::shared_ptr<const redirect_service> service, obs::logger& log);
    ~listener();
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    // Binds UDP and TCP; logs {"msg":"sip listening",...}. Throws std::runtime_error naming the
    // address when either cannot be bound. Call before start().
    void listen();
    std::uint16_t port() const noexcept;
    // Starts receiving; call before the io_context runs, or on its thread.
    void start();
    // Closes the sockets and every TCP connection (from any thread); requests being verified
    // finish, their replies are not sent.
    void stop();

private:
    std::shared_ptr<detail::listener_state> state_;
};

}  // namespace stirgate::sip
