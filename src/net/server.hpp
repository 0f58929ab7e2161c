#pragma once
// The HTTP/1.1 server: Beast on C++20 coroutines with Boost 1.74 APIs only (STYLE.md section 3).
//
// Threads: one io_context per I/O thread, each run by exactly one thread. The acceptor lives on
// the first; each accepted socket is pinned round-robin to one io_context for its whole life, so
// a connection's state is touched by one thread only and needs no strand.
//
// Deadlines come from beast::tcp_stream::expires_after: the header of the first request must
// arrive within read_timeout, the next one on a kept-alive connection within idle_timeout, a
// body within read_timeout, a reply must be sent within write_timeout. A connection that misses
// one is closed.

#include "net/net.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "obs/log.hpp"
#include "net/cidr.hpp"
#include "net/connection_limits.hpp"
#include "net/http_framing.hpp"
#include "net/router.hpp"

namespace stirgate::net {

struct limits {
    std::size_t max_header_bytes = 8192;   // RFC 9110 section 15.5.20 (431), 15.5.15 (414)
    std::uint64_t max_body_bytes = 65536;  // RFC 9110 section 15.5.14 (413)
    std::chrono::milliseconds read_timeout{10000};
    std::chrono::milliseconds idle_timeout{10000};
    std::chrono::milliseconds write_timeout{10000};
};

// Request ids: a random per-process prefix plus a counter, so ids from several instances behind
// one load balancer do not collide. Thread-safe.
class request_ids final {
public:
    request_ids();
    std::string next();

private:
    std::string prefix_;
    std::atomic<std::uint64_t> counter_{0};
};

// Sees every answered request (metrics), after its log line. Called on the I/O thread that
// answered: must be thread-safe, cheap and not throw.
class request_observer {
public:
    virtual ~request_observer() = default;
    virtual void on_request(const request_context& ctx, unsigned status,
                            std::chrono::steady_clock::duration elapsed) noexcept = 0;
};

// Everything serve_http needs; built before io_context::run() and outliving it.
struct http_service {
    const router& routes;
    limits lim;
    obs::logger& log;
    request_ids& ids;
    // Set when the server drains: replies then carry Connection: close and no new request is
    // read on the connection.
    const std::atomic<bool>* stopping = nullptr;
    // Set from the drain signal on (server_options::drain_delay): requests are still read, even
    // on new connections, but every reply carries Connection: close.
    const std::atomic<bool>* draining = nullptr;
    request_observer* observer = nullptr;  // optional
    // Paths a health_only connection may use (server_options::health_paths); nullptr = none.
    const std::vector<std::string>* health_paths = nullptr;
};

// Per-connection state shared with the server, which closes idle connections when draining.
struct connection_info {
    boost::asio::ip::tcp::endpoint remote;
    bool busy = false;  // between receiving a request header and finishing the reply
    // Admitted into the health reserve above [server] max_connections: one request, answered
    // only for a health path (503 otherwise), then the connection closes.
    bool health_only = false;
};

// Completion handler for co_spawn: logs an escaped exception instead of dropping it, as
// asio::detached would. Ends only the coroutine it was attached to.
struct log_exception {
    obs::logger* log;
    const char* task;
    void operator()(std::exception_ptr e) const;
};

namespace detail {

template <class Stream>
inline constexpr bool is_tcp_stream = std::is_same_v<Stream, boost::beast::tcp_stream>;

template <class Stream>
void set_deadline(Stream& stream, std::chrono::milliseconds d)
{
    if constexpr (is_tcp_stream<Stream>)
        stream.expires_after(d);
    else
        (void)stream, (void)d;  // beast::test::stream has no clock
}

template <class Stream>
void clear_deadline(Stream& stream)
{
    if constexpr (is_tcp_stream<Stream>)
        stream.expires_never();
    else
        (void)stream;
}

// What a failed read deserves: an errc to answer with before closing, or nothing (the peer
// left, timed out or reset: there is nobody to answer).
std::optional<errc> read_error_reply(const boost::beast::error_code& ec, bool start_line_parsed);

bool expects_continue(const http_request& header);

// True when `target`'s path (without the query) is one of svc.health_paths.
bool is_health_path(const http_service& svc, std::string_view target);

void log_request(const http_service& svc, const request_context& ctx, unsigned status,
                 std::chrono::steady_clock::time_point started);

// Once an error reply is sent on a connection whose client may still be sending (a 413 body),
// stop sending and read-and-discard for a bounded time before closing: closing a socket with
// unread input makes the kernel send RST, which can destroy the reply before the client reads it.
template <class Stream>
awaitable<void> lingering_close(Stream& stream)
{
    namespace asio = boost::asio;
    if constexpr (is_tcp_stream<Stream>) {
        boost::beast::error_code ec;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
        stream.expires_after(std::chrono::seconds(2));
        char sink[4096];
        std::size_t total = 0;
        while (!ec && total < (std::size_t{1} << 20)) {
            total += co_await stream.async_read_some(asio::buffer(sink),
                                                     asio::redirect_error(asio::use_awaitable, ec));
        }
    } else {
        (void)stream;
    }
    co_return;
}

}  // namespace detail

// Serves HTTP/1.1 requests on one connection until the peer leaves, an error reply closes it,
// a deadline passes, Connection: close, or the server drains. Never throws for bad input: a
// malformed request gets 400, an oversized header 431 (414 when the request line alone is too
// long), an oversized body 413, each followed by closing. Exceptions escaping a handler become
// a logged 500. One JSON log line per request on svc.log.
//
// Stream is beast::tcp_stream in production and beast::test::stream in tests, which is why
// completion tokens are passed explicitly. `svc` and `conn` must outlive the coroutine.
template <class Stream>
awaitable<void> serve_http(Stream& stream, const http_service& svc, connection_info& conn)
{
    namespace asio = boost::asio;
    namespace beast = boost::beast;
    namespace http = beast::http;

    beast::flat_buffer buffer;
    bool first = true;
    for (;;) {
        if (svc.stopping && svc.stopping->load()) co_return;
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(svc.lim.max_header_bytes));
        parser.body_limit(svc.lim.max_body_bytes);

        beast::error_code ec;
        conn.busy = false;
        detail::set_deadline(stream, first ? svc.lim.read_timeout : svc.lim.idle_timeout);
        co_await http::async_read_header(stream, buffer, parser,
                                         asio::redirect_error(asio::use_awaitable, ec));
        const auto started = std::chrono::steady_clock::now();
        conn.busy = true;
        first = false;
        // A framing Beast would read as "no body" (RFC 9112 section 6.3): 400, then close.
        if (!ec && !acceptable_transfer_encoding(parser.get()))
            ec = http::error::bad_transfer_encoding;

        if (!ec && !parser.is_done()) {
            // RFC 9110 section 10.1.1: a client waiting for 100 Continue would otherwise stall
            // (curl waits a second before sending a body it announced).
            if (detail::expects_continue(parser.get())) {
                static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
                detail::set_deadline(stream, svc.lim.write_timeout);
                co_await asio::async_write(stream, asio::buffer(cont.data(), cont.size()),
                                           asio::redirect_error(asio::use_awaitable, ec));
            }
            if (!ec) {
                detail::set_deadline(stream, svc.lim.read_timeout);
                co_await http::async_read(stream, buffer, parser,
                                          asio::redirect_error(asio::use_awaitable, ec));
            }
        }

        request_context ctx;
        ctx.remote = conn.remote;

        if (ec) {
            const bool start_line_parsed = !parser.get().target().empty();
            const auto reply_errc = detail::read_error_reply(ec, start_line_parsed);
            if (!reply_errc) co_return;
            ctx.request_id = svc.ids.next();
            // The header is known only for a body that was too large.
            if (*reply_errc == errc::payload_too_large) {
                ctx.request.method(parser.get().method());
                ctx.request.target(parser.get().target());
                ctx.path =
                    std::string(parser.get().target().substr(0, parser.get().target().find('?')));
                ctx.style = svc.routes.style_for(ctx.path);
            }
            ctx.request.version(11);
            http_response res = ctx.fail(error{*reply_errc, ec.message()});
            finalize_response(res, 11, false);
            res.set("X-Request-Id", ctx.request_id);
            // A HEAD request refused after its header was read gets no content either.
            if (parser.is_header_done() && parser.get().method() == http::verb::head)
                res.body().clear();
            detail::log_request(svc, ctx, res.result_int(), started);
            detail::set_deadline(stream, svc.lim.write_timeout);
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) co_await detail::lingering_close(stream);
            co_return;
        }

