#include "net/router.hpp"

#include <catch2/catch.hpp>

#include <exception>
#include <optional>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using stirgate::errc;
using stirgate::net::error_style;
using stirgate::net::http_response;
using stirgate::net::request_context;
using stirgate::net::router;

// Echoes what the router decided, so a test sees route, captures and query in one string.
stirgate::net::awaitable<http_response> echo(request_context& ctx)
{
    http_response res{http::status::ok, ctx.request.version()};
    std::string body = ctx.route + "|" + ctx.path + "|" + ctx.query;
    for (const auto& [k, v] : ctx.params) body += "|" + k + "=" + v;
    res.body() = body;
    co_return res;
}

stirgate::net::awaitable<http_response> echo_call_sid(request_context& ctx)
{
    http_response res{http::status::ok, ctx.request.version()};
    res.body() = std::string(ctx.param("CallSid")) + "/" + std::string(ctx.param("AccountSid"));
    co_return res;
}

struct dispatched {
    http_response res;
    request_context ctx;
};

// Runs router::dispatch on a local io_context: no threads, no clock.
dispatched run(const router& routes, http::verb method, std::string target)
{
    asio::io_context ioc;
    auto ctx = std::make_unique<request_context>();
    ctx->request = stirgate::net::http_request{method, target, 11};
    std::optional<http_response> out;
    std::exception_ptr failure;
    auto done = [&](std::exception_ptr e, http_response r) {
        failure = e;
        if (!e) out = std::move(r);
    };
    asio::co_spawn(ioc, routes.dispatch(*ctx), done);
    ioc.run();
    if (failure) std::rethrow_exception(failure);
    REQUIRE(out);
    return {std::move(*out), std::move(*ctx)};
}

router twilio_like_routes()
{
    router r;
    r.set_error_style("/2010-04-01/", error_style::twilio);
    r.add(http::verb::get, "/healthz", error_style::plain, echo);
    r.add(http::verb::post, "/2010-04-01/Accounts/{AccountSid}/Calls.json", error_style::twilio,
          echo);
    r.add(http::verb::get, "/2010-04-01/Accounts/{AccountSid}/Calls.json", error_style::twilio,
          echo);
    r.add(http::verb::get, "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json",
          error_style::twilio, echo_call_sid);
    r.add(http::verb::post, "/stir/v1/signing", error_style::atis, echo);
    return r;
}

}  // namespace

TEST_CASE("the router dispatches a literal route and strips the query string", "[net]")
{
    const router r = twilio_like_routes();
    auto d = run(r, http::verb::get, "/healthz?verbose=1&x=%20");
    CHECK(d.res.result() == http::status::ok);
    CHECK(d.res.body() == "/healthz|/healthz|verbose=1&x=%20");
    CHECK(d.ctx.route == "/healthz");
    CHECK_FALSE(d.ctx.failure);
}

TEST_CASE("the router captures named segments and suffix captures like {CallSid}.json", "[net]")
{
    const router r = twilio_like_routes();
    const std::string account = "AC0123456789abcdef0123456789abcdef";
    auto d = run(r, http::verb::get, "/2010-04-01/Accounts/" + account + "/Calls/CA42.json?x=1");
    CHECK(d.res.result() == http::status::ok);
    CHECK(d.res.body() == "CA42/" + account);
    CHECK(d.ctx.route == "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json");
    CHECK(d.ctx.query == "x=1");

    SECTION("a literal suffix segment is not taken for a capture")
    {
        auto list = run(r, http::verb::get, "/2010-04-01/Accounts/" + account + "/Calls.json");
        CHECK(list.ctx.route == "/2010-04-01/Accounts/{AccountSid}/Calls.json");
        CHECK(list.res.body() ==
              "/2010-04-01/Accounts/{AccountSid}/Calls.json|/2010-04-01/"
              "Accounts/" +
                  account + "/Calls.json||AccountSid=" + account);
    }
    SECTION("a capture must be non-empty and carry its suffix")
    {
        CHECK(run(r, http::verb::get, "/2010-04-01/Accounts/" + account + "/Calls/.json")
                  .res.result() == http::status::not_found);
        CHECK(run(r, http::verb::get, "/2010-04-01/Accounts/" + account + "/Calls/CA42")
                  .res.result() == http::status::not_found);
    }
}

