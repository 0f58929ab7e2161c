#include "net/server.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

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

bool is_health_path(const http_service& svc, std::string_view target)
{
    if (!svc.health_paths) return false;
    const std::string_view path = target.substr(0, target.find('?'));
    return std::find(svc.health_paths->begin(), svc.health_paths->end(), path) !=
           svc.health_paths->end();
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

// Gives back the connection's place under the caps when its coroutine ends.
class admission_ticket final {
public:
    admission_ticket(connection_limiter& limiter, std::string address, admission a)
        : limiter_(limiter), address_(std::move(address)), admission_(a)
    {
    }
    ~admission_ticket() { limiter_.release(address_, admission_); }
    admission_ticket(const admission_ticket&) = delete;
    admission_ticket& operator=(const admission_ticket&) = delete;

private:
    connection_limiter& limiter_;
    std::string address_;
    admission admission_;
};

// max_connections + health_reserve + fd_reserve must fit RLIMIT_NOFILE: raise the soft limit
// towards the hard one, else lower max_connections (an accept failing with EMFILE would also
// starve the store and the outbound clients).
connection_caps fit_descriptor_limit(connection_caps caps, std::size_t fd_reserve,
                                     obs::logger& log)
{
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return caps;
    const std::size_t others = caps.health_reserve + fd_reserve;
    const std::size_t wanted = caps.max_connections == 0 ? 0 : caps.max_connections + others;
    if (wanted == 0 || lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= wanted) return caps;
    const rlim_t raised = lim.rlim_max == RLIM_INFINITY ? static_cast<rlim_t>(wanted)
                                                        : std::min<rlim_t>(lim.rlim_max, wanted);
    if (raised > lim.rlim_cur) {
        rlimit next = lim;
        next.rlim_cur = raised;
        if (setrlimit(RLIMIT_NOFILE, &next) == 0) lim = next;
    }
    if (lim.rlim_cur >= wanted) return caps;
    const std::size_t fit =
        lim.rlim_cur > others + 1 ? static_cast<std::size_t>(lim.rlim_cur) - others : 1;
    log.warn("max_connections lowered to fit the descriptor limit",
             {{"max_connections", fit},
              {"configured", caps.max_connections},
              {"rlimit_nofile", static_cast<std::uint64_t>(lim.rlim_cur)}});
    caps.max_connections = fit;
    return caps;
}

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
    connection_limiter limiter;
    std::atomic<std::uint64_t> refused_per_address{0};
    std::atomic<std::uint64_t> refused_total{0};
    std::atomic<std::uint64_t> refused_no_descriptors{0};
    std::chrono::steady_clock::time_point last_refusal_log{};  // accept loop only
    // The reserve descriptor: closed to accept (and close) one pending connection when accept
    // fails with EMFILE, so the backlog drains with a clean close instead of clients hanging.
    int spare_fd = -1;

    impl(server_options o, const router& routes, obs::logger& l)
        : options(std::move(o)),
          log(l),
          service{routes, options.lim, log, ids, &stopping, &draining},
          limiter(fit_descriptor_limit(options.caps, options.fd_reserve, l))
    {
        service.observer = options.observer;
        service.health_paths = &options.health_paths;
        spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        unsigned n = options.threads;
        if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
        registries.resize(n);
        for (unsigned i = 0; i < n; ++i) {
            contexts.push_back(std::make_unique<asio::io_context>(1));
            guards.push_back(asio::make_work_guard(*contexts.back()));
        }
        signals = std::make_unique<asio::signal_set>(*contexts[0], SIGINT, SIGTERM);
    }

    ~impl()
    {
        if (spare_fd >= 0) ::close(spare_fd);
    }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    void begin_drain();
    void wait_signal();
    bool admit(tcp::socket& socket, std::string& address, admission& a);
    void shed_pending_connection();
    void begin_stop();
    awaitable<void> drain();
    awaitable<void> accept_loop();
    void start_connection(std::size_t index, tcp::socket socket, std::string address,
                          admission a);
    // `this` outlives every io_context::run(), so the coroutine may keep it.
    awaitable<void> handle_connection(std::size_t index, tcp::socket socket, std::string address,
                                      admission a);
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
            // EMFILE and friends: the pending connection stays queued, so accepting again at
            // once would fail again at once. Close one pending connection with the reserve
            // descriptor, then back off instead of spinning.
            const bool out_of_descriptors =
                ec == asio::error::no_descriptors || ec.value() == ENFILE;
            if (out_of_descriptors) shed_pending_connection();
            log.warn("accept failed", {{"error", ec.message()}});
            asio::steady_timer pause(*contexts[0], std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        std::string address;
        admission a = admission::full;
        if (!admit(socket, address, a)) continue;
        start_connection(index, std::move(socket), std::move(address), a);
    }
}

