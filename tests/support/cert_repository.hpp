#pragma once
// An STI certificate repository for integration tests: HTTPS on 127.0.0.1 port 0, serving
// bodies by path (404 otherwise), counting requests. Runs on its own thread so tests can drive
// a gateway with blocking clients meanwhile.

#include "net/net.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "support/test_tls.hpp"

namespace stirgate::test {

class cert_repository final {
public:
    explicit cert_repository(const tls_identity& tls);
    ~cert_repository();
    cert_repository(const cert_repository&) = delete;
    cert_repository& operator=(const cert_repository&) = delete;

    // Serves `body` at `path` ("/sti/orig-sp-1234.pem"), with Cache-Control when not empty.
    void put(const std::string& path, std::string body, std::string cache_control = "");
    std::uint16_t port() const { return port_; }
    // GET requests received for `path` so far.
    std::size_t requests(const std::string& path) const;

private:
    struct file {
        std::string body;
        std::string cache_control;
    };
    boost::asio::awaitable<void> accept_loop();
    boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

    boost::asio::io_context io_;
    boost::asio::ssl::context tls_{boost::asio::ssl::context::tls_server};
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::map<std::string, file> files_;
    std::map<std::string, std::size_t> counts_;
    std::thread thread_;
};

}  // namespace stirgate::test
