#include "net/server.hpp"

#include <boost/beast/_experimental/test/stream.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using stirgate::net::error_style;
using stirgate::net::http_response;
using stirgate::net::request_context;

stirgate::net::awaitable<http_response> healthz(request_context& ctx)
{
    http_response res{http::status::ok, ctx.request.version()};
    res.body() = R"({"status":"ok"})";
    co_return res;
}

stirgate::net::awaitable<http_response> echo_body(request_context& ctx)
{
    http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "text/plain");
    res.body() = ctx.request.body();
    co_return res;
}

stirgate::net::awaitable<http_response> throws(request_context&)
{
    throw std::runtime_error("boom: secret detail");
    co_return http_response{};
}

// Flips the drain flag the way server::stop does while this request is in flight. The flag is
// passed by value (a pointer) because coroutine parameters must not dangle.
stirgate::net::awaitable<http_response> begin_drain(request_context& ctx, std::atomic<bool>* flag)
{
    flag->store(true);
    http_response res{http::status::ok, ctx.request.version()};
    co_return res;
}

// One server end of a beast::test::stream pair: the raw request bytes are queued, the client
// end then half-closes, serve_http runs to completion on a local io_context, and the bytes it
// wrote are parsed back into responses.
struct harness {
    std::ostringstream log_text;
    stirgate::obs::logger log{log_text};
    stirgate::net::request_ids ids;
    stirgate::net::router routes;
    stirgate::net::limits lim;
    std::atomic<bool> stopping{false};

    harness()
    {
        routes.set_error_style("/2010-04-01/", error_style::twilio);
        routes.add(http::verb::get, "/healthz", error_style::plain, healthz);
        routes.add(http::verb::post, "/echo", error_style::plain, echo_body);
        routes.add(http::verb::get, "/throws", error_style::plain, throws);
    }

    // Raw bytes the server sent back.
    std::string exchange(const std::string& raw)
    {
        asio::io_context ioc;
        beast::test::stream client(ioc);
        beast::test::stream server(ioc);
        client.connect(server);
        server.append(raw);
        server.close_remote();

        const stirgate::net::http_service svc{routes, lim, log, ids, &stopping};
        stirgate::net::connection_info conn;
        bool finished = false;
        std::exception_ptr failure;
        auto done = [&](std::exception_ptr e) {
            finished = true;
            failure = e;
        };
        asio::co_spawn(ioc, stirgate::net::serve_http(server, svc, conn), done);
        ioc.run();
        REQUIRE(finished);
        if (failure) std::rethrow_exception(failure);
        return std::string(client.str());
    }

    std::vector<http::response<http::string_body>> replies(const std::string& raw)
    {
        const std::string text = exchange(raw);
        asio::io_context ioc;
        beast::test::stream in(ioc, text);
        in.close_remote();
        beast::flat_buffer buf;
        std::vector<http::response<http::string_body>> out;
        for (;;) {
            http::response<http::string_body> res;
            beast::error_code ec;
            http::read(in, buf, res, ec);
            if (ec == http::error::end_of_stream) break;
            REQUIRE_FALSE(ec);
            out.push_back(std::move(res));
        }
        return out;
    }

    std::vector<std::string> log_lines()
    {
        log.flush();  // the logger writes in batches
        std::vector<std::string> lines;
        std::istringstream in(log_text.str());
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        return lines;
    }
};

bool contains(const std::string& haystack, std::string_view needle)
{
    return haystack.find(needle) != std::string::npos;
}

const std::string get_healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

}  // namespace

