// The store contract (store_behaviour.hpp) against PostgreSQL, on the real server the tests start
// (support/postgres_server.hpp; each store gets a fresh database), plus what only a database
// server has: schema versions, outages and reconnects, concurrent updates from two instances.

#include "store/postgres_store.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <latch>
#include <stdexcept>
#include <thread>

#include "store/postgres_connection.hpp"
#include "store/postgres_schema.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "unit/store/conference_behaviour.hpp"
#include "unit/store/outbox_behaviour.hpp"

namespace {

using namespace stirgate::store;
using stirgate::errc;
using stirgate::test::eventually;
using stirgate::test::make_call;
using stirgate::test::make_item;
using stirgate::test::make_sid;
using stirgate::test::shared_postgres;
using stirgate::test::status_update;
using clock_type = std::chrono::steady_clock;

std::unique_ptr<store> make_postgres_store()
{
    return std::make_unique<postgres_store>(shared_postgres().create_database());
}

std::string open_failure(const std::string& url, const postgres_options& options = {})
{
    try {
        postgres_store s(url, options);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "<opened>";
}

}  // namespace

TEST_CASE("postgres store: calls are stored, read, isolated by account and updated", "[store]")
{
    stirgate::test::store_calls_behaviour(make_postgres_store);
}

TEST_CASE("postgres store: conferences open by name, move forward, list; participants ride on calls",
          "[store][conference]")
{
    stirgate::test::store_conference_behaviour(make_postgres_store);
}

TEST_CASE("postgres store: lists are newest first, filtered and paged by keyset", "[store]")
{
    stirgate::test::store_list_behaviour(make_postgres_store);
}

TEST_CASE("postgres store: the outbox orders, retries, deletes and deduplicates", "[store]")
{
    stirgate::test::store_outbox_behaviour(make_postgres_store);
}

TEST_CASE("postgres store: outbox leases keep workers sharing the store apart", "[store]")
{
    stirgate::test::store_lease_behaviour(make_postgres_store);
}

TEST_CASE("postgres store: a call and its outbox items are stored atomically", "[store]")
{
    stirgate::test::store_atomic_behaviour(make_postgres_store);
}

TEST_CASE("postgres store: text arrays and URL options round-trip; passwords are redacted",
          "[store]")
{
    const std::vector<std::string> values{"", "plain", "a,b", "quote \" and \\ backslash",
                                          "{braces}", "NULL", " spaced ", "caf\xc3\xa9"};
    const auto decoded = pg::decode_text_array(pg::encode_text_array(values));
    REQUIRE(decoded);
    CHECK(*decoded == values);
    // PostgreSQL's own output form: bare elements where no quoting is needed.
    const auto bare = pg::decode_text_array(R"({a,"b c","d\"e",f})");
    REQUIRE(bare);
    CHECK(*bare == std::vector<std::string>{"a", "b c", "d\"e", "f"});
    CHECK(pg::decode_text_array("{}").value().empty());
    CHECK_FALSE(pg::decode_text_array("{\"open"));
    CHECK_FALSE(pg::decode_text_array("nope"));

    const auto opts = pg::parse_url("postgresql://u@h:5/db?sslmode=disable&pool_size=2&"
                                    "queue_limit=9&connect_timeout=3");
    CHECK(opts.libpq_uri == "postgresql://u@h:5/db?sslmode=disable&connect_timeout=3");
    CHECK(opts.pool_size == 2);
    CHECK(opts.queue_limit == 9);
    CHECK(pg::parse_url("postgresql://h/db").pool_size == 4);
    CHECK_THROWS_WITH(pg::parse_url("postgresql://h/db?pool_size=0"),
                      Catch::Contains("pool_size"));
    CHECK(pg::parse_url("postgresql://h/db").statement_cache == 256);
    CHECK(pg::parse_url("postgresql://h/db?statement_cache=0").statement_cache == 0);
    CHECK(pg::parse_url("postgresql://h/db?statement_cache=0").libpq_uri == "postgresql://h/db");
    CHECK_THROWS_WITH(pg::parse_url("postgresql://h/db?statement_cache=5000"),
                      Catch::Contains("statement_cache must be 0..4096"));
}

