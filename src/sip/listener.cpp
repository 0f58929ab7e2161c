#include "sip/listener.hpp"

#include <array>
#include <list>
#include <stdexcept>

#include <boost/beast/core/tcp_stream.hpp>

#include "core/error.hpp"
#include "net/server.hpp"
#include "sip/rate_limit.hpp"
#include "sip/redirect.hpp"

namespace stirgate::sip {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using asio::ip::udp;

const peer* find_peer(const std::vector<peer>& peers, std::string_view address)
{
    for (const auto& p : peers)
        if (p.cidr.contains(address)) return &p;
    return nullptr;
}

bool only_line_ends(std::string_view s)
{
    return s.find_first_not_of("\r\n") == std::string_view::npos;
}

}  // namespace

std::string_view to_string(transport t) noexcept
{
    return t == transport::udp ? "udp" : "tcp";
}

redirect_service::redirect_service(service_dependencies deps) : deps_(std::move(deps)) {}

asio::awaitable<exchange_result> redirect_service::handle(std::string message, std::string address,
                                                          std::uint16_t port, transport via) const
{
    const auto started = std::chrono::steady_clock::now();
    const parse_result parsed = parse_request(message, deps_.limits, address, port);
    exchange_result out;
    if (parsed.status == parse_status::not_a_request) {
        out.not_sip = true;
        co_return out;
    }

    core::account_ptr account;
    const peer* from_peer = find_peer(deps_.peers, address);
    if (from_peer) account = deps_.accounts.find(from_peer->account_sid);
    redirect_context ctx;
    ctx.account = account.get();
    ctx.signer = &deps_.signer;
    ctx.now = deps_.now();
    ctx.iat_window_s = deps_.verifier.policy().iat_window_s;
    decision d = decide(parsed, ctx);

    std::string note = std::move(d.note);
    int status = d.status;
    if (d.what == action::verify) {
        const core::verification_outcome outcome =
            co_await deps_.verifier.verify(std::move(d.identities), std::move(d.call));
        out.response = verified_response(parsed.req, outcome, from_peer && from_peer->passthrough);
        status = 302;
        note = outcome.code == errc{} ? std::string("verified") : errc_name(outcome.code);
    } else if (d.what == action::reply) {
        out.response = std::move(d.response);
    }

    const auto elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    const double rounded =
        static_cast<double>(static_cast<std::int64_t>(elapsed.count() * 1000)) / 1000;
    const std::string_view call_id = std::string_view(parsed.req.call_id).substr(0, 128);
    const std::array<obs::log_field, 8> fields{
        obs::log_field("transport", to_string(via)),
        obs::log_field("remote", address),
        obs::log_field("method", std::string_view(parsed.req.method).substr(0, 32)),
        obs::log_field("status", status),
        obs::log_field("call_id", call_id),
        obs::log_field("account_sid",
                       account ? std::string_view(account->sid) : std::string_view()),
        obs::log_field("note", note),
        obs::log_field("duration_ms", rounded)};
    deps_.log.log_fields(status >= 500 ? obs::log_level::error : obs::log_level::info, "sip",
                         std::span<const obs::log_field>(fields.data(), fields.size()));
    if (deps_.on_message) deps_.on_message(parsed.req.method, status);
    co_return out;
}

// --- listener ----------------------------------------------------------------------------

namespace detail {

struct listener_state {
    asio::any_io_executor executor;
    listener_options options;
    std::shared_ptr<const redirect_service> service;
    obs::logger& log;
    std::optional<udp::socket> udp_socket;
    std::optional<tcp::acceptor> acceptor;
    std::list<beast::tcp_stream*> connections;  // owned by their coroutines
    source_rate rate;
    std::size_t udp_in_flight = 0;
    bool stopped = false;
    std::chrono::steady_clock::time_point last_drop_log{};

    listener_state(asio::any_io_executor ex, listener_options o,
                   std::shared_ptr<const redirect_service> s, obs::logger& l)
        : executor(std::move(ex)),
          options(std::move(o)),
          service(std::move(s)),
          log(l),
          rate(options.rate_per_source)
    {
    }

    void dropped(std::string_view reason, std::string_view address)
    {
        if (options.on_dropped) options.on_dropped(reason);
        // One line a second at most: a flood must not become a flood of log lines.
        const auto now = std::chrono::steady_clock::now();
        if (now - last_drop_log < std::chrono::seconds(1)) return;
        last_drop_log = now;
        log.warn("sip message dropped", {{"reason", reason}, {"remote", address}});
    }

    bool admit(std::string_view address)
    {
        if (rate.allow(address, std::chrono::steady_clock::now())) return true;
        dropped("rate", address);
        return false;
    }
};

}  // namespace detail