TEST_CASE("GET /healthz answers 200 with a JSON body and the common headers", "[net]")
{
    harness h;
    const auto r = h.replies(get_healthz);
    REQUIRE(r.size() == 1);
    CHECK(r[0].result() == http::status::ok);
    CHECK(r[0].body() == R"({"status":"ok"})");
    CHECK(r[0][http::field::content_type] == "application/json");
    CHECK(r[0][http::field::server] == "stirgate");
    CHECK_FALSE(r[0]["X-Request-Id"].empty());

    const auto lines = h.log_lines();
    REQUIRE(lines.size() == 1);
    CHECK(contains(lines[0], R"("level":"info","msg":"request","id":")"));
    CHECK(contains(lines[0], R"("method":"GET","route":"/healthz","status":200,"duration_ms":)"));
    CHECK(contains(lines[0], R"("remote":")"));
    CHECK_FALSE(contains(lines[0], "errc"));
}

TEST_CASE("unknown paths get 404 and wrong methods 405, logged with their errc", "[net]")
{
    harness h;
    const auto r = h.replies(
        "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
        "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /2010-04-01/Accounts/AC1/Nope.json HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(r.size() == 3);
    CHECK(r[0].result() == http::status::not_found);
    CHECK(r[0][http::field::content_type] == "application/json");
    CHECK(r[1].result() == http::status::method_not_allowed);
    CHECK(r[1][http::field::allow] == "GET");
    CHECK(r[2].result() == http::status::not_found);
    CHECK(contains(r[2].body(), R"("code":20404)"));

    const auto lines = h.log_lines();
    REQUIRE(lines.size() == 3);
    CHECK(contains(lines[0], R"("route":null,"status":404,"errc":"not_found")"));
    CHECK(contains(lines[1], R"("route":"/healthz","status":405,"errc":"method_not_allowed")"));
}

TEST_CASE("a body over max_body_bytes gets 413 and the connection closes", "[net]")
{
    harness h;
    const std::string body(70 * 1024, 'x');
    const std::string req =
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n" + body + get_healthz;
    const auto r = h.replies(req);
    REQUIRE(r.size() == 1);  // nothing after the 413 is served
    CHECK(r[0].result() == http::status::payload_too_large);
    CHECK_FALSE(r[0].keep_alive());
    CHECK(r[0][http::field::server] == "stirgate");
    CHECK(contains(r[0].body(), "payload_too_large"));
    const auto lines = h.log_lines();
    REQUIRE(lines.size() == 1);
    CHECK(contains(lines[0], R"("method":"POST")"));
    CHECK(contains(lines[0], R"("status":413,"errc":"payload_too_large")"));

    SECTION("a chunked body over the limit is refused too")
    {
        harness c;
        std::string chunked =
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 20; ++i) chunked += "1000\r\n" + std::string(4096, 'y') + "\r\n";
        chunked += "0\r\n\r\n";
        const auto rc = c.replies(chunked);
        REQUIRE(rc.size() == 1);
        CHECK(rc[0].result() == http::status::payload_too_large);
    }
    SECTION("a body within the limit is served")
    {
        harness ok;
        const std::string small(1000, 'z');
        const auto rs =
            ok.replies("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + small);
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].result() == http::status::ok);
        CHECK(rs[0].body() == small);
        CHECK(rs[0][http::field::content_type] == "text/plain");
    }
}

TEST_CASE("a header block over max_header_bytes gets 431, a huge request line 414", "[net]")
{
    harness h;
    SECTION("431")
    {
        const auto r =
            h.replies("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10 * 1024, 'a') +
                      "\r\n\r\n");
        REQUIRE(r.size() == 1);
        CHECK(r[0].result() == http::status::request_header_fields_too_large);
        CHECK_FALSE(r[0].keep_alive());
        CHECK(contains(h.log_lines().at(0), R"("errc":"header_too_large")"));
    }
    SECTION("414")
    {
        const auto r = h.replies("GET /healthz?" + std::string(10 * 1024, 'q') +
                                 " HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(r.size() == 1);
        CHECK(r[0].result() == http::status::uri_too_long);
    }
}

TEST_CASE("two requests on one connection are both answered (keep-alive)", "[net]")
{
    harness h;
    const auto r = h.replies(get_healthz + get_healthz);
    REQUIRE(r.size() == 2);
    CHECK(r[0].result() == http::status::ok);
    CHECK(r[0].keep_alive());
    CHECK(r[1].result() == http::status::ok);
    CHECK(r[0]["X-Request-Id"] != r[1]["X-Request-Id"]);
}

TEST_CASE("Connection: close is honoured and HTTP/1.0 closes by default", "[net]")
{
    harness h;
    SECTION("close")
    {
        const auto r = h.replies("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" +
                                 get_healthz);
        REQUIRE(r.size() == 1);
        CHECK_FALSE(r[0].keep_alive());
    }
    SECTION("HTTP/1.0")
    {
        const auto r = h.replies("GET /healthz HTTP/1.0\r\n\r\n" + get_healthz);
        REQUIRE(r.size() == 1);
        CHECK(r[0].version() == 10);
    }
}

TEST_CASE("a malformed request gets 400 and the connection closes", "[net]")
{
    harness h;
    const char* bad = GENERATE("GET /healthz HTTP/9.9\r\n\r\n", "GET\r\n\r\n",
                               "GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n",
                               "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                               "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                               "Content-Length: 2\r\n\r\nab");
    INFO(bad);
    const auto r = h.replies(std::string(bad) + get_healthz);
    REQUIRE(r.size() == 1);
    CHECK(r[0].result() == http::status::bad_request);
    CHECK_FALSE(r[0].keep_alive());
    CHECK(contains(r[0].body(), "bad_request"));
}

TEST_CASE("a client that leaves without sending anything gets no reply and no log line", "[net]")
{
    harness h;
    CHECK(h.exchange("").empty());
    CHECK(h.exchange("GET /heal").empty());  // half a request, then EOF
    CHECK(h.log_lines().empty());
}

TEST_CASE(
    "a throwing handler yields a logged 500 without its message, and the connection "
    "stays usable",
    "[net]")
{
    harness h;
    const auto r = h.replies("GET /throws HTTP/1.1\r\nHost: x\r\n\r\n" + get_healthz);
    REQUIRE(r.size() == 2);
    CHECK(r[0].result() == http::status::internal_server_error);
    CHECK_FALSE(contains(r[0].body(), "boom"));
    CHECK(r[1].result() == http::status::ok);
    h.log.flush();
    const std::string log = h.log_text.str();
    CHECK(contains(log, R"("msg":"handler failed")"));
    CHECK(contains(log, R"("status":500,"errc":"internal")"));
}

TEST_CASE("Expect: 100-continue gets an interim 100 before the final reply", "[net]")
{
    harness h;
    const std::string text = h.exchange(
        "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        "Content-Length: 5\r\n\r\nhello");
    CHECK(text.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(contains(text, "\r\n\r\nhello"));
}

TEST_CASE("while the server drains, the request in flight is answered with Connection: close",
          "[net]")
{
    harness h;
    std::atomic<bool>* flag = &h.stopping;
    auto start_drain = [flag](request_context& ctx) { return begin_drain(ctx, flag); };
    h.routes.add(http::verb::get, "/drain", error_style::plain, start_drain);
    const auto r = h.replies("GET /drain HTTP/1.1\r\nHost: x\r\n\r\n" + get_healthz);
    REQUIRE(r.size() == 1);
    CHECK(r[0].result() == http::status::ok);
    CHECK_FALSE(r[0].keep_alive());

    harness idle;
    idle.stopping = true;
    CHECK(idle.exchange(get_healthz).empty());  // no new request is read
}

// Found by fuzz/http_request.cpp: a HEAD reply carried the error body, which a client reads as
// the start of the next reply on a kept-alive connection (RFC 9110 section 9.3.2).
TEST_CASE("a HEAD request gets the reply's header fields without its body", "[net]")
{
    harness h;
    const std::string text =
        h.exchange("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + get_healthz);
    const auto end_of_head = text.find("\r\n\r\n");
    REQUIRE(end_of_head != std::string::npos);
    CHECK(text.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
    CHECK(contains(text.substr(0, end_of_head), "Allow: GET"));
    // The next bytes are the GET's reply, not a body.
    CHECK(text.compare(end_of_head + 4, 17, "HTTP/1.1 200 OK\r\n") == 0);
    CHECK(contains(text, R"({"status":"ok"})"));
}

TEST_CASE("a HEAD request refused with 400 after its header gets no content either", "[net]")
{
    harness h;
    const std::string text = h.exchange(
        "HEAD /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
    CHECK(text.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    const auto end_of_head = text.find("\r\n\r\n");
    REQUIRE(end_of_head != std::string::npos);
    CHECK(text.size() == end_of_head + 4);
}