TEST_CASE("postgres store: statements with parameters are prepared once per session, up to the "
          "cache's limit; errors keep their meaning",
          "[store]")
{
    const std::string url = shared_postgres().create_database();
    { postgres_store migrated(url); }
    const auto prepared_count = [](pg::connection& c) {
        return c.exec("SELECT count(*) FROM pg_prepared_statements").value().integer(0, 0);
    };
    pg::connection c;
    c.set_statement_cache(2);
    REQUIRE(c.connect(url));
    for (int i = 0; i < 3; ++i) {
        REQUIRE(c.exec("SELECT $1::int + 1", pg::params().add(std::int64_t{i})));
        CHECK(c.exec("SELECT $1::text", pg::params().add("x")).value().text(0, 0) == "x");
    }
    CHECK(prepared_count(c) == 2);
    // Past the limit a statement still runs, unprepared.
    CHECK(c.exec("SELECT $1::int * 2", pg::params().add(std::int64_t{4})).value().integer(0, 0) ==
          8);
    CHECK(prepared_count(c) == 2);
    // A prepared insert still maps a duplicate to conflict and a bad value to invalid_parameter.
    const char* insert = "INSERT INTO stirgate_schema_version (version) VALUES ($1::int)";
    pg::connection d;
    d.set_statement_cache(8);
    REQUIRE(d.connect(url));
    REQUIRE(d.run(insert, pg::params().add(std::int64_t{900})));
    CHECK(d.run(insert, pg::params().add(std::int64_t{900})).err().code == errc::conflict);
    CHECK(d.run(insert, pg::params().add("nine")).err().code == errc::invalid_parameter);
    // A new session starts with none; a cache of 0 prepares nothing.
    REQUIRE(d.connect(url));
    CHECK(prepared_count(d) == 0);
    pg::connection none;
    REQUIRE(none.connect(url));
    REQUIRE(none.exec("SELECT $1::text", pg::params().add("y")));
    CHECK(prepared_count(none) == 0);
}

TEST_CASE("postgres store: the schema version is recorded and reopening keeps the rows",
          "[store]")
{
    auto& server = shared_postgres();
    const std::string url = server.create_database();
    {
        postgres_store s(url);
        CHECK(s.schema_version() == pg::schema_version);
        REQUIRE(s.insert_call_with_outbox(make_call(1), {make_item({}, 100)}));
    }
    postgres_store again(url);  // migrating an up-to-date database is a no-op
    CHECK(again.schema_version() == pg::schema_version);
    CHECK(again.find_call(make_sid("CA", 1)).value().has_value());
    CHECK(again.depth().value() == 1);
}

TEST_CASE("postgres store: a version 1 outbox upgrades in place; its items keep their tokens",
          "[store]")
{
    auto& server = shared_postgres();
    const std::string url = server.create_database();
    { postgres_store s(url); }
    // Back to what version 1 created, with an item queued by it (id 7, retried twice).
    const std::string name = url.substr(url.rfind('/') + 1);
    server.exec(name,
                "DROP TABLE conferences; ALTER TABLE calls DROP COLUMN conference_sid, "
                "DROP COLUMN participant; "
                "DROP TABLE outbox_dead; DROP TRIGGER outbox_queued ON outbox; "
                "DROP FUNCTION stirgate_outbox_notify(); "
                "ALTER TABLE outbox DROP COLUMN delivery_token, DROP COLUMN claimed_by, "
                "DROP COLUMN claimed_until; DELETE FROM stirgate_schema_version WHERE version > 1; "
                "INSERT INTO outbox (id, kind, call_sid, target_url, method, params, headers, "
                "attempts, next_attempt_at, last_error, idempotency_key, created_at) "
                "OVERRIDING SYSTEM VALUE VALUES (7, 'edge_dial', "
                "'CA00000000000000000000000000000002', 'http://edge.test/dial', 'POST', "
                "'{CallSid,CA00000000000000000000000000000002}', '{}', 2, 100, 'HTTP 503', '', 1)");
    postgres_store s(url);
    CHECK(s.schema_version() == pg::schema_version);
    auto due = s.due_items(100, 10);
    REQUIRE(due);
    REQUIRE(due->size() == 1);
    CHECK(due->front().id == 7);
    CHECK(due->front().attempts == 2);
    CHECK(due->front().delivery_token == "stirgate-outbox-7");
    auto claimed = s.claim_due(stirgate::test::claim_for("gw-a:8080", 100));
    REQUIRE(claimed);
    REQUIRE(claimed->size() == 1);
    CHECK(s.mark_delivered(7, "gw-a:8080"));
}