        ctx.request_id = svc.ids.next();
        ctx.request = parser.release();
        const unsigned version = ctx.request.version();
        http_response res;
        bool handler_threw = false;
        if (conn.health_only && !detail::is_health_path(svc, ctx.request.target())) {
            ctx.path = std::string(ctx.request.target().substr(0, ctx.request.target().find('?')));
            ctx.style = svc.routes.style_for(ctx.path);
            res = ctx.fail(error{errc::service_unavailable, "connection cap reached"});
        } else {
            try {
                res = co_await svc.routes.dispatch(ctx);
            } catch (const std::exception& e) {
                svc.log.error("handler failed",
                              {{"id", ctx.request_id}, {"route", ctx.route}, {"error", e.what()}});
                handler_threw = true;
            }
        }
        if (handler_threw) res = ctx.fail(error{errc::internal, "handler threw"});

        const bool keep_alive = ctx.request.keep_alive() && !conn.health_only &&
                                !(svc.stopping && svc.stopping->load()) &&
                                !(svc.draining && svc.draining->load());
        finalize_response(res, version, keep_alive);
        res.set("X-Request-Id", ctx.request_id);
        // RFC 9110 section 9.3.2: a HEAD reply keeps the header fields (Content-Length
        // included) and sends no content, or the client reads it as the next reply.
        if (ctx.request.method() == http::verb::head) res.body().clear();
        detail::log_request(svc, ctx, res.result_int(), started);

