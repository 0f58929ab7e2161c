#include "net/http_client.hpp"

#include <catch2/catch.hpp>

#include "support/test_tls.hpp"

#include <chrono>
#include <string>

// Each case runs client and scripted server on one local io_context, servers on 127.0.0.1
// port 0. Pins such as "certs.example.test:PORT:127.0.0.1" keep the TLS name checks real.
// The timeout cases read steady_clock because the deadline is the behaviour under test; the
// bound is generous (timeout + 200 ms), not a benchmark.

using namespace stirgate;
using namespace stirgate::net;
using stirgate::test::run_until_done;
using stirgate::test::server_behaviour;
using stirgate::test::server_script;
using stirgate::test::temp_file;
using stirgate::test::test_ca;
using stirgate::test::test_server;
namespace asio = boost::asio;

namespace {

constexpr const char* cert_host = "certs.example.test";

const test_ca& shared_ca()
{
    static const test_ca ca("stirgate test CA");
    return ca;
}

const stirgate::test::tls_identity& server_identity()
{
    static const auto id = shared_ca().issue_server(cert_host);
    return id;
}

const temp_file& ca_file()
{
    static const temp_file f(shared_ca().cert_pem());
    return f;
}

// A policy trusting the test CA, with the test host pinned to the server's port.
http_client_policy pinned_policy(std::uint16_t port)
{
    http_client_policy p;
    p.allowed_schemes = {"https"};
    p.pins = {resolve_pin{cert_host, port, "127.0.0.1"}};
    p.ca_file = ca_file().path().string();
    p.timeout = std::chrono::milliseconds(2000);
    p.max_body_bytes = 16384;
    return p;
}

std::string url_for(std::uint16_t port, const std::string& path = "/sti.pem",
                    const std::string& scheme = "https", const std::string& host = cert_host)
{
    return scheme + "://" + host + ":" + std::to_string(port) + path;
}

result<http_reply> fetch(asio::io_context& io, http_client& client, std::string url)
{
    http_request_spec spec;
    spec.url = std::move(url);
    return run_until_done(io, client.request(std::move(spec)));
}

server_script serve_pem()
{
    server_script s;
    s.headers = {{"Content-Type", "application/pem-certificate-chain"},
                 {"Cache-Control", "max-age=3600"}};
    s.body = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    return s;
}

using steady = std::chrono::steady_clock;

}  // namespace