TEST_CASE("postgres store: items queued or released by another instance wake a watcher at once",
          "[store]")
{
    auto& server = shared_postgres();
    const std::string url = server.create_database();
    postgres_store watching(url);
    postgres_store other(url);
    std::atomic<int> wakes{0};
    auto handle = watching.watch_outbox([&wakes] { ++wakes; });
    REQUIRE(handle);
    // The listener's first wake follows its LISTEN: from then on nothing is missed.
    REQUIRE(eventually([&] { return wakes.load() >= 1; }, std::chrono::seconds(5)));

    int seen = wakes.load();
    REQUIRE(other.enqueue({make_item(make_sid("CA", 1), 100)}));
    CHECK(eventually([&] { return wakes.load() > seen; }, std::chrono::seconds(1)));

    seen = wakes.load();
    REQUIRE(other.claim_due(stirgate::test::claim_for("gw-b:8080", 100, 3'600'000)));
    REQUIRE(other.release_claims("gw-b:8080").value() == 1);
    CHECK(eventually([&] { return wakes.load() > seen; }, std::chrono::seconds(1)));

    // A claim or a failure wakes nobody (else idle workers would wake each other for ever).
    REQUIRE(other.claim_due(stirgate::test::claim_for("gw-b:8080", 100, 3'600'000)));
    REQUIRE(other.mark_failed(1, "gw-b:8080", 200, "HTTP 503"));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    seen = wakes.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    CHECK(wakes.load() == seen);

    // Once the handle is gone, nothing is called.
    handle.reset();
    seen = wakes.load();
    REQUIRE(other.enqueue({make_item(make_sid("CA", 1), 100)}));
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    CHECK(wakes.load() == seen);
}

TEST_CASE("postgres store: a database newer than the code, or no database, fails with one line",
          "[store]")
{
    auto& server = shared_postgres();
    const std::string url = server.create_database();
    { postgres_store s(url); }
    const std::string name = url.substr(url.rfind('/') + 1);
    server.exec(name, "INSERT INTO stirgate_schema_version (version) VALUES (99)");
    const std::string newer = open_failure(url);
    CHECK_THAT(newer, Catch::Contains("schema version 99 is newer"));
    CHECK(newer.find('\n') == std::string::npos);

    // Nothing listens on port 1; the password never shows.
    const std::string refused = open_failure("postgresql://stirgate:s3cret@127.0.0.1:1/x");
    CHECK_THAT(refused, Catch::Contains("cannot connect"));
    CHECK_THAT(refused, Catch::Contains("stirgate:***@127.0.0.1:1"));
    CHECK(refused.find("s3cret") == std::string::npos);
    CHECK_THAT(open_failure(server.url("no_such_database")), Catch::Contains("no_such_database"));
    CHECK_THAT(open_failure(server.url("x") + "?pool_size=many"), Catch::Contains("pool_size"));
}