        detail::set_deadline(stream, svc.lim.write_timeout);
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        conn.busy = false;
        if (ec || !keep_alive) co_return;
    }
}

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;  // 0: the OS picks; read it from local_endpoint()
    unsigned threads = 0;       // 0: std::thread::hardware_concurrency()
    limits lim;
    std::chrono::milliseconds drain_timeout{10000};
    request_observer* observer = nullptr;  // optional; must outlive the server
    // Between the signal and the drain: readiness is 503 and every reply closes its
    // connection, but new connections are still served, so a load balancer that has not yet
    // seen the 503 loses nothing.
    std::chrono::milliseconds drain_delay{0};
    // Open-connection caps (net/connection_limits.hpp). A connection over the per-address cap,
    // or over max_connections plus the health reserve, is closed as soon as it is accepted;
    // one inside the reserve is served for health_paths only. Peers in trusted_proxies (a load
    // balancer carries many clients) are exempt from the per-address cap.
    connection_caps caps;
    std::vector<cidr_block> trusted_proxies;
    std::vector<std::string> health_paths{"/healthz", "/readyz"};
    // Descriptors kept free for everything that is not an inbound connection (the store, the
    // outbound clients, the log, the process's own): max_connections + health_reserve +
    // fd_reserve must fit RLIMIT_NOFILE. The soft limit is raised towards the hard one when it
    // does not; failing that max_connections is lowered, with a warning.
    std::size_t fd_reserve = 64;
    // Called on the first I/O thread when the drain starts (after drain_delay): other listeners
    // sharing the I/O threads (the SIP face) close their sockets, so the threads can end.
    std::function<void()> on_stop = {};
};

class server final {
public:
    // `routes` and `log` must outlive the server.
    server(server_options options, const router& routes, obs::logger& log);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Resolves, binds and listens, then logs {"msg":"listening","address","port"}. Throws
    // std::runtime_error naming the address when that fails.
    void listen();
    boost::asio::ip::tcp::endpoint local_endpoint() const;

    // Serves until SIGTERM/SIGINT or stop(), waits drain_delay, then drains: stops accepting,
    // closes idle connections, lets in-flight requests finish for at most drain_timeout. A
    // second signal skips what is left of the delay. Returns the process exit code (0).
    int run();

    // The first I/O thread's executor (run by that thread alone while run() runs), for other
    // listeners sharing the I/O threads; they end their work when on_stop is called.
    boost::asio::any_io_executor executor() const;

    // Starts the delay and then the drain from any thread (what the signals do).
    void stop();

    // True from the signal on, delay included (readiness probes answer 503 from then on).
    bool draining() const noexcept;

    // Connections accepted and not yet closed (stirgate_open_connections).
    int open_connections() const noexcept;

    // Connections closed at accept by the caps, since start (stirgate_connections_refused_total).
    struct refused_counts {
        std::uint64_t per_address = 0;
        std::uint64_t total = 0;
        std::uint64_t no_descriptors = 0;  // accepted and closed at once during EMFILE/ENFILE
    };
    refused_counts refused_connections() const noexcept;
    // max_connections as applied (after the RLIMIT_NOFILE check).
    std::size_t max_connections() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace stirgate::net
