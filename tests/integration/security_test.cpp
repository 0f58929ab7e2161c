// Abuse limits on a real gateway on loopback (in-process, so its clock is fixed and its log
// readable): failed-authentication limits (#16 item 3). Linux routes all of 127.0.0.0/8 to
// loopback, so binding the client end to 127.0.0.2 or 127.0.0.3 makes two honest client
// addresses.

#include "net/net.hpp"

#include <atomic>
#include <sstream>
#include <string>

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "app/config.hpp"
#include "core/form.hpp"
#include "support/fixtures.hpp"
#include "support/in_process_gateway.hpp"
#include "support/process.hpp"

namespace {

using stirgate::test::account_sid;
using stirgate::test::account_token;
using stirgate::test::basic_auth;

constexpr const char* attacker = "127.0.0.2";
constexpr const char* owner = "127.0.0.3";

struct secured_gateway {
    std::atomic<std::int64_t> now{1767225600};
    std::ostringstream log;
    std::optional<stirgate::test::in_process_gateway> gw;

    explicit secured_gateway(stirgate::app::config cfg)
    {
        stirgate::app::gateway_options opts;
        opts.now = [this] { return now.load(); };
        opts.log_out = &log;
        gw.emplace(std::move(cfg), std::move(opts));
    }
};

stirgate::app::config base_config()
{
    stirgate::app::config cfg;
    cfg.server.listen = {"127.0.0.1", 0};
    cfg.server.threads = 1;
    cfg.storage.url = "sqlite://:memory:";
    cfg.signing = stirgate::test::vector_signing();
    auto account = stirgate::test::vector_account(account_sid, account_token);
    account.numbers.push_back({"+14155550101", 'A', {}, {}, {}});
    cfg.accounts.push_back(account);
    return cfg;
}

std::string create_call(const std::string& token)
{
    stirgate::core::form_params form;
    form.add("To", "+16505550102");
    form.add("From", "+14155550101");
    form.add("Url", "https://app.example.test/twiml");
    const std::string body = stirgate::core::format_form(form);
    return "POST /2010-04-01/Accounts/" + std::string(account_sid) +
           "/Calls.json HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
           basic_auth(account_sid, token) +
           "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string atis_verify(const std::string& token)
{
    const std::string body =
        stirgate::test::verification_body("13105550100", "14155550101", 1767225600, {});
    return "POST /stir/v1/verification HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
           basic_auth(account_sid, token) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

rapidjson::Document json_of(const stirgate::test::http_reply& r)
{
    rapidjson::Document d;
    d.Parse(r.body.c_str(), r.body.size());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

double metric(const std::string& text, const std::string& series)
{
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE(
    "30 wrong passwords from one address get 429 with Retry-After while the owner's right "
    "password from another address still creates a call",
    "[integration][security]")
{
    auto cfg = base_config();
    cfg.security.auth_failures_per_address = 20;
    cfg.security.auth_failure_window = std::chrono::seconds(300);
    secured_gateway g(std::move(cfg));

    int unauthorized = 0;
    int limited = 0;
    std::string retry_after;
    for (int i = 0; i < 30; ++i) {
        const auto r = g.gw->exchange(create_call("wrong-" + std::to_string(i)), attacker);
        if (r.status == 401) ++unauthorized;
        if (r.status == 429) {
            ++limited;
            retry_after = r.header("Retry-After");
            const auto d = json_of(r);
            CHECK(d["code"].GetInt() == 20429);  // Twilio: too many requests
            CHECK(d["status"].GetInt() == 429);
        }
    }
    CHECK(unauthorized == 20);
    CHECK(limited == 10);
    CHECK(retry_after == "300");

    // The blocked address is refused even with the right password, on the ATIS API too.
    CHECK(g.gw->exchange(create_call(account_token), attacker).status == 429);
    const auto atis = g.gw->exchange(atis_verify(account_token), attacker);
    CHECK(atis.status == 429);
    CHECK(atis.header("Retry-After") == "300");
    CHECK(std::string(json_of(atis)["requestError"]["policyException"]["messageId"].GetString()) ==
          "POL4290");

    // The owner, from another address, is not locked out.
    CHECK(g.gw->exchange(create_call(account_token), owner).status == 201);
    // Authenticated, then refused for its empty identity list: past the limits.
    CHECK(g.gw->exchange(atis_verify(account_token), owner).status == 400);

    // Logged once when the block started, and every refusal counted.
    CHECK(g.log.str().find("authentication failures: blocking") != std::string::npos);
    CHECK(g.log.str().find("wrong-") == std::string::npos);  // no password is logged
    const auto metrics = g.gw->exchange("GET /metrics HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    CHECK(metric(metrics.body, "stirgate_auth_throttled_total{scope=\"address\"}") == 12);

    // The window ends on the gateway's clock: the address may try again.
    g.now += 300;
    CHECK(g.gw->exchange(create_call(account_token), attacker).status == 201);
}

TEST_CASE("guessing one account from many addresses blocks those addresses for it, not the owner",
          "[integration][security]")
{
    auto cfg = base_config();
    cfg.security.auth_failures_per_address = 20;
    cfg.security.auth_failures_per_account = 6;
    secured_gateway g(std::move(cfg));

    // Three addresses, two guesses each: the account's count reaches 6.
    for (const char* a : {"127.0.0.4", "127.0.0.5", "127.0.0.6"})
        for (int i = 0; i < 2; ++i) CHECK(g.gw->exchange(create_call("wrong"), a).status == 401);
    for (const char* a : {"127.0.0.4", "127.0.0.5", "127.0.0.6"})
        CHECK(g.gw->exchange(create_call(account_token), a).status == 429);
    CHECK(g.gw->exchange(create_call(account_token), owner).status == 201);
    const auto metrics = g.gw->exchange("GET /metrics HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    CHECK(metric(metrics.body, "stirgate_auth_throttled_total{scope=\"account\"}") == 3);
}