TEST_CASE("postgres store: concurrent conditional updates from two instances lose no update",
          "[store]")
{
    const std::string url = shared_postgres().create_database();
    postgres_store a(url);
    postgres_store b(url);
    constexpr unsigned calls = 20;
    for (unsigned n = 1; n <= calls; ++n) REQUIRE(a.insert_call(make_call(n)));

    // Round 1: both instances try queued -> ringing on every call: exactly one wins each.
    // Round 2: one reports in-progress, the other completed (each only from earlier states):
    // whichever order the database applies them in, every call ends completed.
    std::atomic<int> ringing_wins{0};
    std::atomic<int> unexpected{0};
    std::latch go(2);
    const auto report = [&](postgres_store& s, bool first) {
        go.arrive_and_wait();
        for (unsigned n = 1; n <= calls; ++n) {
            const std::string sid = make_sid("CA", n);
            auto r = s.update_call_status(sid, status_update(call_status::ringing, 10,
                                                              {call_status::queued}));
            if (r)
                ++ringing_wins;
            else if (r.code() != errc::conflict)
                ++unexpected;
        }
        for (unsigned n = 1; n <= calls; ++n) {
            const std::string sid = make_sid("CA", n);
            auto r = first ? s.update_call_status(
                                 sid, status_update(call_status::in_progress, 20,
                                                    {call_status::queued, call_status::ringing}))
                           : s.update_call_status(
                                 sid, status_update(call_status::completed, 30,
                                                    {call_status::queued, call_status::ringing,
                                                     call_status::in_progress}));
            if (!r && r.code() != errc::conflict) ++unexpected;
        }
    };
    std::thread ta(report, std::ref(a), true);
    std::thread tb(report, std::ref(b), false);
    ta.join();
    tb.join();
    CHECK(unexpected == 0);
    CHECK(ringing_wins == static_cast<int>(calls));
    for (unsigned n = 1; n <= calls; ++n) {
        auto stored = b.find_call(make_sid("CA", n));
        REQUIRE(stored);
        CHECK((*stored)->status == call_status::completed);
        CHECK((*stored)->date_updated == 30);
    }
}

TEST_CASE("postgres store: a server restart is an outage the store reports and recovers from",
          "[store]")
{
    auto& server = shared_postgres();
    postgres_store s(server.create_database() + "?pool_size=2");
    REQUIRE(s.insert_call(make_call(1)));
    CHECK(s.healthy());
    CHECK(eventually([&] { return s.stats().connections_up == 2; }, std::chrono::seconds(5)));
    CHECK(s.stats().connections == 2);
    CHECK(s.stats().database_errors == 0);

    server.stop();
    // Idle connections notice the server went away: unhealthy without any request.
    CHECK(eventually([&] { return !s.healthy(); }, std::chrono::seconds(5)));
    // Requests during the outage fail at once with store_unavailable, never hang.
    const auto started = clock_type::now();
    for (unsigned n = 2; n < 6; ++n) CHECK(s.insert_call(make_call(n)).code() == errc::store_unavailable);
    CHECK(s.find_call(make_sid("CA", 1)).code() == errc::store_unavailable);
    CHECK(clock_type::now() - started < std::chrono::seconds(2));
    CHECK_FALSE(s.healthy());
    // /metrics: the outage shows as database errors and no connection up.
    CHECK(s.stats().database_errors >= 5);
    CHECK(s.stats().connections_up == 0);

    server.start();
    // Reconnected by itself (backoff at most 2 s), then every operation works again.
    CHECK(eventually([&] { return s.healthy(); }, std::chrono::seconds(10)));
    CHECK(eventually([&] { return static_cast<bool>(s.insert_call(make_call(7))); },
                     std::chrono::seconds(5)));
    for (unsigned n = 8; n < 12; ++n) CHECK(s.insert_call(make_call(n)));
    CHECK(s.stats().connections_up >= 1);
    auto first = s.find_call(make_sid("CA", 1));  // written before the outage
    REQUIRE(first);
    CHECK(first->has_value());
    CHECK(s.healthy());
}