TEST_CASE("a certificate is fetched over HTTPS from a server the test CA vouches for",
          "[net][client]")
{
    asio::io_context io;
    test_server server(io, serve_pem(), server_identity());
    beast_http_client client(pinned_policy(server.port()));

    const auto reply = fetch(io, client, url_for(server.port()));
    REQUIRE(reply);
    CHECK(reply->status == 200);
    CHECK(reply->body == serve_pem().body);
    CHECK(reply->header("content-type") ==
          std::optional<std::string_view>("application/pem-certificate-chain"));
    CHECK(reply->header("cache-control") == std::optional<std::string_view>("max-age=3600"));
    CHECK_FALSE(reply->header("x-absent"));
    const std::string seen = server.last_request();
    CHECK(seen.rfind("GET /sti.pem\r\n", 0) == 0);
    CHECK(seen.find("Host: certs.example.test:" + std::to_string(server.port()) + "\r\n") !=
          std::string::npos);
    CHECK(seen.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("a POST carries its headers and body", "[net][client]")
{
    asio::io_context io;
    test_server server(io, serve_pem(), server_identity());
    beast_http_client client(pinned_policy(server.port()));

    http_request_spec spec;
    spec.method = boost::beast::http::verb::post;
    spec.url = url_for(server.port(), "/hook?x=1");
    spec.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                    {"X-Twilio-Signature", "abc="}};
    spec.body = "CallSid=CA1";
    const auto reply = run_until_done(io, client.request(spec));
    REQUIRE(reply);
    CHECK(reply->status == 200);
    const std::string seen = server.last_request();
    CHECK(seen.rfind("POST /hook?x=1\r\n", 0) == 0);
    CHECK(seen.find("X-Twilio-Signature: abc=\r\n") != std::string::npos);
    CHECK(seen.find("Content-Length: 11\r\n") != std::string::npos);

    SECTION("but never a framing header of its own")
    {
        spec.headers = {{"Transfer-Encoding", "chunked"}};
        CHECK(run_until_done(io, client.request(spec)).code() == errc::upstream_refused);
        spec.headers = {{"X-Evil", "a\r\nHost: evil"}};
        CHECK(run_until_done(io, client.request(spec)).code() == errc::upstream_refused);
        spec.headers = {{"X Evil", "a"}};
        CHECK(run_until_done(io, client.request(spec)).code() == errc::upstream_refused);
    }
}

TEST_CASE("plain HTTP works when the policy allows the http scheme", "[net][client]")
{
    asio::io_context io;
    test_server server(io, serve_pem());
    auto policy = pinned_policy(server.port());
    policy.allowed_schemes = {"http"};
    beast_http_client client(policy);

    const auto reply = fetch(io, client, url_for(server.port(), "/sti.pem", "http"));
    REQUIRE(reply);
    CHECK(reply->status == 200);
    CHECK(reply->body == serve_pem().body);
}

TEST_CASE("a complete response without TLS close_notify is not a failure", "[net][client]")
{
    asio::io_context io;
    auto script = serve_pem();
    script.close_notify = false;
    test_server server(io, script, server_identity());
    beast_http_client client(pinned_policy(server.port()));

    const auto reply = fetch(io, client, url_for(server.port()));
    REQUIRE(reply);
    CHECK(reply->body == script.body);
}

TEST_CASE("a server certificate from another CA fails with upstream_tls", "[net][client]")
{
    asio::io_context io;
    const test_ca other("some other CA");
    test_server server(io, serve_pem(), other.issue_server(cert_host));
    beast_http_client client(pinned_policy(server.port()));

    const auto reply = fetch(io, client, url_for(server.port()));
    REQUIRE_FALSE(reply);
    CHECK(reply.code() == errc::upstream_tls);
    INFO(reply.err().detail);
    CHECK(reply.err().detail.find("certificate") != std::string::npos);
}

TEST_CASE("a server certificate for another name fails with upstream_tls", "[net][client]")
{
    asio::io_context io;
    test_server server(io, serve_pem(), server_identity());
    auto policy = pinned_policy(server.port());
    policy.pins.push_back(resolve_pin{"other.example.test", server.port(), "127.0.0.1"});
    beast_http_client client(policy);

    const auto reply =
        fetch(io, client, url_for(server.port(), "/sti.pem", "https", "other.example.test"));
    REQUIRE_FALSE(reply);
    CHECK(reply.code() == errc::upstream_tls);
    INFO(reply.err().detail);
    CHECK(reply.err().detail.find("hostname mismatch") != std::string::npos);
}

TEST_CASE("http:// is refused when only https is allowed, before any connection", "[net][client]")
{
    asio::io_context io;
    test_server server(io, serve_pem());
    beast_http_client client(pinned_policy(server.port()));

    const auto reply = fetch(io, client, url_for(server.port(), "/sti.pem", "http"));
    CHECK(reply.code() == errc::upstream_refused);
    CHECK(server.connections() == 0);
}

TEST_CASE("a private address is refused unless pinned or allowed", "[net][client]")
{
    asio::io_context io;
    test_server server(io, serve_pem(), server_identity());
    auto policy = pinned_policy(server.port());

    SECTION("an IP literal URL")
    {
        const std::string url = url_for(server.port(), "/sti.pem", "https", "127.0.0.1");
        {
            beast_http_client client(policy);
            const auto reply = fetch(io, client, url);
            CHECK(reply.code() == errc::upstream_refused);
            CHECK(server.connections() == 0);
        }
        {
            policy.allow_private_addresses = true;
            beast_http_client client(policy);
            const auto reply = fetch(io, client, url);  // the certificate has IP:127.0.0.1
            REQUIRE(reply);
            CHECK(reply->status == 200);
        }
    }
    SECTION("IPv4-mapped IPv6 loopback")
    {
        beast_http_client client(policy);
        const auto reply =
            fetch(io, client, url_for(server.port(), "/", "https", "[::ffff:127.0.0.1]"));
        CHECK(reply.code() == errc::upstream_refused);
    }
    SECTION("a name that resolves to loopback")
    {
        beast_http_client client(policy);
        const auto reply = fetch(io, client, url_for(server.port(), "/", "https", "localhost"));
        CHECK(reply.code() == errc::upstream_refused);
        CHECK(server.connections() == 0);
    }
}

TEST_CASE("URLs with userinfo, fragments or non-canonical hosts are refused", "[net][client]")
{
    asio::io_context io;
    test_server server(io, serve_pem(), server_identity());
    beast_http_client client(pinned_policy(server.port()));
    const std::string port = std::to_string(server.port());

    const std::string url =
        GENERATE_COPY("https://user@certs.example.test:" + port + "/sti.pem",
                      "https://user:pw@certs.example.test:" + port + "/sti.pem",
                      "https://certs.example.test:" + port + "/sti.pem#frag",
                      "https://certs.example.test:" + port + "/sti pem",
                      std::string("https://0x7f.1:") + port + "/",
                      std::string("https://2130706433:") + port + "/",
                      std::string("https://certs.example.test:0/"), std::string("not a url"));
    INFO("url: " << url);
    const auto reply = fetch(io, client, url);
    CHECK(reply.code() == errc::upstream_refused);
    CHECK(server.connections() == 0);
}

TEST_CASE("a port or host outside the allow-lists is refused", "[net][client]")
{
    asio::io_context io;
    test_server server(io, serve_pem(), server_identity());
    auto policy = pinned_policy(server.port());

    SECTION("port")
    {
        policy.allowed_ports = {443, 8443};
        beast_http_client client(policy);
        CHECK(fetch(io, client, url_for(server.port())).code() == errc::upstream_refused);
    }
    SECTION("host")
    {
        policy.allowed_hosts = {"certs.example.com"};
        beast_http_client client(policy);
        CHECK(fetch(io, client, url_for(server.port())).code() == errc::upstream_refused);
    }
    SECTION("both allowed (host compared case-insensitively)")
    {
        policy.allowed_ports = {server.port()};
        policy.allowed_hosts = {"CERTS.example.test"};
        beast_http_client client(policy);
        CHECK(fetch(io, client, url_for(server.port())));
    }
    CHECK(server.connections() <= 1);
}

TEST_CASE("a redirect is returned as a 3xx reply, not followed", "[net][client]")
{
    asio::io_context io;
    server_script script;
    script.status = 302;
    script.headers = {{"Location", "https://169.254.169.254/latest/meta-data/"}};
    test_server server(io, script, server_identity());
    beast_http_client client(pinned_policy(server.port()));

    const auto reply = fetch(io, client, url_for(server.port()));
    REQUIRE(reply);
    CHECK(reply->status == 302);
    CHECK(reply->header("Location") ==
          std::optional<std::string_view>("https://169.254.169.254/latest/meta-data/"));
    CHECK(server.connections() == 1);
}

TEST_CASE("a 5 MB body fails with upstream_bad_response without buffering it", "[net][client]")
{
    asio::io_context io;
    server_script script;
    script.behaviour = server_behaviour::huge_body;
    script.chunked = GENERATE(false, true);
    INFO((script.chunked ? "chunked" : "Content-Length"));
    test_server server(io, script, server_identity());
    beast_http_client client(pinned_policy(server.port()));  // cap: 16 KiB

    stirgate::test::allocation_watch watch;
    const auto reply = fetch(io, client, url_for(server.port()));
    const auto largest = watch.largest();
    REQUIRE_FALSE(reply);
    CHECK(reply.code() == errc::upstream_bad_response);
    CHECK(reply.err().detail.find("body over 16384 bytes") != std::string::npos);
    if (largest) {
        // The read buffer (64 KiB plus the header cap) is the largest legitimate block.
        INFO("largest allocation: " << *largest);
        CHECK(*largest < 256 * 1024);
    } else {
        WARN("allocation sizes not observable in this build (no AddressSanitizer)");
    }
}

TEST_CASE("a body dripping slowly is cut at the deadline with upstream_timeout", "[net][client]")
{
    asio::io_context io;
    server_script script;
    script.behaviour = server_behaviour::drip;
    script.drip_interval = std::chrono::milliseconds(20);
    test_server server(io, script, server_identity());
    auto policy = pinned_policy(server.port());
    policy.timeout = std::chrono::milliseconds(500);
    policy.max_body_bytes = 1'000'000;
    beast_http_client client(policy);

    const auto start = steady::now();
    const auto reply = fetch(io, client, url_for(server.port()));
    const auto elapsed = steady::now() - start;
    REQUIRE_FALSE(reply);
    CHECK(reply.code() == errc::upstream_timeout);
    CHECK(elapsed >= std::chrono::milliseconds(450));
    CHECK(elapsed <= policy.timeout + std::chrono::milliseconds(200));
}

TEST_CASE("a server that accepts and never answers yields upstream_timeout", "[net][client]")
{
    asio::io_context io;
    server_script script;
    script.behaviour = server_behaviour::black_hole;
    test_server server(io, script, server_identity());
    auto policy = pinned_policy(server.port());
    policy.timeout = std::chrono::milliseconds(500);

    SECTION("https")
    {
        beast_http_client client(policy);
        const auto start = steady::now();
        const auto reply = fetch(io, client, url_for(server.port()));
        const auto elapsed = steady::now() - start;
        CHECK(reply.code() == errc::upstream_timeout);
        CHECK(elapsed <= policy.timeout + std::chrono::milliseconds(200));
    }
    SECTION("http")
    {
        policy.allowed_schemes = {"http"};
        beast_http_client client(policy);
        const auto start = steady::now();
        const auto reply = fetch(io, client, url_for(server.port(), "/", "http"));
        const auto elapsed = steady::now() - start;
        CHECK(reply.code() == errc::upstream_timeout);
        CHECK(elapsed <= policy.timeout + std::chrono::milliseconds(200));
    }
}

TEST_CASE("a server that closes at once fails without a reply", "[net][client]")
{
    asio::io_context io;
    server_script script;
    script.behaviour = server_behaviour::close_immediately;
    test_server server(io, script, server_identity());
    auto policy = pinned_policy(server.port());

    SECTION("https: the handshake fails")
    {
        beast_http_client client(policy);
        CHECK(fetch(io, client, url_for(server.port())).code() == errc::upstream_tls);
    }
    SECTION("http: no response")
    {
        policy.allowed_schemes = {"http"};
        beast_http_client client(policy);
        const auto code = fetch(io, client, url_for(server.port(), "/", "http")).code();
        // The close may be seen while sending (reset) or while reading (end of stream).
        CHECK((code == errc::upstream_bad_response || code == errc::upstream_unreachable));
    }
}

TEST_CASE("a closed port fails quickly with upstream_unreachable", "[net][client]")
{
    asio::io_context io;
    std::uint16_t port = 0;
    {
        asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = probe.local_endpoint().port();
    }  // closed: nothing listens there now
    beast_http_client client(pinned_policy(port));

    const auto start = steady::now();
    const auto reply = fetch(io, client, url_for(port));
    const auto elapsed = steady::now() - start;
    CHECK(reply.code() == errc::upstream_unreachable);
    CHECK(elapsed < std::chrono::milliseconds(1000));
}

TEST_CASE("a bad pin or an unreadable CA file is a startup failure", "[net][client]")
{
    http_client_policy policy;
    policy.pins = {resolve_pin{cert_host, 443, "not-an-address"}};
    CHECK_THROWS_AS(beast_http_client(policy), std::runtime_error);
    policy.pins.clear();
    policy.ca_file = "/nonexistent/stirgate-roots.pem";
    CHECK_THROWS_AS(beast_http_client(policy), std::runtime_error);
}

TEST_CASE("the allocation watch used above does see a large allocation", "[net][client]")
{
    stirgate::test::allocation_watch watch;
    const std::string big(1 << 20, 'x');
    CHECK(big.back() == 'x');
    if (const auto largest = watch.largest()) CHECK(*largest >= std::size_t{1} << 20);
}

// ---- keep-alive pool ------------------------------------------------------------------------
// A loopback server that keeps connections alive and counts them: each request is answered
// with its sequence number on that connection, so a test sees which connection served it.

namespace {

struct keep_alive_script {
    bool close_after_response = false;  // answer (without Connection: close), then hang up
    bool drop_second_request = false;   // read a connection's second request, close unanswered
    bool announce_close = false;        // answer with Connection: close (and then close)
};

struct keep_alive_server {
    struct state {
        explicit state(asio::io_context& io) : acceptor(io) {}
        asio::ip::tcp::acceptor acceptor;
        keep_alive_script script;
        std::optional<asio::ssl::context> tls;
        std::size_t connections = 0;
        std::size_t requests = 0;
        std::size_t closed = 0;  // connections the server has finished with
        std::vector<std::string> connection_headers;  // Connection header of each request
    };
    std::shared_ptr<state> st;

    keep_alive_server(asio::io_context& io, keep_alive_script script, bool tls)
        : st(std::make_shared<state>(io))
    {
        st->script = script;
        if (tls) {
            st->tls.emplace(asio::ssl::context::tls_server);
            st->tls->use_certificate_chain(asio::buffer(server_identity().cert_pem));
            st->tls->use_private_key(asio::buffer(server_identity().key_pem),
                                     asio::ssl::context::pem);
        }
        const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
        st->acceptor.open(ep.protocol());
        st->acceptor.bind(ep);
        st->acceptor.listen();
        asio::co_spawn(io, accept_loop(st), [](std::exception_ptr) {});
    }
    ~keep_alive_server()
    {
        boost::system::error_code ec;
        st->acceptor.close(ec);
    }
    std::uint16_t port() const { return st->acceptor.local_endpoint().port(); }

    template <class Stream>
    static asio::awaitable<void> serve(Stream& stream, std::shared_ptr<state> st)
    {
        namespace http = boost::beast::http;
        boost::beast::flat_buffer buffer;
        for (std::size_t n = 1;; ++n) {
            boost::system::error_code ec;
            http::request<http::string_body> req;
            co_await http::async_read(stream, buffer, req,
                                      asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            ++st->requests;
            st->connection_headers.emplace_back(req[http::field::connection]);
            if (n == 2 && st->script.drop_second_request) co_return;
            http::response<http::string_body> res{http::status::ok, 11};
            res.set(http::field::content_type, "text/plain");
            res.body() = std::to_string(n);
            if (st->script.announce_close) res.keep_alive(false);
            res.prepare_payload();
            co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
            if (ec || st->script.close_after_response || st->script.announce_close) co_return;
        }
    }

    static asio::awaitable<void> connection(asio::ip::tcp::socket socket, std::shared_ptr<state> st)
    {
        boost::system::error_code ec;
        if (!st->tls) {
            boost::beast::tcp_stream stream(std::move(socket));
            co_await serve(stream, st);
            stream.socket().close(ec);
        } else {
            boost::beast::ssl_stream<boost::beast::tcp_stream> stream(
                boost::beast::tcp_stream(std::move(socket)), *st->tls);
            co_await stream.async_handshake(asio::ssl::stream_base::server,
                                            asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) co_await serve(stream, st);
            boost::beast::get_lowest_layer(stream).socket().close(ec);
        }
        ++st->closed;
    }

    static asio::awaitable<void> accept_loop(std::shared_ptr<state> st)
    {
        for (;;) {
            boost::system::error_code ec;
            auto socket =
                co_await st->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            ++st->connections;
            asio::co_spawn(st->acceptor.get_executor(), connection(std::move(socket), st),
                           [](std::exception_ptr) {});
        }
    }
};

http_client_policy keep_alive_policy(std::uint16_t port, bool tls)
{
    http_client_policy p = pinned_policy(port);
    if (!tls) {
        p.allowed_schemes = {"http"};
        p.pins.clear();
        p.allow_private_addresses = true;
    }
    p.keep_alive = true;
    return p;
}

std::string keep_alive_url(std::uint16_t port, bool tls)
{
    return tls ? url_for(port, "/voice") : "http://127.0.0.1:" + std::to_string(port) + "/voice";
}

result<http_reply> post_form(asio::io_context& io, http_client& client, const std::string& url)
{
    http_request_spec spec;
    spec.method = boost::beast::http::verb::post;
    spec.url = url;
    spec.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    spec.body = "CallSid=CA1";
    return run_until_done(io, client.request(std::move(spec)));
}

// Runs `io` until the server has finished with `count` connections (bounded; loopback is quick).
bool wait_closed(asio::io_context& io, const keep_alive_server& server, std::size_t count)
{
    auto st = server.st;
    return run_until_done(io, [](std::shared_ptr<keep_alive_server::state> s,
                                 std::size_t n) -> asio::awaitable<bool> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        for (int i = 0; i < 2000 && s->closed < n; ++i) {
            timer.expires_after(std::chrono::milliseconds(1));
            co_await timer.async_wait(asio::use_awaitable);
        }
        co_return s->closed >= n;
    }(st, count));
}

}  // namespace

TEST_CASE("two sequential requests with keep-alive share one TCP connection", "[net][client][pool]")
{
    const bool tls = GENERATE(false, true);
    INFO((tls ? "https" : "http"));
    asio::io_context io;
    keep_alive_server server(io, {}, tls);
    beast_http_client client(keep_alive_policy(server.port(), tls));

    const auto first = post_form(io, client, keep_alive_url(server.port(), tls));
    REQUIRE(first);
    CHECK(first->body == "1");
    const auto second = post_form(io, client, keep_alive_url(server.port(), tls));
    REQUIRE(second);
    CHECK(second->body == "2");  // the second request on the same connection
    CHECK(server.st->connections == 1);
    CHECK(client.stats().opened == 1);
    CHECK(client.stats().reused == 1);
    // No Connection: close was asked for.
    CHECK(server.st->connection_headers == std::vector<std::string>{"", ""});
}

TEST_CASE("without keep-alive every request opens its own connection and asks to close",
          "[net][client][pool]")
{
    asio::io_context io;
    keep_alive_server server(io, {}, false);
    auto policy = keep_alive_policy(server.port(), false);
    policy.keep_alive = false;
    beast_http_client client(policy);
    REQUIRE(post_form(io, client, keep_alive_url(server.port(), false)));
    REQUIRE(post_form(io, client, keep_alive_url(server.port(), false)));
    CHECK(server.st->connections == 2);
    CHECK(server.st->connection_headers == std::vector<std::string>{"close", "close"});
}

TEST_CASE("a kept-alive connection the server closed while idle is not reused",
          "[net][client][pool]")
{
    const bool tls = GENERATE(false, true);
    INFO((tls ? "https" : "http"));
    asio::io_context io;
    keep_alive_script script;
    script.close_after_response = true;
    keep_alive_server server(io, script, tls);
    beast_http_client client(keep_alive_policy(server.port(), tls));

    REQUIRE(post_form(io, client, keep_alive_url(server.port(), tls)));
    REQUIRE(wait_closed(io, server, 1));
    const auto second = post_form(io, client, keep_alive_url(server.port(), tls));
    REQUIRE(second);
    CHECK(second->body == "1");  // first request of a new connection
    CHECK(server.st->connections == 2);
    CHECK(server.st->requests == 2);  // nothing was sent twice
    CHECK(client.stats().reused == 0);
    CHECK(client.stats().retried == 0);
}

TEST_CASE("a response with Connection: close, max_idle_per_host 0 or an expired idle timeout "
          "keeps nothing",
          "[net][client][pool]")
{
    asio::io_context io;
    keep_alive_script script;
    auto policy_of = [](std::uint16_t port) { return keep_alive_policy(port, false); };
    SECTION("Connection: close")
    {
        script.announce_close = true;
        keep_alive_server server(io, script, false);
        beast_http_client client(policy_of(server.port()));
        REQUIRE(post_form(io, client, keep_alive_url(server.port(), false)));
        REQUIRE(post_form(io, client, keep_alive_url(server.port(), false)));
        CHECK(server.st->connections == 2);
    }
    SECTION("max_idle_per_host = 0")
    {
        keep_alive_server server(io, script, false);
        auto policy = policy_of(server.port());
        policy.max_idle_per_host = 0;
        beast_http_client client(policy);
        REQUIRE(post_form(io, client, keep_alive_url(server.port(), false)));
        REQUIRE(post_form(io, client, keep_alive_url(server.port(), false)));
        CHECK(server.st->connections == 2);
    }
    SECTION("idle_timeout = 0")
    {
        keep_alive_server server(io, script, false);
        auto policy = policy_of(server.port());
        policy.idle_timeout = std::chrono::milliseconds(0);
        beast_http_client client(policy);
        REQUIRE(post_form(io, client, keep_alive_url(server.port(), false)));
        REQUIRE(post_form(io, client, keep_alive_url(server.port(), false)));
        CHECK(server.st->connections == 2);
    }
}

TEST_CASE("a reused connection that dies after the request went out retries a GET, never a POST",
          "[net][client][pool]")
{
    asio::io_context io;
    keep_alive_script script;
    script.drop_second_request = true;
    keep_alive_server server(io, script, false);
    beast_http_client client(keep_alive_policy(server.port(), false));
    const std::string url = keep_alive_url(server.port(), false);

    SECTION("GET: sent again on a new connection")
    {
        REQUIRE(fetch(io, client, url));
        const auto again = fetch(io, client, url);
        REQUIRE(again);
        CHECK(again->body == "1");
        CHECK(client.stats().retried == 1);
        CHECK(server.st->connections == 2);
    }
    SECTION("POST: the application may have acted on it, so it fails")
    {
        REQUIRE(post_form(io, client, url));
        const auto again = post_form(io, client, url);
        REQUIRE_FALSE(again);
        CHECK(again.code() == errc::upstream_bad_response);
        CHECK(client.stats().retried == 0);
        CHECK(server.st->requests == 2);
        CHECK(server.st->connections == 1);
    }
}

TEST_CASE("only a request that never left whole, or an idempotent one without any answer, is "
          "retried",
          "[net][client][pool]")
{
    using boost::beast::http::verb;
    CHECK(may_retry_on_new_connection(verb::post, false, false));
    CHECK_FALSE(may_retry_on_new_connection(verb::post, true, false));
    CHECK_FALSE(may_retry_on_new_connection(verb::post, true, true));
    CHECK(may_retry_on_new_connection(verb::get, true, false));
    CHECK_FALSE(may_retry_on_new_connection(verb::get, true, true));
    CHECK(may_retry_on_new_connection(verb::head, true, false));
}

TEST_CASE("the address policy still applies to a keep-alive client's new connections",
          "[net][client][pool]")
{
    asio::io_context io;
    keep_alive_server server(io, {}, false);
    auto policy = keep_alive_policy(server.port(), false);
    policy.allow_private_addresses = false;
    beast_http_client client(policy);
    const auto r = post_form(io, client, keep_alive_url(server.port(), false));
    REQUIRE_FALSE(r);
    CHECK(r.code() == errc::upstream_refused);
    CHECK(server.st->connections == 0);
}

TEST_CASE("check_destination judges a customer URL before any request: grammar, scheme, port, "
          "address literals and localhost names",
          "[net][client]")
{
    http_client_policy policy;
    policy.allowed_schemes = {"http", "https"};
    const auto why = [&](const std::string& url) -> std::string {
        auto r = check_destination(url, policy);
        if (r) return "ok";
        CHECK(r.code() == errc::url_invalid);
        return r.err().detail;
    };
    CHECK(why("https://app.example.com/status") == "ok");
    CHECK(why("http://app.example.com:8080/status?x=1") == "ok");
    CHECK(why("http://127.0.0.1:9/status") == "address 127.0.0.1 is loopback");
    CHECK(why("http://[::1]/status") == "address ::1 is loopback");
    CHECK(why("http://10.0.0.5/twiml") == "address 10.0.0.5 is private_use");
    CHECK(why("http://localhost:8080/") == "host localhost is loopback");
    CHECK(why("http://api.localhost/") == "host api.localhost is loopback");
    CHECK(why("http://169.254.169.254/latest/meta-data/") ==
          "address 169.254.169.254 is a cloud metadata address");
    CHECK(why("ftp://app.example.com/") == "scheme not http(s)");
    CHECK(why("not a url") != "ok");
    CHECK(why("https://app_name.example.com/") != "ok");

    policy.allow_private_addresses = true;
    CHECK(why("http://127.0.0.1:9/status") == "ok");
    CHECK(why("http://localhost:8080/") == "ok");
    CHECK(why("http://169.254.169.254/latest/meta-data/") ==
          "address 169.254.169.254 is a cloud metadata address");
    CHECK(why("http://[fd00:ec2::254]/") == "address fd00:ec2::254 is a cloud metadata address");
    policy.allowed_addresses = {*parse_cidr("169.254.169.254/32")};
    CHECK(why("http://169.254.169.254/latest/meta-data/") == "ok");

    http_client_policy https_only;
    CHECK(check_destination("http://app.example.com/", https_only).err().detail ==
          "scheme not allowed");

    // A pin is the operator's own choice of address: not judged.
    http_client_policy pinned;
    pinned.pins = {{"certs.example.test", 443, "127.0.0.1", 0}};
    CHECK(check_destination("https://certs.example.test/sti.pem", pinned));
}
