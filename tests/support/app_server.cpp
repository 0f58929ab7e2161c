#include "support/app_server.hpp"

namespace stirgate::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

app_server::app_server(const tls_identity& tls, std::uint16_t port)
{
    tls_.use_certificate_chain(asio::buffer(tls.cert_pem));
    tls_.use_private_key(asio::buffer(tls.key_pem), asio::ssl::context::pem);
    port_ = listen_on_loopback(acceptor_, port);
    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { io_.run(); });
}

app_server::~app_server()
{
    io_.stop();
    thread_.join();
}

void app_server::route(const std::string& path, app_route r)
{
    std::lock_guard lock(mutex_);
    routes_[path] = std::move(r);
}

std::string app_server::url(const std::string& path) const
{
    return "https://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<received_request> app_server::requests(const std::string& path) const
{
    std::lock_guard lock(mutex_);
    std::vector<received_request> out;
    for (const auto& r : requests_)
        if (r.target.substr(0, r.target.find('?')) == path) out.push_back(r);
    return out;
}

bool app_server::wait_for(const std::string& path, std::size_t count,
                          std::chrono::milliseconds timeout) const
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (requests(path).size() >= count) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

std::size_t app_server::connections() const
{
    std::lock_guard lock(mutex_);
    return connections_;
}

asio::awaitable<void> app_server::accept_loop()
{
    for (;;) {
        beast::error_code ec;
        tcp::socket socket =
            co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        {
            std::lock_guard lock(mutex_);
            ++connections_;
        }
        asio::co_spawn(io_, serve(std::move(socket)), [](std::exception_ptr) {});
    }
}

asio::awaitable<void> app_server::serve(tcp::socket socket)
{
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls_);
    auto& lowest = beast::get_lowest_layer(stream);
    beast::error_code ec;
    lowest.expires_after(std::chrono::seconds(10));
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    beast::flat_buffer buffer;
    asio::steady_timer timer(io_);
    for (;;) {
        lowest.expires_after(std::chrono::seconds(30));
        http::request<http::string_body> req;
        co_await http::async_read(stream, buffer, req,
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        received_request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        for (const auto& f : req)
            r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        r.body = req.body();
        const std::string path = r.target.substr(0, r.target.find('?'));
        app_route script;
        bool known = false;
        std::size_t nth = 0;
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(std::move(r));
            if (auto it = routes_.find(path); it != routes_.end()) {
                script = it->second;
                known = true;
                nth = ++served_[path];
            }
        }
        if (script.delay.count() > 0) {
            timer.expires_after(script.delay);
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        http::response<http::string_body> res{http::status::not_found, req.version()};
        if (known) {
            res.result(nth <= script.fail_first ? 500u : script.status);
            res.set(http::field::content_type, script.content_type);
            res.body() = script.body;
        }
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        lowest.expires_after(std::chrono::seconds(10));
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !req.keep_alive()) co_return;
    }
}

}  // namespace stirgate::test