TEST_CASE("postgres store: a full queue refuses at once with store_unavailable", "[store]")
{
    postgres_store s(shared_postgres().create_database() + "?pool_size=1&queue_limit=1");
    // The first job's callback holds the only connection thread, so the next job waits in the
    // queue (its one place) and the one after is refused at once, on the caller's thread.
    std::promise<void> release;
    std::promise<void> holding;
    std::promise<stirgate::result<void>> queued;
    s.insert_call(make_call(1), [&](stirgate::result<void>) {
        holding.set_value();
        release.get_future().wait();
    });
    holding.get_future().wait();
    s.insert_call(make_call(2), [&](stirgate::result<void> r) { queued.set_value(std::move(r)); });
    stirgate::result<void> refused;
    s.insert_call(make_call(3), [&](stirgate::result<void> r) { refused = std::move(r); });
    CHECK(refused.code() == errc::store_unavailable);
    CHECK_THAT(refused.err().detail, Catch::Contains("queue is full"));
    CHECK(s.stats().jobs_refused == 1);
    CHECK(s.stats().jobs_waiting == 1);  // job 2, behind the held connection
    release.set_value();
    CHECK(queued.get_future().get());
    CHECK(s.find_call(make_call(2).sid).value().has_value());
    CHECK_FALSE(s.find_call(make_sid("CA", 3)).value().has_value());
    CHECK(s.healthy());  // a full queue is load, not an outage
    const auto stats = s.stats();
    CHECK(stats.database_errors == 0);
    CHECK(stats.jobs_waiting == 0);
    CHECK(stats.queue_wait_seconds > 0);  // job 2 waited for job 1's callback
}

TEST_CASE("postgres store: with migrate off a database behind the code is refused, not changed",
          "[store]")
{
    auto& server = shared_postgres();
    const std::string url = server.create_database();
    postgres_options no_migrate;
    no_migrate.migrate = false;
    const std::string fresh = open_failure(url, no_migrate);
    CHECK_THAT(fresh, Catch::Contains("schema version 0 is older"));
    CHECK_THAT(fresh, Catch::Contains("stirgate migrate"));
    CHECK(fresh.find('\n') == std::string::npos);
    // Nothing was created: the first real open still starts from version 0.
    const std::string name = url.substr(url.rfind('/') + 1);
    CHECK_THROWS(server.exec(name, "SELECT 1 FROM stirgate_schema_version"));

    { postgres_store migrated(url); }
    postgres_store current(url, no_migrate);
    CHECK(current.schema_version() == pg::schema_version);
    CHECK(current.insert_call(make_call(1)));

    server.exec(name, "DELETE FROM stirgate_schema_version WHERE version >= 2");
    CHECK_THAT(open_failure(url, no_migrate), Catch::Contains("schema version 1 is older"));
}

TEST_CASE("postgres store: the password option authenticates; without it the server refuses",
          "[store]")
{
    auto& server = shared_postgres();
    const std::string url = server.create_database();
    const std::string name = url.substr(url.rfind('/') + 1);
    const std::string role_url = server.add_password_user(name, "stirgate_pw", "pw-8c1f3e");

    const std::string missing = open_failure(role_url);
    CHECK_THAT(missing, Catch::Contains("cannot connect"));
    postgres_options wrong;
    wrong.password = "not-it";
    const std::string refused = open_failure(role_url, wrong);
    CHECK_THAT(refused, Catch::Contains("password authentication failed"));
    CHECK(refused.find("not-it") == std::string::npos);

    postgres_options right;
    right.password = "pw-8c1f3e";
    postgres_store s(role_url, right);
    REQUIRE(s.insert_call(make_call(2)));
    auto found = s.find_call(make_call(2).sid);
    REQUIRE(found);
    CHECK(found->has_value());
    CHECK(s.healthy());
}