TEST_CASE("an unknown path is 404 and a known path with another method is 405 with Allow", "[net]")
{
    const router r = twilio_like_routes();

    SECTION("404 in the plain style outside API prefixes")
    {
        auto d = run(r, http::verb::get, "/nope");
        CHECK(d.res.result() == http::status::not_found);
        CHECK(d.res.body() ==
              R"({"error":"not_found","message":"The requested resource was not found"})");
        CHECK(d.ctx.failure == errc::not_found);
        CHECK(d.ctx.route.empty());
    }
    SECTION("404 under /2010-04-01/ is Twilio-shaped and names the path")
    {
        auto d = run(r, http::verb::get, "/2010-04-01/Accounts/AC1/Nope.json?a=b");
        CHECK(d.res.result() == http::status::not_found);
        CHECK(d.res.body().find(R"("code":20404)") != std::string::npos);
        CHECK(d.res.body().find("/2010-04-01/Accounts/AC1/Nope.json was not found") !=
              std::string::npos);
        CHECK(d.res.body().find("a=b") == std::string::npos);
    }
    SECTION("405 lists every method of the path")
    {
        auto d = run(r, http::verb::delete_, "/2010-04-01/Accounts/AC1/Calls.json");
        CHECK(d.res.result() == http::status::method_not_allowed);
        CHECK(d.res[http::field::allow] == "GET, POST");
        CHECK(d.ctx.failure == errc::method_not_allowed);
        CHECK(d.ctx.route == "/2010-04-01/Accounts/{AccountSid}/Calls.json");
        CHECK(d.res.body().find(R"("code":20004)") != std::string::npos);
    }
    SECTION("405 on an ATIS route renders an ATIS error")
    {
        auto d = run(r, http::verb::get, "/stir/v1/signing");
        CHECK(d.res.result() == http::status::method_not_allowed);
        CHECK(d.res[http::field::allow] == "POST");
        CHECK(d.res.body().find("POL4050") != std::string::npos);
    }
    SECTION("a trailing slash is another path")
    {
        CHECK(run(r, http::verb::get, "/healthz/").res.result() == http::status::not_found);
    }
}

TEST_CASE("the most specific pattern wins whatever the registration order", "[net]")
{
    router r;
    r.add(http::verb::get, "/certs/{name}", error_style::plain, echo);
    r.add(http::verb::get, "/certs/{name}.pem", error_style::plain, echo);
    r.add(http::verb::get, "/certs/sti.pem", error_style::plain, echo);
    CHECK(run(r, http::verb::get, "/certs/sti.pem").ctx.route == "/certs/sti.pem");
    CHECK(run(r, http::verb::get, "/certs/other.pem").ctx.route == "/certs/{name}.pem");
    CHECK(run(r, http::verb::get, "/certs/other").ctx.route == "/certs/{name}");
}

TEST_CASE("the route list reports every route in registration order", "[net]")
{
    const router r = twilio_like_routes();
    const auto list = r.routes();
    REQUIRE(list.size() == 5);
    CHECK(list[0].pattern == "/healthz");
    CHECK(list[0].method == http::verb::get);
    CHECK(list[3].pattern == "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json");
    CHECK(list[3].style == error_style::twilio);
    CHECK(list[4].style == error_style::atis);
}

TEST_CASE("malformed or duplicate route patterns are rejected when the table is built", "[net]")
{
    router r;
    r.add(http::verb::get, "/a/{id}", error_style::plain, echo);
    const char* bad =
        GENERATE("", "no-slash", "/a/{", "/a/{}", "/a/}x", "/a/{x}{y}", "/a/{bad-name}");
    INFO(bad);
    CHECK_THROWS_AS(r.add(http::verb::get, bad, error_style::plain, echo), std::invalid_argument);
    CHECK_THROWS_AS(r.add(http::verb::get, "/a/{id}", error_style::plain, echo),
                    std::invalid_argument);
}

TEST_CASE("finalize_response sets Server, Content-Type, keep-alive and Content-Length", "[net]")
{
    http_response res{http::status::ok, 11};
    res.body() = "hello";
    stirgate::net::finalize_response(res, 10, false);
    CHECK(res.version() == 10);
    CHECK(res[http::field::server] == "stirgate");
    CHECK(res[http::field::content_type] == "application/json");
    CHECK(res[http::field::content_length] == "5");
    CHECK_FALSE(res[http::field::date].empty());
    CHECK_FALSE(res.keep_alive());

    http_response text{http::status::ok, 11};
    text.set(http::field::content_type, "text/plain");
    stirgate::net::finalize_response(text, 11, true);
    CHECK(text[http::field::content_type] == "text/plain");
    CHECK(text.keep_alive());
}

TEST_CASE("a 401 names Basic auth with one realm per API style, and only a 401 does", "[net]")
{
    using stirgate::net::error_response;
    const stirgate::error unauthorized{errc::unauthorized, "no credentials"};
    const auto twilio = error_response(error_style::twilio, unauthorized, 11, "/2010-04-01/x");
    CHECK(twilio.result_int() == 401);
    CHECK(twilio[http::field::www_authenticate] == "Basic realm=\"Twilio API\"");
    const auto atis = error_response(error_style::atis, unauthorized, 11, "/stir/v1/signing");
    CHECK(atis.result_int() == 401);
    CHECK(atis[http::field::www_authenticate] == "Basic realm=\"stirgate\"");
    // Plain routes (health, certificates) have no credentials to ask for.
    CHECK(error_response(error_style::plain, unauthorized, 11, "/healthz")
              .count(http::field::www_authenticate) == 0);
    CHECK(error_response(error_style::twilio, stirgate::error{errc::forbidden}, 11, "/2010-04-01/x")
              .count(http::field::www_authenticate) == 0);
}
