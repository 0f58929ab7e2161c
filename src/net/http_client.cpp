#include "net/http_client.hpp"

#include "core/text.hpp"

#include "net/address_policy.hpp"
#include "net/url.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <tuple>

namespace stirgate::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// The read buffer only ever holds one read's worth of bytes beyond the header block: string_body
// moves body bytes out of it as they arrive, so this bounds it without limiting the body.
constexpr std::size_t read_chunk_bytes = 65536;

// Scheme, authority and path reach the logs, never the query: it may carry a customer's secrets.
std::string loggable(const url& u)
{
    return u.scheme + "://" + u.authority() + u.target.substr(0, u.target.find('?'));
}

error fail(errc code, const std::string& where, std::string_view what)
{
    return error{code, where + ": " + std::string(what)};
}

bool is_timeout(const beast::error_code& ec)
{
    return ec == beast::error::timeout;
}

// Why the policy refuses `u`'s scheme, port or host; nullptr when it allows them.
const char* url_policy_refusal(const url& u, const http_client_policy& policy)
{
    if (std::find(policy.allowed_schemes.begin(), policy.allowed_schemes.end(), u.scheme) ==
        policy.allowed_schemes.end())
        return "scheme not allowed";
    if (!policy.allowed_ports.empty() &&
        std::find(policy.allowed_ports.begin(), policy.allowed_ports.end(), u.port) ==
            policy.allowed_ports.end())
        return "port not allowed";
    if (!policy.allowed_hosts.empty() &&
        std::none_of(policy.allowed_hosts.begin(), policy.allowed_hosts.end(),
                     [&](const std::string& h) { return core::iequals(h, u.host); }))
        return "host not allowed";
    return nullptr;
}

result<void> check_url_policy(const url& u, const http_client_policy& policy)
{
    if (const char* why = url_policy_refusal(u, policy))
        return fail(errc::upstream_refused, loggable(u), why);
    return ok();
}

// Refuses the whole request when any address is not public, rather than filtering: a name that
// mixes public and private answers is a DNS-rebinding attempt or a misconfiguration.
address_rules rules_of(const http_client_policy& policy)
{
    return address_rules{policy.allow_private_addresses, policy.allowed_addresses};
}

result<void> check_addresses(const std::vector<tcp::endpoint>& endpoints,
                             const http_client_policy& policy, const std::string& where)
{
    const address_rules rules = rules_of(policy);
    for (const auto& ep : endpoints)
        if (auto why = address_refusal(ep.address().to_string(), rules))
            return fail(errc::upstream_refused, where, *why);
    return ok();
}

const resolve_pin* find_pin(const url& u, const http_client_policy& policy)
{
    for (const auto& pin : policy.pins)
        if (pin.port == u.port && core::iequals(pin.host, u.host)) return &pin;
    return nullptr;
}

// Pin, IP literal or DNS, then the address policy. The resolver has no deadline of its own, so a
// timer cancels it; the timer's handler shares ownership of the resolver because it may already
// be queued when the resolve completes and this frame moves on.
asio::awaitable<result<std::vector<tcp::endpoint>>> resolve_endpoints(
    const url& u, const http_client_policy& policy, clock_type::time_point deadline)
{
    const std::string where = loggable(u);
    if (const resolve_pin* pin = find_pin(u, policy)) {
        beast::error_code ec;
        const auto address = asio::ip::make_address(pin->address, ec);
        if (ec) co_return fail(errc::upstream_refused, where, "pin address is not an IP literal");
        const std::uint16_t port = pin->connect_port != 0 ? pin->connect_port : u.port;
        co_return std::vector<tcp::endpoint>{tcp::endpoint(address, port)};
    }
    if (u.kind != host_kind::name) {
        beast::error_code ec;
        const auto address = asio::ip::make_address(u.host, ec);
        if (ec) co_return fail(errc::upstream_refused, where, "bad IP literal");
        std::vector<tcp::endpoint> one{tcp::endpoint(address, u.port)};
        if (auto r = check_addresses(one, policy, where); !r) co_return std::move(r).err();
        co_return one;
    }

    const auto ex = co_await asio::this_coro::executor;
    auto resolver = std::make_shared<tcp::resolver>(ex);
    asio::steady_timer timer(ex);
    timer.expires_at(deadline);
    auto cancel_resolver = [resolver](const beast::error_code& ec) {
        if (!ec) resolver->cancel();
    };
    timer.async_wait(cancel_resolver);

    beast::error_code ec;
    const auto results = co_await resolver->async_resolve(
        u.host, std::to_string(u.port), tcp::resolver::numeric_service,
        asio::redirect_error(asio::use_awaitable, ec));
    timer.cancel();
    if (ec == asio::error::operation_aborted)
        co_return fail(errc::upstream_timeout, where, "DNS resolution timed out");
    if (ec) co_return fail(errc::upstream_unreachable, where, "DNS: " + ec.message());

    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    if (endpoints.empty()) co_return fail(errc::upstream_unreachable, where, "DNS: no addresses");
    if (auto r = check_addresses(endpoints, policy, where); !r) co_return std::move(r).err();
    co_return endpoints;
}