namespace {

using state_ptr = std::shared_ptr<detail::listener_state>;

asio::awaitable<void> answer_datagram(state_ptr st, std::string message, udp::endpoint from)
{
    struct in_flight final {
        std::size_t& n;
        explicit in_flight(std::size_t& count) : n(count) { ++n; }
        ~in_flight() { --n; }
        in_flight(const in_flight&) = delete;
        in_flight& operator=(const in_flight&) = delete;
    } const counted(st->udp_in_flight);
    const std::string address = from.address().to_string();
    const exchange_result result =
        co_await st->service->handle(std::move(message), address, from.port(), transport::udp);
    if (result.not_sip) st->dropped("not_sip", address);
    if (!result.response || st->stopped || !st->udp_socket) co_return;
    boost::system::error_code ec;
    co_await st->udp_socket->async_send_to(asio::buffer(*result.response), from,
                                           asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> receive_datagrams(state_ptr st)
{
    // One byte more than the limit: a datagram that fills it is too large (the kernel cuts it).
    std::vector<char> buffer(st->options.max_message_bytes + 1);
    for (;;) {
        udp::endpoint from;
        boost::system::error_code ec;
        const std::size_t n = co_await st->udp_socket->async_receive_from(
            asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
        if (st->stopped || ec == asio::error::operation_aborted) co_return;
        if (ec) continue;  // e.g. an ICMP error for an earlier reply
        const std::string_view bytes(buffer.data(), n);
        if (only_line_ends(bytes)) continue;  // keep-alive
        const std::string address = from.address().to_string();
        if (!st->admit(address)) continue;
        if (st->udp_in_flight >= st->options.max_udp_in_flight) {
            st->dropped("busy", address);
            continue;
        }
        asio::co_spawn(st->executor, answer_datagram(st, std::string(bytes), from),
                       net::log_exception{&st->log, "sip datagram"});
    }
}

// One TCP connection; lives in the frame of serve_connection.
class connection final {
public:
    connection(state_ptr st, tcp::socket socket)
        : st_(std::move(st)),
          stream_(std::move(socket)),
          it_(st_->connections.insert(st_->connections.end(), &stream_))
    {
    }
    ~connection() { st_->connections.erase(it_); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    asio::awaitable<void> run();

private:
    asio::awaitable<bool> read_more();
    asio::awaitable<bool> answer(std::string message);
    asio::awaitable<bool> skip_keep_alives();

    state_ptr st_;
    beast::tcp_stream stream_;
    std::list<beast::tcp_stream*>::iterator it_;
    tcp::endpoint remote_;
    std::string address_;
    std::string buffer_;
    std::array<char, 4096> chunk_{};
    boost::system::error_code ec_;
};

// Reads more bytes into buffer_; false when the peer left, reset or timed out.
asio::awaitable<bool> connection::read_more()
{
    const std::size_t n = co_await stream_.async_read_some(
        asio::buffer(chunk_), asio::redirect_error(asio::use_awaitable, ec_));
    if (ec_) co_return false;
    buffer_.append(chunk_.data(), n);
    co_return true;
}

// Answers `message`; false when the connection must end.
asio::awaitable<bool> connection::answer(std::string message)
{
    if (!st_->admit(address_)) co_return true;  // dropped unanswered; the framing still holds
    stream_.expires_never();                    // verification may wait for a certificate fetch
    const exchange_result result =
        co_await st_->service->handle(std::move(message), address_, remote_.port(), transport::tcp);
    if (result.not_sip) {
        st_->dropped("not_sip", address_);
        co_return false;
    }
    if (!result.response) co_return true;
    if (st_->stopped) co_return false;
    stream_.expires_after(st_->options.write_timeout);
    co_await asio::async_write(stream_, asio::buffer(*result.response),
                               asio::redirect_error(asio::use_awaitable, ec_));
    co_return !ec_;
}

// Line ends before a message: a double CRLF is a keep-alive ping answered with one CRLF
// (RFC 5626 section 4.4.1), a single one is skipped (RFC 3261 section 7.5). False on a write
// failure.
asio::awaitable<bool> connection::skip_keep_alives()
{
    for (;;) {
        if (buffer_.compare(0, 4, "\r\n\r\n") == 0) {
            buffer_.erase(0, 4);
            static constexpr std::string_view pong = "\r\n";
            stream_.expires_after(st_->options.write_timeout);
            co_await asio::async_write(stream_, asio::buffer(pong.data(), pong.size()),
                                       asio::redirect_error(asio::use_awaitable, ec_));
            if (ec_) co_return false;
            stream_.expires_after(st_->options.tcp_idle_timeout);
        } else if (buffer_.size() >= 3 && buffer_.compare(0, 2, "\r\n") == 0 &&
                   buffer_[2] != '\r') {
            buffer_.erase(0, 2);
        } else {
            co_return true;
        }
    }
}

asio::awaitable<void> connection::run()
{
    remote_ = stream_.socket().remote_endpoint(ec_);
    if (ec_) co_return;
    address_ = remote_.address().to_string();
    const std::size_t max = st_->options.max_message_bytes;
    bool first = true;
    while (!st_->stopped) {
        // The header block: within tcp_read_timeout of its first byte, and of the connection's
        // start; a kept connection may idle tcp_idle_timeout between messages.
        stream_.expires_after(first ? st_->options.tcp_read_timeout
                                    : st_->options.tcp_idle_timeout);
        first = false;
        bool begun = false;
        std::optional<std::size_t> end;
        for (;;) {
            if (!co_await skip_keep_alives()) co_return;
            if (!begun && !only_line_ends(buffer_)) {
                begun = true;
                stream_.expires_after(st_->options.tcp_read_timeout);
            }
            end = header_block_end(buffer_);
            if (end || buffer_.size() > max) break;
            if (!co_await read_more()) co_return;
        }
        if (!end) {  // a header block over the limit: 513 (nothing for garbage), then close
            co_await answer(std::move(buffer_));
            co_return;
        }
        const auto length = content_length(std::string_view(buffer_).substr(0, *end));
        // An unreadable Content-Length, or one past the limit: the reply (400, 513) is the
        // last, as the stream cannot be framed any further.
        if (!length || *end + *length > max) {
            co_await answer(std::move(buffer_));
            co_return;
        }
        const std::size_t total = *end + *length;
        while (buffer_.size() < total)
            if (!co_await read_more()) co_return;
        std::string message = buffer_.substr(0, total);
        buffer_.erase(0, total);
        if (!co_await answer(std::move(message))) co_return;
    }
}

asio::awaitable<void> serve_connection(state_ptr st, tcp::socket socket)
{
    connection c(std::move(st), std::move(socket));
    co_await c.run();
}

asio::awaitable<void> accept_connections(state_ptr st)
{
    for (;;) {
        boost::system::error_code ec;
        tcp::socket socket =
            co_await st->acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (st->stopped || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // EMFILE and friends: back off instead of spinning on the same failure.
            asio::steady_timer pause(st->executor, std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        if (st->connections.size() >= st->options.max_tcp_connections) {
            st->dropped("tcp_cap", socket.remote_endpoint(ec).address().to_string());
            socket.set_option(asio::socket_base::linger(true, 0), ec);
            socket.close(ec);
            continue;
        }
        asio::co_spawn(st->executor, serve_connection(st, std::move(socket)),
                       net::log_exception{&st->log, "sip connection"});
    }
}

}  // namespace

listener::listener(asio::any_io_executor executor, listener_options options,
                   std::shared_ptr<const redirect_service> service, obs::logger& log)
    : state_(std::make_shared<detail::listener_state>(std::move(executor), std::move(options),
                                                      std::move(service), log))
{
}

listener::~listener() = default;

void listener::listen()
{
    auto& st = *state_;
    const std::string where = st.options.host + ":" + std::to_string(st.options.port);
    try {
        tcp::resolver resolver(st.executor);
        const auto results = resolver.resolve(st.options.host, std::to_string(st.options.port),
                                              tcp::resolver::passive);
        if (results.empty()) throw std::runtime_error("no address");
        const auto address = results.begin()->endpoint().address();
        // Port 0: the OS picks TCP's; UDP must get the same number, which another socket may
        // hold, so a few picks are tried.
        for (int attempt = 0;; ++attempt) {
            tcp::acceptor acceptor(st.executor);
            const tcp::endpoint ep(address, st.options.port);
            acceptor.open(ep.protocol());
            acceptor.set_option(asio::socket_base::reuse_address(true));
            acceptor.bind(ep);
            acceptor.listen(asio::socket_base::max_listen_connections);
            const std::uint16_t port = acceptor.local_endpoint().port();
            udp::socket socket(st.executor);
            const udp::endpoint uep(address, port);
            socket.open(uep.protocol());
            boost::system::error_code ec;
            socket.bind(uep, ec);
            if (ec) {
                if (st.options.port == 0 && attempt < 20) continue;
                throw boost::system::system_error(ec, "udp bind");
            }
            // Bursts of datagrams wait in the kernel rather than being lost there (capped by
            // net.core.rmem_max).
            socket.set_option(asio::socket_base::receive_buffer_size(1 << 20), ec);
            st.acceptor.emplace(std::move(acceptor));
            st.udp_socket.emplace(std::move(socket));
            break;
        }
    } catch (const std::exception& e) {
        throw std::runtime_error("cannot listen for SIP on " + where + ": " + e.what());
    }
    const auto bound = st.acceptor->local_endpoint();
    st.log.info("sip listening", {{"address", bound.address().to_string()},
                                  {"port", bound.port()},
                                  {"transports", "udp,tcp"}});
}

std::uint16_t listener::port() const noexcept
{
    boost::system::error_code ec;
    return state_->acceptor ? state_->acceptor->local_endpoint(ec).port() : 0;
}

void listener::start()
{
    if (!state_->acceptor) listen();
    asio::co_spawn(state_->executor, receive_datagrams(state_),
                   net::log_exception{&state_->log, "sip udp"});
    asio::co_spawn(state_->executor, accept_connections(state_),
                   net::log_exception{&state_->log, "sip accept"});
}

void listener::stop()
{
    auto close_all = [st = state_] {
        st->stopped = true;
        boost::system::error_code ec;
        if (st->acceptor) st->acceptor->close(ec);
        if (st->udp_socket) st->udp_socket->close(ec);
        for (beast::tcp_stream* s : st->connections) s->socket().close(ec);
    };
    asio::post(state_->executor, close_all);
}

}  // namespace stirgate::sip
