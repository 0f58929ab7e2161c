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