// RFC 9110 section 5.1: a field name is a token.
bool is_token(std::string_view s)
{
    constexpr std::string_view others = "!#$%&'*+-.^_`|~";
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               others.find(c) != std::string_view::npos;
    });
}

// RFC 9110 section 5.5: no CR, LF or NUL (other controls are obsolete; refuse them too).
bool is_field_value(std::string_view s)
{
    return std::none_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 0x20 && c != '\t') || u == 0x7f;
    });
}

result<http::request<http::string_body>> build_request(const url& u, http_request_spec& spec,
                                                       const http_client_policy& policy)
{
    const std::string where = loggable(u);
    http::request<http::string_body> req{spec.method, u.target, 11};
    req.set(http::field::host, u.authority());
    req.set(http::field::user_agent, policy.user_agent);
    // One connection per request: say so, so the server closes. HTTP/1.1 keeps it alive otherwise.
    if (!policy.keep_alive) req.set(http::field::connection, "close");
    for (auto& [name, value] : spec.headers) {
        // Framing and routing headers are ours: a caller-supplied one could split the request.
        if (core::iequals(name, "host") || core::iequals(name, "content-length") ||
            core::iequals(name, "transfer-encoding") || core::iequals(name, "connection"))
            return fail(errc::upstream_refused, where, "header " + name + " is set by the client");
        if (!is_token(name) || !is_field_value(value))
            return fail(errc::upstream_refused, where, "malformed header name or value");
        req.insert(name, value);
    }
    req.body() = std::move(spec.body);
    if (!req.body().empty() || spec.method == http::verb::post || spec.method == http::verb::put ||
        spec.method == http::verb::patch)
        req.prepare_payload();
    return req;
}

// What one request/response on a connection came to, and what it leaves of the connection.
struct exchange_outcome {
    result<http_reply> reply;
    bool written_whole = false;     // every byte of the request was handed to the socket
    bool response_started = false;  // some byte of a response arrived
    bool reusable = false;          // complete, self-delimited, keep-alive, nothing left over
};

// Write the request and read one response. The deadline is already armed on the lowest layer.
template <class Stream>
asio::awaitable<exchange_outcome> exchange(Stream& stream, http::request<http::string_body>& req,
                                           const http_client_policy& policy,
                                           const std::string& where)
{
    exchange_outcome out;
    beast::error_code ec;
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    if (is_timeout(ec)) {
        out.reply = fail(errc::upstream_timeout, where, "timed out sending");
        co_return out;
    }
    if (ec) {
        out.reply = fail(errc::upstream_unreachable, where, "sending: " + ec.message());
        co_return out;
    }
    out.written_whole = true;

    beast::flat_buffer buffer(policy.max_header_bytes + read_chunk_bytes);
    http::response_parser<http::string_body> parser;
    parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(policy.max_header_bytes, UINT32_MAX)));
    // Enforced while reading: a Content-Length over the cap fails at the header, a chunked or
    // close-delimited body as soon as it passes the cap, so memory never grows past it.
    parser.body_limit(static_cast<std::uint64_t>(policy.max_body_bytes));
    if (req.method() == http::verb::head) parser.skip(true);

    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    out.response_started = parser.got_some() || buffer.size() > 0;
    // Many servers close without TLS close_notify; that only matters when the close is what ends
    // the body. A body framed by Content-Length or chunking is complete whatever follows it.
    if (ec == ssl::error::stream_truncated && parser.is_done()) ec = {};
    if (is_timeout(ec)) out.reply = fail(errc::upstream_timeout, where, "timed out reading");
    else if (ec == http::error::body_limit)
        out.reply = fail(errc::upstream_bad_response, where,
                         "body over " + std::to_string(policy.max_body_bytes) + " bytes");
    else if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        out.reply = fail(errc::upstream_bad_response, where, "header block too large");
    else if (ec == ssl::error::stream_truncated)
        out.reply = fail(errc::upstream_bad_response, where,
                         "connection closed without close_notify before the body ended");
    else if (ec && ec.category() == asio::error::get_ssl_category())
        out.reply = fail(errc::upstream_tls, where, "TLS: " + ec.message());
    else if (ec)
        out.reply = fail(errc::upstream_bad_response, where, "reading: " + ec.message());
    if (ec) co_return out;

    // Bytes after the response would be a second response nobody asked for: not reusable.
    out.reusable = parser.is_done() && !parser.need_eof() && parser.get().keep_alive() &&
                   req.keep_alive() && buffer.size() == 0;
    auto res = parser.release();
    http_reply reply;
    reply.status = res.result_int();
    for (const auto& field : res)
        reply.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    reply.body = std::move(res.body());
    out.reply = std::move(reply);
    co_return out;
}

