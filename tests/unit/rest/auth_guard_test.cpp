// Failed-authentication limits at the toolkit level (rest/twilio_request.hpp authenticate with
// an rest::auth_guard): per address, per account for the addresses that failed for it, the
// window on an injected clock, Retry-After, and the hooks the gateway logs and counts with.

#include "net/net.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "rest/auth_guard.hpp"
#include "rest/twilio_request.hpp"
#include "core/base64url.hpp"
#include "core/crypto.hpp"
#include "support/fixtures.hpp"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace stirgate;

constexpr const char* other_sid = "ACfedcba9876543210fedcba9876543210";
constexpr const char* other_token = "fedcba9876543210fedcba9876543210";

std::vector<core::account_config> accounts()
{
    core::account_config a;
    a.sid = test::account_sid;
    a.auth_token = test::account_token;
    core::account_config b;
    b.sid = other_sid;
    b.auth_token = other_token;
    return {a, b};
}

struct fixture {
    core::account_directory directory{accounts()};
    std::int64_t now = 1767225600;
    std::vector<rest::auth_block_event> blocks;
    std::vector<rest::auth_block_scope> refused;
    rest::auth_guard guard;

    explicit fixture(rest::auth_limits limits = {5, 8, std::chrono::seconds(60), 1000},
                     std::vector<net::cidr_block> proxies = {})
        : guard(
              limits, std::move(proxies), [this] { return now; },
              rest::auth_guard_hooks{[this](const rest::auth_block_event& e) { blocks.push_back(e); },
                                    [this](rest::auth_block_scope s) { refused.push_back(s); }})
    {
    }

    // One authentication as the ATIS and Calls APIs run it; the context is kept for Retry-After.
    net::request_context ctx;
    result<core::account_ptr> attempt(const std::string& peer, const std::string& sid,
                                      const std::string& token, const std::string& xff = "")
    {
        ctx = net::request_context{};
        ctx.remote = asio::ip::tcp::endpoint(asio::ip::make_address(peer), 40000);
        ctx.request.set(http::field::authorization, test::basic_auth(sid, token));
        if (!xff.empty()) ctx.request.set("X-Forwarded-For", xff);
        return rest::authenticate(directory, &guard, ctx);
    }
};

}  // namespace

TEST_CASE("an address is answered rate_limited after its failures, until its window ends", "[api]")
{
    fixture f;
    for (int i = 0; i < 5; ++i) {
        const auto r = f.attempt("203.0.113.5", test::account_sid, "wrong");
        REQUIRE_FALSE(r);
        CHECK(r.code() == errc::unauthorized);
    }
    REQUIRE(f.blocks.size() == 1);
    CHECK(f.blocks[0].scope == rest::auth_block_scope::address);
    CHECK(f.blocks[0].client == "203.0.113.5");
    CHECK(f.blocks[0].account_sid == test::account_sid);

    // Blocked: even the right password from this address waits, and is not looked at.
    f.now += 10;
    auto r = f.attempt("203.0.113.5", test::account_sid, test::account_token);
    REQUIRE_FALSE(r);
    CHECK(r.code() == errc::rate_limited);
    REQUIRE(f.ctx.retry_after);
    CHECK(*f.ctx.retry_after == std::chrono::seconds(50));
    const net::http_response res = f.ctx.fail(r.err());
    CHECK(res.result_int() == 429);
    CHECK(res[http::field::retry_after] == "50");
    CHECK(f.refused == std::vector<rest::auth_block_scope>{rest::auth_block_scope::address});
    CHECK(f.attempt("203.0.113.5", other_sid, other_token).code() == errc::rate_limited);

    // Another address is not affected, and the owner's right password works.
    CHECK(f.attempt("198.51.100.7", test::account_sid, test::account_token));

    // The window ends: the address may try again.
    f.now += 50;
    CHECK(f.attempt("203.0.113.5", test::account_sid, test::account_token));
}

