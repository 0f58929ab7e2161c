#pragma once
// A recording HTTP receiver for integration tests: stands in for the SIP edge's dial URL (or an
// application's webhook). Plain HTTP on 127.0.0.1, its own thread, every request kept whole.

#include "net/net.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace stirgate::test {

struct received_request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    std::string header(std::string_view name) const;  // first match, case-insensitive; "" if none
};

class edge_receiver final {
public:
    // Listens on `port` (0: any free port). Answers every request with `status`.
    explicit edge_receiver(std::uint16_t port = 0, unsigned status = 200);
    ~edge_receiver();
    edge_receiver(const edge_receiver&) = delete;
    edge_receiver& operator=(const edge_receiver&) = delete;

    std::uint16_t port() const { return port_; }
    std::vector<received_request> requests() const;
    // Waits until at least `count` requests arrived; false on timeout.
    bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const;

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    std::uint16_t port_ = 0;
    unsigned status_;
    mutable std::mutex mutex_;
    std::vector<received_request> requests_;
    std::thread thread_;
};

// The dials among `requests` (form bodies with a CallSid), as CallSid -> the distinct
// I-Twilio-Idempotency-Token values its attempts carried: at-least-once checks read it.
std::map<std::string, std::set<std::string>> idempotency_tokens_by_call(
    const std::vector<received_request>& requests);

// Opens, binds (127.0.0.1:port; 0 = any free port) and listens; returns the bound port.
std::uint16_t listen_on_loopback(boost::asio::ip::tcp::acceptor& acceptor, std::uint16_t port);

// A loopback port that was free a moment ago (bind, read, close): for a receiver that starts
// later on a URL configured now.
std::uint16_t reserve_port();

}  // namespace stirgate::test