// One open connection, plain or TLS, as the pool keeps it.
struct connection {
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    clock_type::time_point idle_until{};

    beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*tls); }
};

// An idle connection has nothing to say: anything readable (EOF, a reset, a TLS alert such as
// close_notify, stray bytes) means the server is done with it. Non-blocking, so it costs one
// system call.
bool looks_alive(connection& c)
{
    if (c.tls && SSL_has_pending(c.tls->native_handle()) != 0) return false;
    auto& socket = c.lowest().socket();
    if (!socket.is_open()) return false;
    char byte = 0;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct pool_key {
    std::uint64_t client = 0;
    std::string scheme;
    std::string host;  // lower case
    std::uint16_t port = 0;

    bool operator<(const pool_key& o) const
    {
        return std::tie(client, scheme, host, port) < std::tie(o.client, o.scheme, o.host, o.port);
    }
};

// Idle connections of one execution context. An Asio service, so the context shuts it down (and
// closes its sockets) before its reactor goes: a socket must not outlive its io_context, and the
// gateway's I/O contexts end before the clients built in main do.
class idle_pool final : public asio::execution_context::service {
public:
    static inline asio::execution_context::id id;

    explicit idle_pool(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

    // The most recently used live connection for `key`, or nullptr. Expired and dead ones found
    // on the way are closed.
    std::unique_ptr<connection> take(const pool_key& k, clock_type::time_point now)
    {
        std::deque<std::unique_ptr<connection>> dropped;  // closed after the lock is released
        std::lock_guard lock(mutex_);
        const auto it = idle_.find(k);
        if (it == idle_.end()) return nullptr;
        auto& list = it->second;
        std::unique_ptr<connection> found;
        while (!list.empty() && !found) {
            auto c = std::move(list.back());
            list.pop_back();
            if (c->idle_until > now && looks_alive(*c)) found = std::move(c);
            else dropped.push_back(std::move(c));
        }
        if (list.empty()) idle_.erase(it);
        return found;
    }

    void put(const pool_key& k, std::unique_ptr<connection> c, std::size_t max_idle,
             clock_type::time_point now)
    {
        std::deque<std::unique_ptr<connection>> dropped;
        std::lock_guard lock(mutex_);
        // Expired connections of every key go here, so a key nobody asks for again (or a client
        // that is gone) does not hold sockets past their idle timeout for long.
        for (auto it = idle_.begin(); it != idle_.end();) {
            auto& list = it->second;
            while (!list.empty() && list.front()->idle_until <= now) {
                dropped.push_back(std::move(list.front()));
                list.pop_front();
            }
            it = list.empty() ? idle_.erase(it) : std::next(it);
        }
        if (max_idle == 0) return;
        auto& list = idle_[k];
        list.push_back(std::move(c));
        while (list.size() > max_idle) {
            dropped.push_back(std::move(list.front()));
            list.pop_front();
        }
    }

private:
    void shutdown() override
    {
        std::map<pool_key, std::deque<std::unique_ptr<connection>>> doomed;
        std::lock_guard lock(mutex_);
        doomed.swap(idle_);
    }

    std::mutex mutex_;
    std::map<pool_key, std::deque<std::unique_ptr<connection>>> idle_;
};

std::atomic<std::uint64_t> next_client_id{1};

std::string verify_failure(SSL* ssl_handle)
{
    const long v = SSL_get_verify_result(ssl_handle);
    if (v == X509_V_OK) return {};
    return std::string("; certificate: ") + X509_verify_cert_error_string(v);
}

}  // namespace

result<void> check_destination(std::string_view url_text, const http_client_policy& policy)
{
    auto u = parse_url(url_text);
    if (!u) return error{errc::url_invalid, u.err().detail};
    // The caller names the parameter: the reason alone, without the URL.
    if (const char* why = url_policy_refusal(*u, policy)) return error{errc::url_invalid, why};
    if (find_pin(*u, policy)) return ok();
    if (u->kind != host_kind::name) {
        if (auto why = address_refusal(u->host, rules_of(policy)))
            return error{errc::url_invalid, *why};
    } else if ((u->host == "localhost" || u->host.ends_with(".localhost")) &&
               !policy.allow_private_addresses) {
        return error{errc::url_invalid, "host " + u->host + " is loopback"};
    }
    return ok();
}

std::optional<std::string_view> http_reply::header(std::string_view name) const
{
    for (const auto& [n, v] : headers)
        if (core::iequals(n, name)) return std::string_view(v);
    return std::nullopt;
}

struct beast_http_client::atomic_counters {
    std::atomic<std::uint64_t> opened{0};
    std::atomic<std::uint64_t> reused{0};
    std::atomic<std::uint64_t> retried{0};
};

bool may_retry_on_new_connection(http::verb method, bool written_whole,
                                 bool response_started) noexcept
{
    if (!written_whole) return true;  // the server never had the whole request to act on
    const bool idempotent = method == http::verb::get || method == http::verb::head;
    return idempotent && !response_started;
}

beast_http_client::beast_http_client(http_client_policy policy)
    : policy_(std::move(policy)),
      tls_(ssl::context::tls_client),
      id_(next_client_id.fetch_add(1)),
      counters_(std::make_unique<atomic_counters>())
{
    for (auto& s : policy_.allowed_schemes) s = core::ascii_lower(s);
    for (auto& h : policy_.allowed_hosts) h = core::ascii_lower(h);
    for (const auto& pin : policy_.pins) {
        beast::error_code ec;
        (void)asio::ip::make_address(pin.address, ec);
        if (ec || pin.host.empty() || pin.port == 0)
            throw std::runtime_error("resolve pin " + pin.host + ":" + std::to_string(pin.port) +
                                     ":" + pin.address + " is not HOST:PORT:IP-ADDRESS");
    }

    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
    tls_.set_verify_mode(ssl::verify_peer);
    beast::error_code ec;
    if (policy_.ca_file.empty())
        tls_.set_default_verify_paths(ec);
    else
        tls_.load_verify_file(policy_.ca_file, ec);
    if (ec)
        throw std::runtime_error(
            "cannot load TLS roots " +
            (policy_.ca_file.empty() ? std::string("(system)") : policy_.ca_file) + ": " +
            ec.message());
}

beast_http_client::~beast_http_client() = default;

beast_http_client::counters beast_http_client::stats() const noexcept
{
    return {counters_->opened.load(), counters_->reused.load(), counters_->retried.load()};
}

namespace {

// A new connection: resolve (pin, literal or DNS) under the address policy, connect, and for
// https the TLS handshake with SNI and the peer name checked inside chain verification.
asio::awaitable<result<std::unique_ptr<connection>>> open_connection(
    const url& u, const http_client_policy& policy, ssl::context& tls,
    clock_type::time_point deadline)
{
    const std::string where = loggable(u);
    auto endpoints = co_await resolve_endpoints(u, policy, deadline);
    if (!endpoints) co_return std::move(endpoints).err();

    const auto ex = co_await asio::this_coro::executor;
    beast::error_code ec;
    auto c = std::make_unique<connection>();
    if (u.scheme == "http")
        c->plain = std::make_unique<beast::tcp_stream>(ex);
    else
        c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, tls);
    auto& lowest = c->lowest();
    lowest.expires_at(deadline);
    co_await lowest.async_connect(*endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (is_timeout(ec)) co_return fail(errc::upstream_timeout, where, "connect timed out");
    if (ec) co_return fail(errc::upstream_unreachable, where, "connect: " + ec.message());
    if (c->plain) co_return c;

    SSL* const handle = c->tls->native_handle();
    // RFC 6066 section 3: SNI carries DNS names only, never IP literals.
    if (u.kind == host_kind::name && SSL_set_tlsext_host_name(handle, u.host.c_str()) != 1)
        co_return fail(errc::upstream_tls, where, "cannot set SNI");
    // The name (or IP) check runs inside OpenSSL's chain verification (rather than as an Asio
    // verify callback), so a mismatch fails the handshake with a precise verify result.
    X509_VERIFY_PARAM* const param = SSL_get0_param(handle);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = u.kind == host_kind::name
                        ? X509_VERIFY_PARAM_set1_host(param, u.host.c_str(), 0)
                        : X509_VERIFY_PARAM_set1_ip_asc(param, u.host.c_str());
    if (set != 1) co_return fail(errc::upstream_tls, where, "cannot set the expected peer name");

    co_await c->tls->async_handshake(ssl::stream_base::client,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (is_timeout(ec)) co_return fail(errc::upstream_timeout, where, "TLS handshake timed out");
    if (ec)
        co_return fail(errc::upstream_tls, where,
                       "TLS handshake: " + ec.message() + verify_failure(handle));
    co_return c;
}

}  // namespace

asio::awaitable<result<http_reply>> beast_http_client::request(http_request_spec spec)
{
    // One deadline for everything: each step is armed with what is left of it, so bytes
    // dripping one at a time cannot stretch the exchange (Asterisk's default is 2 s overall).
    // A retry on a new connection (keep-alive only) shares it.
    const auto deadline = clock_type::now() + policy_.timeout;

    auto parsed = parse_url(spec.url);
    if (!parsed) co_return error{errc::upstream_refused, "URL: " + parsed.err().detail};
    const url u = std::move(*parsed);
    const std::string where = loggable(u);
    if (auto r = check_url_policy(u, policy_); !r) co_return std::move(r).err();
    auto req = build_request(u, spec, policy_);
    if (!req) co_return std::move(req).err();

    const auto ex = co_await asio::this_coro::executor;
    idle_pool* const pool =
        policy_.keep_alive
            ? &asio::use_service<idle_pool>(asio::query(ex, asio::execution::context))
            : nullptr;
    const pool_key key{id_, u.scheme, core::ascii_lower(u.host), u.port};

    bool retried = false;
    for (;;) {
        std::unique_ptr<connection> conn;
        if (pool && !retried) conn = pool->take(key, clock_type::now());
        const bool reused = conn != nullptr;
        if (reused) {
            ++counters_->reused;
        } else {
            auto opened = co_await open_connection(u, policy_, tls_, deadline);
            if (!opened) co_return std::move(opened).err();
            conn = std::move(*opened);
            ++counters_->opened;
        }
        conn->lowest().expires_at(deadline);
        // Two statements, not a conditional: g++ 12 mishandles co_await inside ?: (the result
        // is copied bitwise and destroyed twice).
        exchange_outcome out;
        if (conn->tls)
            out = co_await exchange(*conn->tls, *req, policy_, where);
        else
            out = co_await exchange(*conn->plain, *req, policy_, where);
        beast::error_code ec;
        if (!out.reply && reused && !retried && clock_type::now() < deadline &&
            may_retry_on_new_connection(spec.method, out.written_whole, out.response_started)) {
            conn->lowest().socket().close(ec);
            retried = true;
            ++counters_->retried;
            continue;
        }
        if (pool && out.reply && out.reusable) {
            conn->lowest().expires_never();
            const auto now = clock_type::now();
            conn->idle_until = now + policy_.idle_timeout;
            pool->put(key, std::move(conn), policy_.max_idle_per_host, now);
        } else {
            // No TLS shutdown: the response is framed (or the connection failed), so waiting for
            // the server's close_notify would only add latency (and a way to stall us).
            conn->lowest().socket().close(ec);
        }
        co_return std::move(out.reply);
    }
}

}  // namespace stirgate::net
