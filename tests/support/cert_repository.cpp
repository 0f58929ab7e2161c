#include "support/cert_repository.hpp"

#include "support/edge_receiver.hpp"

#include <stdexcept>

namespace stirgate::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

cert_repository::cert_repository(const tls_identity& tls)
{
    tls_.use_certificate_chain(asio::buffer(tls.cert_pem));
    tls_.use_private_key(asio::buffer(tls.key_pem), asio::ssl::context::pem);
    port_ = listen_on_loopback(acceptor_, 0);
    auto on_done = [](std::exception_ptr) {};
    asio::co_spawn(io_, accept_loop(), on_done);
    thread_ = std::thread([this] { io_.run(); });
}

cert_repository::~cert_repository()
{
    io_.stop();
    thread_.join();
}

void cert_repository::put(const std::string& path, std::string body, std::string cache_control)
{
    std::lock_guard lock(mutex_);
    files_[path] = file{std::move(body), std::move(cache_control)};
}

std::size_t cert_repository::requests(const std::string& path) const
{
    std::lock_guard lock(mutex_);
    const auto it = counts_.find(path);
    return it == counts_.end() ? 0 : it->second;
}

asio::awaitable<void> cert_repository::accept_loop()
{
    for (;;) {
        beast::error_code ec;
        tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        auto on_done = [](std::exception_ptr) {};
        asio::co_spawn(io_, serve(std::move(socket)), on_done);
    }
}

asio::awaitable<void> cert_repository::serve(tcp::socket socket)
{
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls_);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    beast::error_code ec;
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    const std::string path(req.target().substr(0, req.target().find('?')));
    http::response<http::string_body> res;
    {
        std::lock_guard lock(mutex_);
        ++counts_[path];
        const auto it = files_.find(path);
        if (it == files_.end()) {
            res.result(http::status::not_found);
            res.body() = "not found";
        } else {
            res.result(http::status::ok);
            res.set(http::field::content_type, "application/pem-certificate-chain");
            if (!it->second.cache_control.empty())
                res.set(http::field::cache_control, it->second.cache_control);
            res.body() = it->second.body;
        }
    }
    res.version(11);
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace stirgate::test