// Applies the caps to a just-accepted socket; false when it was closed. Runs on contexts[0].
bool server::impl::admit(tcp::socket& socket, std::string& address, admission& a)
{
    beast::error_code ec;
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) {  // the peer is already gone
        socket.close(ec);
        return false;
    }
    address = remote.address().to_string();
    const bool exempt =
        std::any_of(options.trusted_proxies.begin(), options.trusted_proxies.end(),
                    [&](const cidr_block& b) { return b.contains(address); });
    a = limiter.admit(address, exempt);
    if (admitted(a)) return true;
    (a == admission::over_address ? refused_per_address : refused_total).fetch_add(1);
    // Closed without a reply: answering would cost the reads and writes the cap saves. A
    // reset (linger 0) frees the descriptor and the port at once.
    socket.set_option(asio::socket_base::linger(true, 0), ec);
    socket.close(ec);
    // One line a second at most: a flood must not become a flood of log lines.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log >= std::chrono::seconds(1)) {
        last_refusal_log = now;
        log.warn("connection refused by cap",
                 {{"remote", address},
                  {"cap", a == admission::over_address ? "max_connections_per_address"
                                                       : "max_connections"},
                  {"open_connections", limiter.open()},
                  {"from_address", limiter.open_from(address)}});
    }
    return false;
}

void server::impl::shed_pending_connection()
{
    if (spare_fd < 0) {  // lost to another thread's open last time: take it back when free
        spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (spare_fd < 0) return;
    }
    ::close(spare_fd);
    const int fd = ::accept4(acceptor->native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
        ::close(fd);
        refused_no_descriptors.fetch_add(1);
    }
    spare_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void server::impl::start_connection(std::size_t index, tcp::socket socket, std::string address,
                                    admission a)
{
    // Spawned from the connection's own io_context thread (STYLE.md section 3: post first).
    auto start = [this, index, s = std::move(socket), addr = std::move(address), a]() mutable {
        asio::co_spawn(*contexts[index], handle_connection(index, std::move(s), std::move(addr), a),
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
    if (options.on_stop) options.on_stop();
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

awaitable<void> server::impl::handle_connection(std::size_t index, tcp::socket socket,
                                                std::string address, admission a)
{
    const admission_ticket ticket(limiter, std::move(address), a);
    beast::tcp_stream stream(std::move(socket));
    connection_info info;
    info.health_only = a == admission::health_only;
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

server::refused_counts server::refused_connections() const noexcept
{
    return {impl_->refused_per_address.load(), impl_->refused_total.load(),
            impl_->refused_no_descriptors.load()};
}

std::size_t server::max_connections() const noexcept
{
    return impl_->limiter.caps().max_connections;
}

asio::any_io_executor server::executor() const
{
    return impl_->contexts[0]->get_executor();
}

bool server::draining() const noexcept { return impl_->draining.load(); }

void server::stop()
{
    impl* self = impl_.get();
    asio::post(*self->contexts[0], [self] { self->begin_drain(); });
}

}  // namespace stirgate::net
