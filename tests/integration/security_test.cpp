// Abuse limits on a real gateway on loopback: failed-authentication limits (#16 item 3) and
// connection caps (#16 item 4) in-process (its clock fixed, its log readable), running out of
// descriptors with a `stirgate serve` process. Linux routes all of 127.0.0.0/8 to loopback, so
// binding the client end to 127.0.0.2 or 127.0.0.3 makes honest distinct client addresses.

#include "net/net.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "app/config.hpp"
#include "core/form.hpp"
#include "support/fixtures.hpp"
#include "support/gateway_process.hpp"
#include "support/in_process_gateway.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

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

const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: gw.test\r\n\r\n";
const std::string get_metrics = "GET /metrics HTTP/1.1\r\nHost: gw.test\r\n\r\n";

// A kept-alive connection from `source` that has been served one /healthz (so the gateway has
// admitted it); nullptr when the gateway closed it instead.
std::unique_ptr<stirgate::test::http_connection> held_connection(std::uint16_t port,
                                                                 const std::string& source)
{
    auto c =
        std::make_unique<stirgate::test::http_connection>(port, std::chrono::seconds(5), source);
    if (!c->send(healthz)) return nullptr;
    const auto r = c->read_reply();
    if (!r || r->status != 200) return nullptr;
    return c;
}

// utime + stime of a process in clock ticks, from /proc/<pid>/stat (fields 14 and 15).
long cpu_ticks(pid_t pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string f;
    long ticks = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i)
        if (i >= 14) ticks += std::stol(f);
    return ticks;
}

std::size_t open_descriptors(pid_t pid)
{
    const std::filesystem::directory_iterator fds("/proc/" + std::to_string(pid) + "/fd");
    return static_cast<std::size_t>(
        std::distance(std::filesystem::begin(fds), std::filesystem::end(fds)));
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

TEST_CASE(
    "connections over the per-address cap are closed at once while other addresses, and "
    "/healthz over the total cap, are still served",
    "[integration][security]")
{
    auto cfg = base_config();
    cfg.server.max_connections_per_address = 4;
    cfg.server.max_connections = 8;
    secured_gateway g(std::move(cfg));
    const std::uint16_t port = g.gw->port();

    // One client holds its 4 connections; its fifth and sixth are closed with no reply.
    std::vector<std::unique_ptr<stirgate::test::http_connection>> held;
    for (int i = 0; i < 4; ++i) {
        held.push_back(held_connection(port, attacker));
        REQUIRE(held.back());
    }
    for (int i = 0; i < 2; ++i) {
        stirgate::test::http_connection extra(port, std::chrono::seconds(5), attacker);
        (void)extra.send(healthz);  // may already fail: the gateway resets the connection
        CHECK_FALSE(extra.read_reply());
    }
    // Another address is served in full, the API included.
    CHECK(g.gw->exchange(healthz, owner).status == 200);
    CHECK(g.gw->exchange(create_call(account_token), owner).status == 201);

    // A second client takes the total to max_connections (8).
    for (int i = 0; i < 4; ++i) {
        held.push_back(held_connection(port, "127.0.0.4"));
        REQUIRE(held.back());
    }
    // A fresh connection now lands in the health reserve: health checks answer (and close),
    // anything else is 503 in the route's error shape.
    const auto health = g.gw->exchange(healthz, "127.0.0.5");
    CHECK(health.status == 200);
    CHECK(health.header("Connection") == "close");
    CHECK(g.gw->exchange("GET /readyz HTTP/1.1\r\nHost: gw.test\r\n\r\n", "127.0.0.5").status ==
          200);
    const auto busy = g.gw->exchange(create_call(account_token), "127.0.0.5");
    CHECK(busy.status == 503);
    CHECK(json_of(busy)["code"].GetInt() == 20503);

    // Connections that end give their places back.
    held.clear();
    bool served = false;
    for (int i = 0; i < 100 && !served; ++i) {
        served = g.gw->exchange(create_call(account_token), "127.0.0.5").status == 201;
        if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(served);
    const auto metrics = g.gw->exchange(get_metrics, owner);
    CHECK(metric(metrics.body, "stirgate_connections_refused_total{reason=\"per_address\"}") == 2);
    CHECK(metric(metrics.body, "stirgate_connections_refused_total{reason=\"total\"}") == 0);
    CHECK(g.log.str().find("connection refused by cap") != std::string::npos);
    CHECK(held_connection(port, attacker));
}

TEST_CASE(
    "out of descriptors the gateway closes pending connections instead of spinning, and "
    "/healthz answers again once descriptors are free",
    "[integration][security]")
{
    stirgate::test::temp_dir dir;
    // No caps, so the connections run into the descriptor limit set below.
    auto gw = stirgate::test::gateway_process::start(
        dir.write("stirgate.toml",
                  "[server]\nthreads = 1\nmax_connections = 0\nmax_connections_per_address = 0\n"
                  "[storage]\nurl = \"sqlite://stirgate.db\"\n"));
    const auto first = stirgate::test::http_exchange(gw.port(), healthz);
    REQUIRE(first);
    REQUIRE(first->status == 200);

    // Room for 4 more descriptors in the running gateway (the soft limit; the hard one stays).
    rlimit old_limit{};
    REQUIRE(prlimit(gw.pid(), RLIMIT_NOFILE, nullptr, &old_limit) == 0);
    rlimit low = old_limit;
    low.rlim_cur = open_descriptors(gw.pid()) + 4;
    REQUIRE(prlimit(gw.pid(), RLIMIT_NOFILE, &low, nullptr) == 0);

    const long cpu_before = cpu_ticks(gw.pid());
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::unique_ptr<stirgate::test::http_connection>> held;
    int closed = 0;
    for (int i = 0; i < 16; ++i) {
        auto c = held_connection(gw.port(), "");
        if (c)
            held.push_back(std::move(c));
        else
            ++closed;
    }
    const double elapsed_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double cpu_s = static_cast<double>(cpu_ticks(gw.pid()) - cpu_before) /
                         static_cast<double>(sysconf(_SC_CLK_TCK));
    INFO("held " << held.size() << ", closed " << closed << ", " << elapsed_s << " s, CPU " << cpu_s
                 << " s");
    CHECK(!held.empty());
    // About 4 (the first exchange's descriptor may still have been open when counted).
    CHECK(held.size() <= 6);
    CHECK(closed >= 10);
    // Every one was answered or closed well before its 5 s timeout: none left hanging.
    CHECK(closed + static_cast<int>(held.size()) == 16);
    CHECK(elapsed_s < 16 * 1.0);
    CHECK(cpu_s < 0.5 * elapsed_s + 0.2);  // backing off, not spinning on accept

    // Descriptors free again: a fresh connection is served.
    held.clear();
    bool healthy = false;
    for (int i = 0; i < 100 && !healthy; ++i) {
        const auto r = stirgate::test::http_exchange(gw.port(), healthz);
        healthy = r && r->status == 200;
        if (!healthy) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(healthy);
    REQUIRE(prlimit(gw.pid(), RLIMIT_NOFILE, &old_limit, nullptr) == 0);
    CHECK(gw.stop() == 0);
    CHECK(gw.stdout_text().find("accept failed") != std::string::npos);
}
