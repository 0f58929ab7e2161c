#include "net/server.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <list>
#include <random>
#include <span>
#include <stdexcept>
#include <thread>
#include <vector>

namespace stirgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

request_ids::request_ids()
{
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    prefix_ = buf;
}

std::string request_ids::next()
{
    const std::uint64_t n = counter_.fetch_add(1, std::memory_order_relaxed) + 1;
    // prefix-%06llx, by hand (once per request)
    char hex[16];
    const auto end = std::to_chars(hex, hex + sizeof hex, n, 16).ptr;
    const auto digits = static_cast<std::size_t>(end - hex);
    std::string out;
    out.reserve(prefix_.size() + 1 + std::max<std::size_t>(digits, 6));
    out += prefix_;
    out += '-';
    out.append(digits < 6 ? 6 - digits : 0, '0');
    out.append(hex, digits);
    return out;
}

void log_exception::operator()(std::exception_ptr e) const
{
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        log->error("coroutine failed", {{"task", task}, {"error", ex.what()}});
    } catch (...) {
        log->error("coroutine failed", {{"task", task}, {"error", "non-standard exception"}});
    }
}

namespace detail {

std::optional<errc> read_error_reply(const beast::error_code& ec, bool start_line_parsed)
{
    if (ec == http::error::header_limit)
        // The request line alone overflowed the header budget: RFC 9110 section 15.5.15.
        return start_line_parsed ? errc::header_too_large : errc::uri_too_long;
    if (ec == http::error::body_limit) return errc::payload_too_large;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return {};
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
        return errc::bad_request;
    return {};  // timeout, reset, aborted by a drain
}

bool expects_continue(const http_request& header)
{
    const auto it = header.find(http::field::expect);
    return it != header.end() && header.version() >= 11 &&
           beast::iequals(it->value(), "100-continue");
}

namespace {

// "address:port" into `buf` without allocating (IPv4, the usual case, by hand).
std::string_view format_remote(const tcp::endpoint& remote, std::array<char, 64>& buf)
{
    char* p = buf.data();
    const auto address = remote.address();
    if (address.is_v4()) {
        const auto bytes = address.to_v4().to_bytes();
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            if (i > 0) *p++ = '.';
            p = std::to_chars(p, buf.data() + buf.size(), unsigned{bytes[i]}).ptr;
        }
    } else {
        const std::string text = address.to_string();  // at most 45 characters plus a scope
        const std::size_t n = std::min(text.size(), buf.size() - 8);
        p = std::copy_n(text.data(), n, p);
    }
    *p++ = ':';
    p = std::to_chars(p, buf.data() + buf.size(), remote.port()).ptr;
    return {buf.data(), static_cast<std::size_t>(p - buf.data())};
}

}  // namespace

void log_request(const http_service& svc, const request_context& ctx, unsigned status,
                 std::chrono::steady_clock::time_point started)
{
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    const double rounded = static_cast<double>(static_cast<long long>(ms * 1000.0)) / 1000.0;
    const bool known_method = ctx.request.method() != http::verb::unknown;
    const auto verb = known_method ? http::to_string(ctx.request.method()) : beast::string_view{};
    const std::string_view method(verb.data(), verb.size());
    std::array<char, 64> remote_buf;
    const std::string_view remote = format_remote(ctx.remote, remote_buf);
    const obs::log_level level = status >= 500 ? obs::log_level::error : obs::log_level::info;
    // Fixed order; optional fields (errc, call_sid) are left out when not set.
    std::array<obs::log_field, 8> fields;
    std::size_t n = 0;
    fields[n++] = obs::log_field("id", ctx.request_id);
    fields[n++] =
        known_method ? obs::log_field("method", method) : obs::log_field("method", nullptr);
    fields[n++] =
        ctx.route.empty() ? obs::log_field("route", nullptr) : obs::log_field("route", ctx.route);
    fields[n++] = obs::log_field("status", status);
    if (ctx.failure) fields[n++] = obs::log_field("errc", errc_name(*ctx.failure));
    if (!ctx.call_sid.empty()) fields[n++] = obs::log_field("call_sid", ctx.call_sid);
    fields[n++] = obs::log_field("duration_ms", rounded);
    fields[n++] = obs::log_field("remote", remote);
    svc.log.log_fields(level, "request", std::span<const obs::log_field>(fields.data(), n));
    if (svc.observer)
        svc.observer->on_request(ctx, status, std::chrono::steady_clock::now() - started);
}

}  // namespace detail