TEST_CASE("an account's failures from many addresses block only the addresses that failed for it",
          "[api]")
{
    fixture f;  // 5 per address, 8 per account
    // A guesser spread over 8 addresses, one try each: the account's count reaches 8.
    for (int i = 1; i <= 8; ++i)
        CHECK(f.attempt("203.0.113." + std::to_string(i), test::account_sid, "wrong").code() ==
              errc::unauthorized);
    REQUIRE(f.blocks.size() == 1);
    CHECK(f.blocks[0].scope == rest::auth_block_scope::account);
    CHECK(f.blocks[0].account_sid == test::account_sid);

    // Those addresses are refused for this account, even with the right password...
    const auto r = f.attempt("203.0.113.3", test::account_sid, test::account_token);
    CHECK(r.code() == errc::rate_limited);
    CHECK(f.ctx.retry_after == std::chrono::seconds(60));
    CHECK(f.refused == std::vector<rest::auth_block_scope>{rest::auth_block_scope::account});
    // ...but not for another account, and the owner from a clean address gets in.
    CHECK(f.attempt("203.0.113.3", other_sid, other_token));
    CHECK(f.attempt("198.51.100.7", test::account_sid, test::account_token));
    // A new address gets one try, then is refused too.
    CHECK(f.attempt("203.0.113.99", test::account_sid, "wrong").code() == errc::unauthorized);
    CHECK(f.attempt("203.0.113.99", test::account_sid, "wrong").code() == errc::rate_limited);
    CHECK(f.blocks.size() == 1);  // one log line per block, not per refusal
}

TEST_CASE("unknown SIDs and absent credentials are not counted per account", "[api]")
{
    fixture f;
    // Made-up SIDs count against the address only (they cannot fill the account table).
    for (int i = 0; i < 4; ++i)
        CHECK(
            f.attempt("203.0.113.5", "AC" + std::string(31, '0') + std::to_string(i), "x").code() ==
            errc::unauthorized);
    CHECK(f.blocks.empty());
    // No Authorization at all is a plain 401 and never counted.
    for (int i = 0; i < 10; ++i) {
        net::request_context ctx;
        ctx.remote = asio::ip::tcp::endpoint(asio::ip::make_address("203.0.113.5"), 40000);
        CHECK(rest::authenticate(f.directory, &f.guard, ctx).code() == errc::unauthorized);
    }
    CHECK(f.attempt("203.0.113.5", test::account_sid, test::account_token));
    // The fifth failure blocks the address.
    CHECK(f.attempt("203.0.113.5", test::account_sid, "wrong").code() == errc::unauthorized);
    CHECK(f.attempt("203.0.113.5", test::account_sid, test::account_token).code() ==
          errc::rate_limited);
}

TEST_CASE("behind a trusted proxy failures count against X-Forwarded-For's client", "[api]")
{
    fixture f({3, 100, std::chrono::seconds(60), 1000}, {*net::parse_cidr("10.0.0.0/8")});
    for (int i = 0; i < 3; ++i)
        CHECK(f.attempt("10.0.0.2", test::account_sid, "wrong", "203.0.113.5").code() ==
              errc::unauthorized);
    CHECK(f.attempt("10.0.0.2", test::account_sid, test::account_token, "203.0.113.5").code() ==
          errc::rate_limited);
    // Same proxy, another client: fine. A forged left entry changes nothing.
    CHECK(f.attempt("10.0.0.2", test::account_sid, test::account_token, "198.51.100.7"));
    CHECK(f.attempt("10.0.0.2", test::account_sid, test::account_token, "198.51.100.7, 203.0.113.5")
              .code() == errc::rate_limited);
    // An untrusted peer's X-Forwarded-For is ignored: it is counted as itself.
    CHECK(f.attempt("192.0.2.1", test::account_sid, test::account_token, "203.0.113.5"));
}
