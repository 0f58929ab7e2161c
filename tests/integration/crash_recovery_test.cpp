// kill -9 of the real `stirgate serve` under a Calls API forward load (issue #7, fault tests):
// a file-backed SQLite store, a recording edge, the gateway SIGKILLed at a random moment and
// restarted on the same data directory, twenty times. Every call acknowledged with a 201 must
// be fetchable afterwards and dialled at the edge (at least once, every attempt with one
// I-Twilio-Idempotency-Token), and the database must pass integrity_check after every kill.

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "core/calltoken.hpp"
#include "core/crypto.hpp"
#include "core/form.hpp"
#include "support/edge_receiver.hpp"
#include "support/fixtures.hpp"
#include "support/gateway_process.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/vectors.hpp"

namespace {

namespace core = stirgate::core;
using namespace std::chrono_literals;
using stirgate::test::gateway_process;
using clock_type = std::chrono::steady_clock;


std::string config_text(std::uint16_t edge_port)
{
    return stirgate::test::forwarding_config(edge_port, "sqlite://data/calls.db");
}

using stirgate::test::call_fetchable;
using stirgate::test::forward_request;
using stirgate::test::sid_of;

// PRAGMA integrity_check through the SQLite C API, read-only, as the killed gateway left it.
std::string integrity_check(const std::string& path)
{
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        const std::string err = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return "open failed: " + err;
    }
    sqlite3_busy_timeout(db, 5000);
    std::string result;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) != SQLITE_OK) {
        result = std::string("prepare failed: ") + sqlite3_errmsg(db);
    } else {
        int rc;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            if (!result.empty()) result += "; ";
            const auto* text = sqlite3_column_text(stmt, 0);
            result += text ? reinterpret_cast<const char*>(text) : "(null)";
        }
        if (rc != SQLITE_DONE) result += std::string(" step failed: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return result;
}

}  // namespace

TEST_CASE("kill -9 under a forward load loses no acknowledged call and no edge hand-off, and the "
          "database stays intact",
          "[fault][integration][calls]")
{
    stirgate::test::temp_dir dir;
    std::filesystem::create_directories(dir.path() / "data");
    const std::string db = (dir.path() / "data" / "calls.db").string();
    stirgate::test::edge_receiver edge;
    const std::string config = dir.write("stirgate.toml", config_text(edge.port()));
    const std::string request = forward_request();

    const unsigned seed = std::random_device{}();
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> kill_delay_ms(0, 400);

    constexpr int kills = 20;
    std::vector<std::string> acknowledged;  // every sid answered with 201, in order
    std::size_t checked_after_restart = 0;
    int unexpected = 0;  // a reply other than 201, or a failure while the gateway was alive
    std::string unexpected_sample;
    const auto started = clock_type::now();

    for (int round = 0; round < kills; ++round) {
        auto gw = gateway_process::start(
            config, (dir.path() / ("gateway-" + std::to_string(round) + ".log")).string());

        // What was acknowledged before this restart is there (the last round's calls each
        // time, all of them at the end).
        for (std::size_t i = checked_after_restart; i < acknowledged.size(); ++i) {
            INFO("call " << acknowledged[i] << " after restart " << round);
            REQUIRE(call_fetchable(gw.port(), acknowledged[i]));
        }
        checked_after_restart = acknowledged.size();

        std::atomic<bool> killed{false};
        std::atomic<int> created{0};
        std::mutex mutex;
        std::vector<std::string> round_sids;
        auto client = [&] {
            while (!killed) {
                std::optional<stirgate::test::http_reply> reply;
                try {
                    stirgate::test::http_connection c(gw.port(), 10s);
                    if (c.send(request)) reply = c.read_reply();
                } catch (const std::exception&) {
                    // connection refused: the gateway is gone (checked below)
                }
                const std::lock_guard lock(mutex);
                if (reply && reply->status == 201 && !sid_of(reply->body).empty()) {
                    round_sids.push_back(sid_of(reply->body));
                    ++created;
                } else if (reply || !killed) {
                    ++unexpected;
                    if (unexpected_sample.empty())
                        unexpected_sample = reply ? std::to_string(reply->status) + " " + reply->body
                                                  : "no reply before the kill";
                }
            }
        };
        std::thread a(client);
        std::thread b(client);

        // Under load: at least one call acknowledged in this round, then a random moment.
        const auto load_deadline = clock_type::now() + 30s;
        while (created == 0 && unexpected == 0 && clock_type::now() < load_deadline)
            std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(std::chrono::milliseconds(kill_delay_ms(rng)));
        killed = true;
        gw.send_signal(SIGKILL);
        const auto code = gw.wait(10s);
        a.join();
        b.join();
        REQUIRE(code == std::optional<int>(128 + SIGKILL));
        INFO("round " << round << "; first unexpected reply: " << unexpected_sample);
        REQUIRE(created > 0);
        acknowledged.insert(acknowledged.end(), round_sids.begin(), round_sids.end());

        INFO("after kill " << round + 1);
        REQUIRE(integrity_check(db) == "ok");
    }
    {
        INFO("first unexpected reply: " << unexpected_sample);
        CHECK(unexpected == 0);
    }

    // The last restart: every acknowledged call is there and every one reaches the edge.
    auto gw = gateway_process::start(config, (dir.path() / "gateway-final.log").string());
    std::size_t fetchable = 0;
    for (const auto& sid : acknowledged)
        if (call_fetchable(gw.port(), sid)) ++fetchable;
    CHECK(fetchable == acknowledged.size());

    const std::set<std::string> wanted(acknowledged.begin(), acknowledged.end());
    std::map<std::string, std::set<std::string>> tokens_by_call;  // CallSid -> idempotency tokens
    std::size_t dialled_wanted = 0;
    const auto edge_deadline = clock_type::now() + 30s;
    for (;;) {
        tokens_by_call = stirgate::test::idempotency_tokens_by_call(edge.requests());
        dialled_wanted = static_cast<std::size_t>(
            std::count_if(wanted.begin(), wanted.end(),
                          [&](const std::string& sid) { return tokens_by_call.count(sid) > 0; }));
        if (dialled_wanted == wanted.size() || clock_type::now() > edge_deadline) break;
        std::this_thread::sleep_for(50ms);
    }
    const std::size_t edge_requests = edge.requests().size();
    const double seconds =
        std::chrono::duration<double>(clock_type::now() - started).count();
    INFO(kills << " kills in " << seconds << " s; " << acknowledged.size()
               << " calls acknowledged, " << fetchable << " fetchable after the last restart, "
               << dialled_wanted << " of them dialled; " << edge_requests
               << " edge requests for " << tokens_by_call.size() << " calls");
    CHECK(wanted.size() == acknowledged.size());  // sids are unique
    CHECK(dialled_wanted == wanted.size());

    // A redelivery repeats its item's one token; different calls never share one; every call
    // dialled (also one whose 201 the kill swallowed) is a stored call.
    std::set<std::string> all_tokens;
    std::size_t dialled_but_not_stored = 0;
    for (const auto& [sid, tokens] : tokens_by_call) {
        INFO("call " << sid);
        CHECK(tokens.size() == 1);
        CHECK_FALSE(tokens.begin()->empty());
        all_tokens.insert(tokens.begin(), tokens.end());
        if (!wanted.count(sid) && !call_fetchable(gw.port(), sid)) ++dialled_but_not_stored;
    }
    CHECK(all_tokens.size() == tokens_by_call.size());
    CHECK(dialled_but_not_stored == 0);

    CHECK(gw.stop() == std::optional<int>(0));
    CHECK(integrity_check(db) == "ok");
}