namespace {

// A live connection as the drain sees it. Lives in the connection's coroutine frame and is
// touched only by the thread of its io_context.
struct connection_slot {
    beast::tcp_stream* stream;
    connection_info* info;
};

using connection_registry = std::list<connection_slot*>;

class registration final {
public:
    registration(connection_registry& reg, connection_slot* slot, std::atomic<int>& open)
        : reg_(reg), open_(open)
    {
        it_ = reg_.insert(reg_.end(), slot);
        open_.fetch_add(1);
    }
    ~registration()
    {
        reg_.erase(it_);
        open_.fetch_sub(1);
    }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;

private:
    connection_registry& reg_;
    std::atomic<int>& open_;
    connection_registry::iterator it_;
};

}  // namespace

struct server::impl {
    server_options options;
    obs::logger& log;
    request_ids ids;
    std::atomic<bool> draining{false};  // from the signal on: 503 readiness, Connection: close
    std::atomic<bool> stopping{false};  // from the end of drain_delay on: no more accepting
    std::atomic<int> open_connections{0};
    http_service service;

    // Declared before the io_contexts: destroying an io_context destroys pending coroutine
    // frames, whose registrations still need their registry.
    std::vector<connection_registry> registries;
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    using work_guard = asio::executor_work_guard<asio::io_context::executor_type>;
    std::vector<work_guard> guards;
    std::unique_ptr<tcp::acceptor> acceptor;
    std::unique_ptr<asio::signal_set> signals;
    std::unique_ptr<asio::steady_timer> delay;
    std::size_t next_context = 0;

    impl(server_options o, const router& routes, obs::logger& l)
        : options(std::move(o)), log(l), service{routes, options.lim, log, ids, &stopping, &draining}
    {
        service.observer = options.observer;
        unsigned n = options.threads;
        if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
        registries.resize(n);
        for (unsigned i = 0; i < n; ++i) {
            contexts.push_back(std::make_unique<asio::io_context>(1));
            guards.push_back(asio::make_work_guard(*contexts.back()));
        }
        signals = std::make_unique<asio::signal_set>(*contexts[0], SIGINT, SIGTERM);
    }

    void begin_drain();
    void wait_signal();
    void begin_stop();
    awaitable<void> drain();
    awaitable<void> accept_loop();
    void start_connection(std::size_t index, tcp::socket socket);
    // `this` outlives every io_context::run(), so the coroutine may keep it.
    awaitable<void> handle_connection(std::size_t index, tcp::socket socket);
};

