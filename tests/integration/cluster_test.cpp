// Several `stirgate serve` instances on one PostgreSQL database (the tests' own server), as
// issue #13 runs them: behind Debian's haproxy, a call created through one instance is fetched,
// listed, forwarded and updated through the other; the edge's status reports for one call land
// on both, in parallel, and the call ends in the right status; a SIGKILLed instance's outbox
// items are delivered by the survivor once their lease runs out; the database stopped under load
// gives 503s, no crash, and the cluster resumes by itself with nothing acknowledged lost.
//
// Each case prints one "cluster: ..." line with its figures.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "support/app_server.hpp"
#include "support/edge_receiver.hpp"
#include "support/fixtures.hpp"
#include "support/gateway_process.hpp"
#include "support/haproxy.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_tls.hpp"

namespace {

namespace core = stirgate::core;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using stirgate::test::account_sid;
using stirgate::test::call_fetchable;
using stirgate::test::child_process;
using stirgate::test::eventually;
using stirgate::test::forward_request;
using stirgate::test::gateway_process;
using stirgate::test::http_exchange;
using stirgate::test::http_reply;
using stirgate::test::sid_of;

constexpr int lease_ms = 1000;  // [webhooks] outbox_lease_ms: the smallest the config allows
constexpr const char* caller = "+13105550100";
constexpr const char* number = "+14155550101";  // the account's number; its app at /voice
constexpr const char* twiml = "<Response><Dial><Number>+16505550102</Number></Dial></Response>";

std::string calls_path()
{
    return "/2010-04-01/Accounts/" + std::string(account_sid) + "/Calls";
}

std::string authorized(const std::string& method, const std::string& target,
                       const std::string& form_body = {})
{
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: gw.test\r\nAuthorization: " +
                      stirgate::test::basic_auth(account_sid, stirgate::test::account_token) +
                      "\r\n";
    if (!form_body.empty())
        raw += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
               std::to_string(form_body.size()) + "\r\n";
    return raw + "\r\n" + form_body;
}

// The edge's signed form POST to one of the gateway's webhooks, over the URL it used.
std::string edge_post(const std::string& path, const core::form_params& form)
{
    const std::string body = core::format_form(form);
    return "POST " + path + " HTTP/1.1\r\nHost: gw.test\r\nX-Twilio-Signature: " +
           core::twilio_signature(stirgate::test::edge_secret, "http://gw.test" + path, form) +
           "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

int report_status(std::uint16_t port, const std::string& sid, const std::string& status)
{
    core::form_params f;
    f.add("CallSid", sid);
    f.add("CallStatus", status);
    if (status == "completed") f.add("CallDuration", "42");
    const auto reply = http_exchange(port, edge_post("/webhooks/call-status", f));
    return reply ? reply->status : 0;
}

// One member of a call's JSON as fetched from `port`; "" when the fetch or the member fails.
std::string call_field(std::uint16_t port, const std::string& sid, const char* member)
{
    const auto reply = http_exchange(port, authorized("GET", calls_path() + "/" + sid + ".json"));
    if (!reply || reply->status != 200) return {};
    rapidjson::Document d;
    d.Parse(reply->body.c_str(), reply->body.size());
    if (d.HasParseError() || !d.IsObject() || !d.HasMember(member) || !d[member].IsString())
        return {};
    return d[member].GetString();
}

std::set<std::string> listed_sids(std::uint16_t port)
{
    const auto reply = http_exchange(port, authorized("GET", calls_path() + ".json?PageSize=1000"));
    REQUIRE(reply);
    REQUIRE(reply->status == 200);
    rapidjson::Document d;
    d.Parse(reply->body.c_str(), reply->body.size());
    REQUIRE((d.IsObject() && d.HasMember("calls") && d["calls"].IsArray()));
    std::set<std::string> out;
    for (const auto& c : d["calls"].GetArray()) out.insert(c["sid"].GetString());
    return out;
}

double seconds_since(clock_type::time_point t)
{
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

// The database, the edge, the account's application and the config every instance shares.
struct cluster {
    stirgate::test::postgres_server& db = stirgate::test::shared_postgres();
    std::string url = db.create_database();
    stirgate::test::temp_dir dir;
    stirgate::test::test_ca ca{"stirgate cluster test CA"};
    std::string ca_file = dir.write("test-ca.pem", ca.cert_pem());
    stirgate::test::edge_receiver edge;
    stirgate::test::app_server app{ca.issue_server("app.example.test")};
    std::string config;
    int started = 0;

    cluster()
    {
        app.route("/voice", stirgate::test::app_route{200, "text/xml", twiml, {}, 0});
        config = dir.write(
            "stirgate.toml",
            stirgate::test::forwarding_config(edge.port(), url) +
                "[[accounts.numbers]]\nnumber = \"" + number + "\"\nvoice_url = \"" +
                app.url("/voice") + "\"\n" +
                "[network]\nallow_private_addresses = true\nwebhook_ca_file = \"" + ca_file +
                "\"\n" + "[webhooks]\noutbox_lease_ms = " + std::to_string(lease_ms) +
                "\nretry_base_ms = 100\nretry_cap_ms = 400\n");
    }

    gateway_process start(const std::string& name)
    {
        return gateway_process::start(
            config, (dir.path() / (name + "-" + std::to_string(++started) + ".log")).string());
    }

    std::map<std::string, std::set<std::string>> dials() const
    {
        return stirgate::test::idempotency_tokens_by_call(edge.requests());
    }

    // True once every sid in `sids` has reached the edge, within `limit`.
    bool all_dialled(const std::vector<std::string>& sids, std::chrono::milliseconds limit) const
    {
        return eventually(
            [&] {
                const auto seen = dials();
                for (const auto& sid : sids)
                    if (!seen.count(sid)) return false;
                return true;
            },
            limit);
    }
};

// Every repeat of a dial carries its item's one I-Twilio-Idempotency-Token, and no two calls
// share one, whichever instance sent them.
void check_one_token_per_call(const std::map<std::string, std::set<std::string>>& dials)
{
    std::set<std::string> tokens;
    for (const auto& [sid, t] : dials) {
        INFO("call " << sid);
        CHECK(t.size() == 1);
        CHECK_FALSE(t.begin()->empty());
        tokens.insert(t.begin(), t.end());
    }
    CHECK(tokens.size() == dials.size());
}

// haproxy in front of `a` and `b`, plain HTTP on loopback, round robin with fast health checks;
// up once answers from both instances came through it.
child_process start_haproxy(cluster& c, std::uint16_t lb_port, std::uint16_t a, std::uint16_t b)
{
    const std::string haproxy = stirgate::test::find_haproxy();
    if (haproxy.empty()) FAIL("haproxy is not installed (scripts/install-deps.sh installs it)");
    const std::string cfg = c.dir.write(
        "haproxy.cfg",
        "global\n  nbthread 1\n  maxconn 512\n"
        "defaults\n  mode http\n  timeout connect 2s\n  timeout client 15s\n"
        "  timeout server 15s\n  retries 2\n  option redispatch\n"
        "frontend public\n  bind 127.0.0.1:" + std::to_string(lb_port) + "\n"
        "  default_backend stirgate\n"
        "backend stirgate\n  balance roundrobin\n  option httpchk GET /readyz\n"
        "  http-check expect status 200\n  default-server inter 200ms fall 1 rise 1\n"
        "  server a 127.0.0.1:" + std::to_string(a) + " check\n"
        "  server b 127.0.0.1:" + std::to_string(b) + " check\n");
    auto proc = child_process::spawn(haproxy, {"-db", "-f", cfg});
    std::set<std::string> seen;
    const auto deadline = clock_type::now() + 10s;
    while (seen.size() < 2 && clock_type::now() < deadline) {
        if (proc.wait(50ms)) break;  // exited: config refused
        try {
            const auto r =
                http_exchange(lb_port, "GET /readyz HTTP/1.1\r\nHost: gw.test\r\n\r\n");
            if (r && r->status == 200) seen.insert(stirgate::test::answering_instance(*r));
        } catch (const std::exception&) {
            // not listening yet
        }
    }
    INFO("haproxy stderr: " << proc.stderr_text());
    REQUIRE(seen.size() == 2);
    return proc;
}

}  // namespace

TEST_CASE("two gateways on one PostgreSQL behind haproxy act as one: create on one, fetch, list, "
          "forward and report status on the other",
          "[integration][cluster]")
{
    cluster c;
    auto a = c.start("a");
    auto b = c.start("b");
    const std::uint16_t lb_port = stirgate::test::reserve_port();
    auto lb = start_haproxy(c, lb_port, a.port(), b.port());

    // Creates through haproxy land on both instances; each call is known to both.
    std::vector<std::string> created;
    std::set<std::string> answered_by;
    for (int i = 0; i < 6; ++i) {
        const auto reply = http_exchange(lb_port, forward_request());
        REQUIRE(reply);
        INFO(reply->body);
        REQUIRE(reply->status == 201);
        created.push_back(sid_of(reply->body));
        answered_by.insert(stirgate::test::answering_instance(*reply));
    }
    CHECK(answered_by.size() == 2);
    for (const auto& sid : created) {
        INFO(sid);
        CHECK(call_fetchable(a.port(), sid));
        CHECK(call_fetchable(b.port(), sid));
    }
    const auto on_a = listed_sids(a.port());
    const auto on_b = listed_sids(b.port());
    CHECK(on_a == on_b);
    for (const auto& sid : created) CHECK(on_b.count(sid) == 1);
    CHECK(c.all_dialled(created, 10s));

    // The edge tells A of an inbound call; the app forwards it with its CallToken through B.
    const std::string inbound = "CA00000000000000000000000000c1a5e1";
    core::form_params incoming;
    incoming.add("CallSid", inbound);
    incoming.add("From", caller);
    incoming.add("To", number);
    incoming.add("CallStatus", "ringing");
    incoming.add("Direction", "inbound");
    const auto answer = http_exchange(a.port(), edge_post("/webhooks/incoming-call", incoming));
    REQUIRE(answer);
    INFO(answer->body);
    REQUIRE(answer->status == 200);
    CHECK(answer->body == twiml);
    const auto hooks = c.app.requests("/voice");
    REQUIRE(hooks.size() == 1);
    const auto hook = core::parse_form(hooks[0].body);
    REQUIRE(hook);
    const auto calltoken = hook->get("CallToken");
    REQUIRE(calltoken);
    CHECK(call_fetchable(b.port(), inbound));

    core::form_params forward;
    forward.add("To", "+16505550102");
    forward.add("From", caller);
    forward.add("Url", "https://app.example.test/twiml/forward");
    forward.add("CallToken", *calltoken);
    const auto forwarded =
        http_exchange(b.port(), authorized("POST", calls_path() + ".json", core::format_form(forward)));
    REQUIRE(forwarded);
    INFO(forwarded->body);
    REQUIRE(forwarded->status == 201);
    const std::string leg = sid_of(forwarded->body);
    CHECK(call_field(a.port(), leg, "parent_call_sid") == inbound);
    CHECK(c.all_dialled({leg}, 10s));

    // The edge's reports for the leg alternate between the instances; a late "ringing" changes
    // nothing. The inbound call's end, reported to B, is what A shows.
    CHECK(report_status(a.port(), leg, "ringing") == 200);
    CHECK(call_field(b.port(), leg, "status") == "ringing");
    CHECK(report_status(b.port(), leg, "in-progress") == 200);
    CHECK(call_field(a.port(), leg, "status") == "in-progress");
    CHECK(report_status(a.port(), leg, "completed") == 200);
    CHECK(report_status(b.port(), leg, "ringing") == 200);
    CHECK(call_field(a.port(), leg, "status") == "completed");
    CHECK(call_field(b.port(), leg, "status") == "completed");
    CHECK(call_field(b.port(), leg, "duration") == "42");
    CHECK(report_status(b.port(), inbound, "completed") == 200);
    CHECK(call_field(a.port(), inbound, "status") == "completed");
    // The parent call is checked cluster-wide: once it ended (reported to B), A refuses to
    // forward it again.
    const auto late =
        http_exchange(a.port(), authorized("POST", calls_path() + ".json", core::format_form(forward)));
    REQUIRE(late);
    CHECK(late->status == 400);
    CHECK(late->body.find("\"code\":21210") != std::string::npos);
    CHECK(late->body.find("parent call " + inbound + " is completed") != std::string::npos);

    // Reports for one call racing on both instances: B keeps sending the early statuses while A
    // sends the end. Every call ends completed with its duration: no update is lost to a
    // concurrent one.
    std::atomic<int> failed_reports{0};
    std::vector<std::thread> reporters;
    for (const auto& sid : created) {
        reporters.emplace_back([&, sid] {
            for (int i = 0; i < 5; ++i)
                for (const char* s : {"ringing", "in-progress"})
                    if (report_status(b.port(), sid, s) != 200) ++failed_reports;
        });
        reporters.emplace_back([&, sid] {
            std::this_thread::sleep_for(std::chrono::milliseconds(5 * (sid.back() % 8)));
            if (report_status(a.port(), sid, "completed") != 200) ++failed_reports;
        });
    }
    for (auto& t : reporters) t.join();
    CHECK(failed_reports == 0);
    for (const auto& sid : created) {
        INFO(sid);
        CHECK(call_field(a.port(), sid, "status") == "completed");
        CHECK(call_field(b.port(), sid, "status") == "completed");
        CHECK(call_field(a.port(), sid, "duration") == "42");
    }

    const auto dials = c.dials();
    check_one_token_per_call(dials);
    std::cout << "cluster: " << created.size() << " creates through haproxy answered by "
              << answered_by.size() << " instances, " << dials.size() << " calls dialled\n";
    CHECK(a.stop() == std::optional<int>(0));
    CHECK(b.stop() == std::optional<int>(0));
}

TEST_CASE("kill -9 of one gateway under load: the survivor delivers its outbox items within the "
          "lease plus 2 s, and every acknowledged call is stored and dialled with one token",
          "[fault][integration][cluster]")
{
    cluster c;
    auto b = c.start("b");
    const std::string request = forward_request();

    const unsigned seed = std::random_device{}();
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> kill_delay_ms(0, 300);

    constexpr int kills = 20;
    const auto takeover_limit = std::chrono::milliseconds(lease_ms) + 2s;
    std::vector<std::string> acknowledged;
    std::size_t acknowledged_by_killed = 0;
    double slowest_takeover_s = 0;
    int unexpected = 0;
    std::string unexpected_sample;
    const auto started = clock_type::now();

    for (int round = 0; round < kills; ++round) {
        auto a = c.start("a");
        std::atomic<bool> killed{false};
        std::atomic<bool> stop_b{false};
        std::atomic<int> created_on_a{0};
        std::mutex mutex;
        std::vector<std::string> round_a;
        std::vector<std::string> round_b;

        auto client = [&](std::uint16_t port, std::vector<std::string>& sids,
                          std::atomic<bool>& done, bool may_die) {
            while (!done) {
                std::optional<http_reply> reply;
                try {
                    stirgate::test::http_connection conn(port, 10s);
                    if (conn.send(request)) reply = conn.read_reply();
                } catch (const std::exception&) {
                    // connection refused: the killed instance is gone
                }
                const std::lock_guard lock(mutex);
                if (reply && reply->status == 201 && !sid_of(reply->body).empty()) {
                    sids.push_back(sid_of(reply->body));
                    if (&sids == &round_a) ++created_on_a;
                } else if (reply || !(may_die && done)) {
                    ++unexpected;
                    if (unexpected_sample.empty())
                        unexpected_sample = reply ? std::to_string(reply->status) + " " + reply->body
                                                  : "no reply from a live instance";
                }
            }
        };
        std::thread on_a(client, a.port(), std::ref(round_a), std::ref(killed), true);
        std::thread on_b(client, b.port(), std::ref(round_b), std::ref(stop_b), false);

        const auto load_deadline = clock_type::now() + 30s;
        while (created_on_a == 0 && clock_type::now() < load_deadline)
            std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(std::chrono::milliseconds(kill_delay_ms(rng)));
        killed = true;
        a.send_signal(SIGKILL);
        const auto kill_time = clock_type::now();
        const auto code = a.wait(10s);
        on_a.join();
        stop_b = true;
        on_b.join();
        REQUIRE(code == std::optional<int>(128 + SIGKILL));
        INFO("round " << round << "; first unexpected reply: " << unexpected_sample);
        REQUIRE_FALSE(round_a.empty());

        // What the dead instance acknowledged (and may have claimed) goes out through B.
        const bool taken_over = c.all_dialled(round_a, takeover_limit + 5s);
        const double took = seconds_since(kill_time);
        slowest_takeover_s = std::max(slowest_takeover_s, took);
        REQUIRE(taken_over);
        CHECK(took <= std::chrono::duration<double>(takeover_limit).count());
        acknowledged_by_killed += round_a.size();
        acknowledged.insert(acknowledged.end(), round_a.begin(), round_a.end());
        acknowledged.insert(acknowledged.end(), round_b.begin(), round_b.end());
    }
    {
        INFO("first unexpected reply: " << unexpected_sample);
        CHECK(unexpected == 0);
    }

    std::size_t fetchable = 0;
    for (const auto& sid : acknowledged)
        if (call_fetchable(b.port(), sid)) ++fetchable;
    CHECK(fetchable == acknowledged.size());
    CHECK(c.all_dialled(acknowledged, 30s));

    const auto dials = c.dials();
    check_one_token_per_call(dials);
    const std::size_t repeats = c.edge.requests().size() - dials.size();
    const std::set<std::string> wanted(acknowledged.begin(), acknowledged.end());
    CHECK(wanted.size() == acknowledged.size());
    std::size_t dialled_but_not_stored = 0;
    for (const auto& [sid, t] : dials)
        if (!wanted.count(sid) && !call_fetchable(b.port(), sid)) ++dialled_but_not_stored;
    CHECK(dialled_but_not_stored == 0);

    std::cout << "cluster: " << kills << " kills in " << seconds_since(started) << " s, "
              << acknowledged.size() << " calls acknowledged (" << acknowledged_by_killed
              << " by the killed instance), all fetchable: " << (fetchable == acknowledged.size())
              << ", " << repeats << " repeated dials, slowest takeover " << slowest_takeover_s
              << " s (limit " << std::chrono::duration<double>(takeover_limit).count() << " s)\n";
    CHECK(b.stop() == std::optional<int>(0));
}

TEST_CASE("the database stopped for 5 s under load on two gateways: 503s, no crash, the cluster "
          "resumes by itself and loses nothing acknowledged",
          "[fault][integration][cluster]")
{
    cluster c;
    auto a = c.start("a");
    auto b = c.start("b");
    const std::string request = forward_request();

    std::atomic<bool> stop{false};
    std::atomic<bool> db_back{false};
    std::mutex mutex;
    std::vector<std::string> acknowledged;
    std::map<int, int> statuses;     // reply status -> count
    std::set<std::uint16_t> resumed;  // instances that answered 201 after the restart
    int no_reply = 0;
    std::string sample;  // the first reply that is neither a 201 nor a 503 in Twilio's shape

    auto client = [&](int n) {
        for (int i = n; !stop; ++i) {
            const std::uint16_t port = i % 2 == 0 ? a.port() : b.port();
            const auto reply = http_exchange(port, request);
            const std::lock_guard lock(mutex);
            if (!reply) {
                ++no_reply;
                continue;
            }
            ++statuses[reply->status];
            if (reply->status == 201) {
                acknowledged.push_back(sid_of(reply->body));
                if (db_back) resumed.insert(port);
            } else if (sample.empty() &&
                       !(reply->status == 503 &&
                         reply->body.find("\"status\":503") != std::string::npos)) {
                sample = std::to_string(reply->status) + " " + reply->body;
            }
        }
    };
    std::vector<std::thread> clients;
    for (int n = 0; n < 4; ++n) clients.emplace_back(client, n);

    std::this_thread::sleep_for(1s);
    c.db.stop();
    const auto stopped_at = clock_type::now();
    std::this_thread::sleep_for(5s);
    c.db.start();
    db_back = true;
    const double down_s = seconds_since(stopped_at);
    const auto restarted_at = clock_type::now();
    const bool recovered = eventually(
        [&] {
            const std::lock_guard lock(mutex);
            return resumed.size() == 2;
        },
        20s);
    const double recovery_s = seconds_since(restarted_at);
    std::this_thread::sleep_for(500ms);
    stop = true;
    for (auto& t : clients) t.join();

    INFO("statuses: 201 x" << statuses[201] << ", 503 x" << statuses[503] << "; no reply x"
                           << no_reply << "; first other reply: " << sample);
    CHECK(recovered);
    CHECK(statuses[503] > 0);
    CHECK(sample.empty());
    CHECK(no_reply == 0);
    CHECK_FALSE(a.wait(0ms));  // both still running
    CHECK_FALSE(b.wait(0ms));

    std::size_t fetchable = 0;
    for (const auto& sid : acknowledged)
        if (call_fetchable(a.port(), sid) && call_fetchable(b.port(), sid)) ++fetchable;
    CHECK(fetchable == acknowledged.size());
    CHECK(c.all_dialled(acknowledged, 30s));
    std::cout << "cluster: database down " << down_s << " s under load: " << statuses[201]
              << " x 201, " << statuses[503] << " x 503, resumed on both instances "
              << recovery_s << " s after the restart, " << fetchable << " of "
              << acknowledged.size() << " acknowledged calls on both\n";
    CHECK(a.stop() == std::optional<int>(0));
    CHECK(b.stop() == std::optional<int>(0));
}
