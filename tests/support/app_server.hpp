#pragma once
// A customer application for end-to-end tests: HTTPS (a test CA's certificate) on 127.0.0.1,
// its own thread, keep-alive, every request recorded whole. Each path answers as scripted: a
// status, a content type and a body, optionally after a delay (a slow app) or with 500s first (an
// app that is failing for a while). Unknown paths get 404.

#include "net/net.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/edge_receiver.hpp"
#include "support/test_tls.hpp"

namespace stirgate::test {

struct app_route {
    unsigned status = 200;
    std::string content_type = "text/xml";
    std::string body;
    std::chrono::milliseconds delay{0};  // wait this long before answering
    std::size_t fail_first = 0;          // answer the first N requests with 500
};

class app_server final {
public:
    // Listens on 127.0.0.1:port (0: any free port).
    explicit app_server(const tls_identity& tls, std::uint16_t port = 0);
    ~app_server();
    app_server(const app_server&) = delete;
    app_server& operator=(const app_server&) = delete;

    void route(const std::string& path, app_route r);
    std::uint16_t port() const { return port_; }
    std::string url(const std::string& path) const;  // https://127.0.0.1:PORT/path

    // Requests whose target (without the query) is `path`, in arrival order.
    std::vector<received_request> requests(const std::string& path) const;
    // Waits until `path` got at least `count` requests; false on timeout.
    bool wait_for(const std::string& path, std::size_t count,
                  std::chrono::milliseconds timeout) const;
    std::size_t connections() const;  // TCP connections accepted

private:
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    boost::asio::io_context io_;
    boost::asio::ssl::context tls_{boost::asio::ssl::context::tls_server};
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::map<std::string, app_route> routes_;
    std::map<std::string, std::size_t> served_;
    std::vector<received_request> requests_;
    std::size_t connections_ = 0;
    std::thread thread_;
};

}  // namespace stirgate::test