// The accept loop and the drain run on contexts[0]; each connection on the io_context its
// socket was accepted onto.
awaitable<void> server::impl::accept_loop()
{
    for (;;) {
        const std::size_t index = next_context++ % contexts.size();
        beast::error_code ec;
        tcp::socket socket = co_await acceptor->async_accept(
            contexts[index]->get_executor(), asio::redirect_error(asio::use_awaitable, ec));
        if (stopping.load() || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // EMFILE and friends: back off instead of spinning.
            log.warn("accept failed", {{"error", ec.message()}});
            asio::steady_timer pause(*contexts[0], std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        start_connection(index, std::move(socket));
    }
}

void server::impl::start_connection(std::size_t index, tcp::socket socket)
{
    // Spawned from the connection's own io_context thread (STYLE.md section 3: post first).
    auto start = [this, index, s = std::move(socket)]() mutable {
        asio::co_spawn(*contexts[index], handle_connection(index, std::move(s)),
                       log_exception{&log, "connection"});
    };
    asio::post(*contexts[index], std::move(start));
}

// Runs on contexts[0]. A second call (a second signal) ends the delay early.
void server::impl::begin_drain()
{
    if (draining.exchange(true) || options.drain_delay.count() == 0) {
        begin_stop();
        return;
    }
    log.info("draining", {{"drain_delay_ms", options.drain_delay.count()}});
    delay = std::make_unique<asio::steady_timer>(*contexts[0], options.drain_delay);
    delay->async_wait([this](const beast::error_code&) { begin_stop(); });
}

void server::impl::wait_signal()
{
    signals->async_wait([this](const beast::error_code& ec, int signo) {
        if (ec) return;
        log.info("signal", {{"signal", signo}});
        begin_drain();
        if (!stopping.load()) wait_signal();
    });
}

void server::impl::begin_stop()
{
    draining.store(true);
    if (stopping.exchange(true)) return;
    log.info("stopping", {{"open_connections", open_connections.load()},
                          {"drain_timeout_ms", options.drain_timeout.count()}});
    beast::error_code ec;
    acceptor->close(ec);
    signals->cancel(ec);
    if (delay) delay->cancel();
    for (std::size_t i = 0; i < contexts.size(); ++i) {
        auto close_idle = [this, i] {
            for (connection_slot* slot : registries[i]) {
                // Idle keep-alive connections end now; busy ones finish their request and then
                // close, since replies during a drain carry Connection: close.
                if (!slot->info->busy) slot->stream->cancel();
            }
        };
        asio::post(*contexts[i], close_idle);
    }
    asio::co_spawn(*contexts[0], drain(), log_exception{&log, "drain"});
    // Each io_context's run() now returns once its last connection ends.
    for (auto& g : guards) g.reset();
}

awaitable<void> server::impl::drain()
{
    const auto deadline = std::chrono::steady_clock::now() + options.drain_timeout;
    asio::steady_timer timer(*contexts[0]);
    while (open_connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(20));
        beast::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (const int left = open_connections.load(); left > 0) {
        log.warn("drain timeout: closing connections", {{"open_connections", left}});
        for (auto& c : contexts) c->stop();
    }
}

awaitable<void> server::impl::handle_connection(std::size_t index, tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    connection_info info;
    beast::error_code ec;
    info.remote = stream.socket().remote_endpoint(ec);
    connection_slot slot{&stream, &info};
    const registration reg(registries[index], &slot, open_connections);
    if (stopping.load()) co_return;
    co_await serve_http(stream, service, info);
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

server::server(server_options options, const router& routes, obs::logger& log)
    : impl_(std::make_unique<impl>(std::move(options), routes, log))
{
}

server::~server() = default;

void server::listen()
{
    auto& o = impl_->options;
    const std::string where = o.host + ":" + std::to_string(o.port);
    try {
        tcp::resolver resolver(*impl_->contexts[0]);
        const auto results =
            resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::passive);
        if (results.empty()) throw std::runtime_error("no address");
        const tcp::endpoint ep = results.begin()->endpoint();
        auto acceptor = std::make_unique<tcp::acceptor>(*impl_->contexts[0]);
        acceptor->open(ep.protocol());
        acceptor->set_option(asio::socket_base::reuse_address(true));
        acceptor->bind(ep);
        acceptor->listen(asio::socket_base::max_listen_connections);
        impl_->acceptor = std::move(acceptor);
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot listen on " + where + ": " + e.what());
    }
    const tcp::endpoint bound = impl_->acceptor->local_endpoint();
    impl_->log.info("listening", {{"address", bound.address().to_string()},
                                  {"port", bound.port()},
                                  {"threads", impl_->contexts.size()}});
}

asio::ip::tcp::endpoint server::local_endpoint() const
{
    return impl_->acceptor ? impl_->acceptor->local_endpoint() : tcp::endpoint{};
}

int server::run()
{
    if (!impl_->acceptor) listen();
    impl* self = impl_.get();
    self->wait_signal();
    asio::co_spawn(*self->contexts[0], self->accept_loop(), log_exception{&self->log, "accept"});

    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < self->contexts.size(); ++i)
        threads.emplace_back([ctx = self->contexts[i].get()] { ctx->run(); });
    self->contexts[0]->run();
    for (auto& t : threads) t.join();
    self->log.info("stopped");
    self->log.flush();
    return 0;
}

int server::open_connections() const noexcept { return impl_->open_connections.load(); }

bool server::draining() const noexcept { return impl_->draining.load(); }

void server::stop()
{
    impl* self = impl_.get();
    asio::post(*self->contexts[0], [self] { self->begin_drain(); });
}

}  // namespace stirgate::net
