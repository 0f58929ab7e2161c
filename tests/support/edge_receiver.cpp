#include "support/edge_receiver.hpp"

#include "core/form.hpp"
#include "core/text.hpp"

namespace stirgate::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string received_request::header(std::string_view name) const
{
    for (const auto& [n, v] : headers)
        if (core::iequals(n, name)) return v;
    return {};
}

std::map<std::string, std::set<std::string>> idempotency_tokens_by_call(
    const std::vector<received_request>& requests)
{
    std::map<std::string, std::set<std::string>> out;
    for (const auto& r : requests) {
        const auto form = core::parse_form(r.body);
        if (!form || !form->get("CallSid")) continue;
        out[std::string(*form->get("CallSid"))].insert(r.header("I-Twilio-Idempotency-Token"));
    }
    return out;
}

std::uint16_t listen_on_loopback(tcp::acceptor& acceptor, std::uint16_t port)
{
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    acceptor.open(ep.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    return acceptor.local_endpoint().port();
}

edge_receiver::edge_receiver(std::uint16_t port, unsigned status) : status_(status)
{
    port_ = listen_on_loopback(acceptor_, port);
    auto on_done = [](std::exception_ptr) {};
    asio::co_spawn(io_, accept_loop(), on_done);
    thread_ = std::thread([this] { io_.run(); });
}

edge_receiver::~edge_receiver()
{
    io_.stop();
    thread_.join();
}

std::vector<received_request> edge_receiver::requests() const
{
    std::lock_guard lock(mutex_);
    return requests_;
}

bool edge_receiver::wait_for(std::size_t count, std::chrono::milliseconds timeout) const
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::lock_guard lock(mutex_);
            if (requests_.size() >= count) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

asio::awaitable<void> edge_receiver::accept_loop()
{
    for (;;) {
        beast::error_code ec;
        tcp::socket socket =
            co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        auto on_done = [](std::exception_ptr) {};
        asio::co_spawn(io_, serve(std::move(socket)), on_done);
    }
}

asio::awaitable<void> edge_receiver::serve(tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        stream.expires_after(std::chrono::seconds(10));
        http::request<http::string_body> req;
        beast::error_code ec;
        co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        received_request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        r.body = req.body();
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(std::move(r));
        }
        http::response<http::string_body> res{static_cast<http::status>(status_), req.version()};
        res.set(http::field::content_type, "text/plain");
        res.body() = "ok";
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !req.keep_alive()) co_return;
    }
}

std::uint16_t reserve_port()
{
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

}  // namespace stirgate::test
