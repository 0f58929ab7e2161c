// The store contract (store_behaviour.hpp) against SQLite, plus what only a database has:
// durability across reopen, schema versions, WAL, group commit, failure handling.

#include "store/sqlite_store.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <stdexcept>
#include <thread>

#include <sqlite3.h>
#include <unistd.h>

#include "unit/store/conference_behaviour.hpp"
#include "unit/store/outbox_behaviour.hpp"

namespace {

namespace fs = std::filesystem;
using namespace stirgate::store;
using stirgate::errc;
using stirgate::result;
using stirgate::test::account_a;
using stirgate::test::account_b;
using stirgate::test::make_call;
using stirgate::test::make_item;
using stirgate::test::make_sid;
using stirgate::test::status_update;

// A fresh folder per test, removed afterwards.
struct temp_dir {
    fs::path path;
    temp_dir()
    {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() / ("stirgate-store-test-" + std::to_string(::getpid()) +
                                            "-" + std::to_string(counter++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::string url(const char* name = "stirgate.db") const
    {
        return "sqlite://" + (path / name).string();
    }
    std::string file(const char* name = "stirgate.db") const { return (path / name).string(); }
};

// A second, independent connection for checks the store does not expose.
struct raw_db {
    sqlite3* db = nullptr;
    explicit raw_db(const std::string& file, bool create = false)
    {
        const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
        if (sqlite3_open_v2(file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
            sqlite3_close_v2(db);
            throw std::runtime_error("cannot open " + file);
        }
    }
    ~raw_db() { sqlite3_close_v2(db); }
    std::string text(const char* sql) const
    {
        sqlite3_stmt* s = nullptr;
        std::string out = "<error>";
        if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK &&
            sqlite3_step(s) == SQLITE_ROW)
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
        return out;
    }
    void exec(const char* sql) const
    {
        if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
            throw std::runtime_error(sqlite3_errmsg(db));
    }
};

std::unique_ptr<store> make_memory_sqlite()
{
    return std::make_unique<sqlite_store>("sqlite://:memory:");
}

// What open failures say: one line naming the URL.
std::string open_error(const std::string& url, const sqlite_options& options = {})
{
    try {
        sqlite_store s(url, options);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "<opened>";
}

}  // namespace

TEST_CASE("sqlite store: calls are stored, read, isolated by account and updated", "[store]")
{
    stirgate::test::store_calls_behaviour(make_memory_sqlite);
}

TEST_CASE("sqlite store: conferences open by name, move forward, list; participants ride on calls",
          "[store][conference]")
{
    stirgate::test::store_conference_behaviour(make_memory_sqlite);
}

TEST_CASE("sqlite store: lists are newest first, filtered and paged by keyset", "[store]")
{
    stirgate::test::store_list_behaviour(make_memory_sqlite);
}

TEST_CASE("sqlite store: the outbox orders, retries, deletes and deduplicates", "[store]")
{
    stirgate::test::store_outbox_behaviour(make_memory_sqlite);
}

TEST_CASE("sqlite store: outbox leases keep workers sharing the store apart", "[store]")
{
    stirgate::test::store_lease_behaviour(make_memory_sqlite);
}

TEST_CASE("sqlite store: a call and its outbox items are stored atomically", "[store]")
{
    stirgate::test::store_atomic_behaviour(make_memory_sqlite);
}

TEST_CASE("sqlite store: the contract holds on a database file too", "[store]")
{
    temp_dir dir;
    int runs = 0;  // one database file per SECTION run
    stirgate::test::store_atomic_behaviour([&] {
        const std::string name = "run" + std::to_string(++runs) + ".db";
        return std::make_unique<sqlite_store>(dir.url(name.c_str()));
    });
}

TEST_CASE("sqlite store: calls and outbox items survive closing and reopening", "[store]")
{
    temp_dir dir;
    call_record call = make_call(1);
    call.identity_headers = {"eyJ.a.b;info=<https://x/a.pem>;ppt=shaken"};
    call.attestation = stirgate::core::attestation::A;
    std::int64_t id = 0;
    {
        sqlite_store s(dir.url());
        auto ids = s.insert_call_with_outbox(call, {make_item({}, 100)});
        REQUIRE(ids);
        id = ids->front();
    }
    sqlite_store again(dir.url());
    auto got = again.get_call(call.account_sid, call.sid);
    REQUIRE(got);
    REQUIRE(got->has_value());
    CHECK(**got == call);
    auto due = again.due_items(100, 10);
    REQUIRE(due);
    REQUIRE(due->size() == 1);
    CHECK(due->front().id == id);
}

TEST_CASE("sqlite store: claims a killed gateway left are released when the file is opened",
          "[store]")
{
    // One gateway owns a SQLite file, so whatever is claimed in it at open belongs to a process
    // that is gone; its items must not wait for their lease to run out.
    temp_dir dir;
    std::int64_t id = 0;
    {
        sqlite_store s(dir.url());
        auto ids = s.enqueue({make_item(make_sid("CA", 1), 100)});
        REQUIRE(ids);
        id = ids->front();
        REQUIRE(s.claim_due(stirgate::test::claim_for("dead", 100, 3'600'000)).value().size() ==
                1);
    }
    sqlite_store again(dir.url());
    auto claimed = again.claim_due(stirgate::test::claim_for("alive", 101));
    REQUIRE(claimed);
    REQUIRE(claimed->size() == 1);
    CHECK(claimed->front().id == id);
    CHECK(again.mark_delivered(id, "alive"));
}

TEST_CASE("sqlite store: the schema version is recorded, WAL is on, integrity holds", "[store]")
{
    temp_dir dir;
    {
        sqlite_store s(dir.url());
        REQUIRE(s.insert_call(make_call(1)));
    }
    raw_db db(dir.file());
    CHECK(db.text("PRAGMA user_version") == std::to_string(sqlite_store::schema_version));
    CHECK(db.text("PRAGMA journal_mode") == "wal");
    CHECK(db.text("PRAGMA integrity_check") == "ok");
    // Reopening an up-to-date database migrates nothing and keeps the data.
    sqlite_store again(dir.url());
    CHECK(again.find_call(make_sid("CA", 1)).value().has_value());
}

// What schema version 1 (the first release) created, kept here verbatim: the upgrade below must
// work on such a file whatever later migrations do.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE calls (
    sid TEXT NOT NULL PRIMARY KEY CHECK (length(sid) = 34 AND substr(sid, 1, 2) = 'CA'),
    account_sid TEXT NOT NULL
        CHECK (length(account_sid) = 34 AND substr(account_sid, 1, 2) = 'AC'),
    parent_call_sid TEXT,
    direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound-api', 'outbound-dial')),
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'ringing', 'in-progress', 'completed',
                                           'busy', 'failed', 'no-answer', 'canceled')),
    date_created INTEGER NOT NULL,
    date_updated INTEGER NOT NULL,
    start_time INTEGER,
    end_time INTEGER,
    duration INTEGER CHECK (duration IS NULL OR duration >= 0),
    url TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    fallback_url TEXT NOT NULL,
    fallback_method TEXT NOT NULL CHECK (fallback_method IN ('GET', 'POST')),
    status_callback TEXT NOT NULL,
    status_callback_method TEXT NOT NULL CHECK (status_callback_method IN ('GET', 'POST')),
    status_callback_events TEXT NOT NULL,
    identity_headers TEXT NOT NULL,
    attestation TEXT CHECK (attestation IS NULL OR attestation IN ('A', 'B', 'C')),
    stir_verstat TEXT,
    calltoken_claims TEXT,
    forwarded_from TEXT
);
CREATE INDEX calls_list ON calls (account_sid, date_created DESC, sid DESC);
CREATE INDEX calls_by_to ON calls (account_sid, to_number, date_created DESC, sid DESC);
CREATE INDEX calls_by_from ON calls (account_sid, from_number, date_created DESC, sid DESC);
CREATE INDEX calls_by_status ON calls (account_sid, status, date_created DESC, sid DESC);
CREATE INDEX calls_by_parent ON calls (account_sid, parent_call_sid, date_created DESC, sid DESC)
    WHERE parent_call_sid IS NOT NULL;
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('edge_dial', 'status_callback')),
    call_sid TEXT NOT NULL CHECK (call_sid <> ''),
    target_url TEXT NOT NULL CHECK (target_url <> ''),
    method TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    params TEXT NOT NULL,
    headers TEXT NOT NULL,
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id);
CREATE UNIQUE INDEX outbox_idempotency ON outbox (idempotency_key) WHERE idempotency_key <> '';
PRAGMA user_version = 1;
)sql";

TEST_CASE("sqlite store: a version 1 database upgrades in place and keeps its rows", "[store]")
{
    temp_dir dir;
    const std::string parent = make_sid("CA", 0xfff);
    {
        raw_db db(dir.file(), true);
        db.exec("PRAGMA journal_mode = WAL");
        db.exec(schema_v1);
        // Rows as version 1 wrote them: three calls of account a (one forwarded from `parent`,
        // one completed, at three times) and one of account b; an outbox item with a key.
        db.exec(R"sql(
INSERT INTO calls VALUES
 ('CA00000000000000000000000000000001', 'AC0000000000000000000000000000000a', NULL, 'outbound-api',
  '+13105550100', '+16505550102', 'queued', 1767225600, 1767225600, NULL, NULL, NULL,
  'https://app.example.test/twiml', 'POST', '', 'POST', '', 'POST', '[]', '["eyJ.a.b;ppt=shaken"]',
  'A', NULL, NULL, NULL),
 ('CA00000000000000000000000000000002', 'AC0000000000000000000000000000000a',
  'CA00000000000000000000000000000fff', 'outbound-api', '+13105550100', '+16505550199',
  'completed', 1767225601, 1767225660, 1767225605, 1767225660, 55,
  'https://app.example.test/twiml', 'POST', '', 'POST', 'https://app.example.test/status', 'GET',
  '["completed"]', '["eyJ.c.d;ppt=shaken","eyJ.e.f;ppt=div"]', 'A', NULL, NULL, NULL),
 ('CA00000000000000000000000000000003', 'AC0000000000000000000000000000000a', NULL, 'inbound',
  '+13105550111', '+16505550102', 'ringing', 1767225602, 1767225602, NULL, NULL, NULL,
  '', 'POST', '', 'POST', '', 'POST', '[]', '[]', NULL, 'TN-Validation-Passed-A', '%7B%7D', NULL),
 ('CA00000000000000000000000000000004', 'AC0000000000000000000000000000000b', NULL, 'outbound-api',
  '+13105550100', '+16505550102', 'queued', 1767225603, 1767225603, NULL, NULL, NULL,
  'https://app.example.test/twiml', 'POST', '', 'POST', '', 'POST', '[]', '[]', NULL, NULL, NULL,
  NULL);
INSERT INTO outbox VALUES (7, 'status_callback', 'CA00000000000000000000000000000002',
  'https://app.example.test/status', 'GET', '[["CallStatus","completed"]]', '[]', 2,
  1767225700000, 'HTTP 503', 'CA00000000000000000000000000000002:completed', 1767225660000);
-- Item 9 was delivered (deleted): its id must never come back, through every upgrade.
INSERT INTO outbox VALUES (9, 'edge_dial', 'CA00000000000000000000000000000001',
  'http://127.0.0.1:5070/dial', 'POST', '[]', '[]', 0, 1767225600000, '', '', 1767225600000);
DELETE FROM outbox WHERE id = 9;
)sql");
    }

    sqlite_store s(dir.url());
    {
        raw_db db(dir.file());
        CHECK(db.text("PRAGMA user_version") == std::to_string(sqlite_store::schema_version));
        CHECK(db.text("SELECT count(*) FROM pragma_table_info('calls') WHERE name = 'calltoken'") ==
              "1");
        CHECK(db.text("PRAGMA integrity_check") == "ok");
        CHECK(db.text("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'") == "9");
        CHECK(db.text("SELECT count(*) FROM sqlite_sequence") == "1");
        CHECK(db.text("SELECT count(*) FROM sqlite_master WHERE name = 'calls_by_status'") == "0");
        CHECK(db.text("SELECT sql FROM sqlite_master WHERE name = 'calls_list'") ==
              "CREATE INDEX calls_list ON calls (account_sid, date_created, sid)");
    }
    auto first = s.get_call(account_a, make_sid("CA", 2));
    REQUIRE(first);
    REQUIRE(first->has_value());
    const call_record& c = **first;
    CHECK(c.parent_call_sid == parent);
    CHECK(c.status == call_status::completed);
    CHECK(c.duration == 55);
    CHECK(c.status_callback_method == "GET");
    CHECK(c.status_callback_events == std::vector<std::string>{"completed"});
    CHECK(c.identity_headers == std::vector<std::string>{"eyJ.c.d;ppt=shaken", "eyJ.e.f;ppt=div"});
    auto inbound = s.find_call(make_sid("CA", 3));
    REQUIRE(inbound);
    REQUIRE(inbound->has_value());
    CHECK((*inbound)->calltoken == "%7B%7D");
    CHECK((*inbound)->stir_verstat == "TN-Validation-Passed-A");

    // Every list shape reads the upgraded indexes: newest first, filtered, paged by keyset.
    auto sids = [](const call_page& p) {
        std::vector<std::string> out;
        for (const auto& call : p.calls) out.push_back(call.sid);
        return out;
    };
    auto all = s.list_calls(account_a, {}, 2, "");
    REQUIRE(all);
    CHECK(sids(*all) == std::vector<std::string>{make_sid("CA", 3), make_sid("CA", 2)});
    REQUIRE(all->next_page_token);
    auto rest = s.list_calls(account_a, {}, 2, *all->next_page_token);
    REQUIRE(rest);
    CHECK(sids(*rest) == std::vector<std::string>{make_sid("CA", 1)});
    CHECK_FALSE(rest->next_page_token);
    call_filter by_to;
    by_to.to = "+16505550102";
    CHECK(sids(s.list_calls(account_a, by_to, 10, "").value()) ==
          std::vector<std::string>{make_sid("CA", 3), make_sid("CA", 1)});
    call_filter by_from;
    by_from.from = "+13105550111";
    CHECK(sids(s.list_calls(account_a, by_from, 10, "").value()) ==
          std::vector<std::string>{make_sid("CA", 3)});
    call_filter by_status;
    by_status.status = call_status::queued;
    CHECK(sids(s.list_calls(account_a, by_status, 10, "").value()) ==
          std::vector<std::string>{make_sid("CA", 1)});
    call_filter by_parent;
    by_parent.parent_call_sid = parent;
    CHECK(sids(s.list_calls(account_a, by_parent, 10, "").value()) ==
          std::vector<std::string>{make_sid("CA", 2)});
    // The parent index has no account column: another account's list must still not see it.
    CHECK(s.list_calls(account_b, by_parent, 10, "").value().calls.empty());

    // The outbox item is still due, unclaimed, with the token it was already sent with, and its
    // key still deduplicates.
    auto due = s.due_items(1767225700000, 10);
    REQUIRE(due);
    REQUIRE(due->size() == 1);
    CHECK(due->front().id == 7);
    CHECK(due->front().attempts == 2);
    CHECK(due->front().delivery_token == "stirgate-outbox-7");
    CHECK(due->front().claimed_by.empty());
    auto again = make_item(make_sid("CA", 2), 0, "CA00000000000000000000000000000002:completed");
    CHECK(s.enqueue({again}).value() == std::vector<std::int64_t>{7});
    // And the upgraded file takes new calls, and edge_control items (version 6) with ids past
    // every id handed out before.
    REQUIRE(s.insert_call(make_call(5, account_a, 1767225700)));
    CHECK(s.list_calls(account_a, {}, 1, "").value().calls.front().sid == make_sid("CA", 5));
    auto control = make_item(make_sid("CA", 5), 0);
    control.kind = outbox_kind::edge_control;
    const auto control_ids = s.enqueue({control});
    REQUIRE(control_ids);
    CHECK(control_ids->front() > 9);
    CHECK(raw_db(dir.file()).text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("sqlite store: ?synchronous=normal is accepted, other options are refused", "[store]")
{
    temp_dir dir;
    {
        sqlite_store s(dir.url() + "?synchronous=normal");
        REQUIRE(s.insert_call(make_call(1)));
    }
    // The option only changes when SQLite syncs: the file and its data are the same.
    sqlite_store again(dir.url() + "?synchronous=full");
    CHECK(again.find_call(make_sid("CA", 1)).value().has_value());
    CHECK(raw_db(dir.file()).text("PRAGMA integrity_check") == "ok");
    const std::string message = open_error(dir.url() + "?synchronous=off");
    CHECK_THAT(message, Catch::Contains("unknown option \"synchronous=off\""));
    CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("sqlite store: a database newer than the code is refused with one clear line", "[store]")
{
    temp_dir dir;
    {
        sqlite_store s(dir.url());
    }
    raw_db(dir.file()).exec("PRAGMA user_version = 99");
    const std::string message = open_error(dir.url());
    CHECK_THAT(message, Catch::Contains(dir.url()));
    CHECK_THAT(message, Catch::Contains("schema version 99 is newer"));
    CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("sqlite store: with migrate off a database behind the code is refused", "[store]")
{
    temp_dir dir;
    sqlite_options no_migrate;
    no_migrate.migrate = false;
    const std::string fresh = open_error(dir.url(), no_migrate);
    CHECK_THAT(fresh, Catch::Contains("schema version 0 is older"));
    CHECK_THAT(fresh, Catch::Contains("stirgate migrate"));
    CHECK(fresh.find('\n') == std::string::npos);
    CHECK(raw_db(dir.file()).text("PRAGMA user_version") == "0");

    { sqlite_store migrated(dir.url()); }
    {
        sqlite_store current(dir.url(), no_migrate);
        CHECK(current.insert_call(make_call(1)));
    }
    raw_db(dir.file()).exec("PRAGMA user_version = 3");
    CHECK_THAT(open_error(dir.url(), no_migrate), Catch::Contains("schema version 3 is older"));
    CHECK(raw_db(dir.file()).text("PRAGMA user_version") == "3");
}

TEST_CASE("sqlite store: a file that is not a database fails to open with one clear line",
          "[store]")
{
    temp_dir dir;
    std::ofstream(dir.file("junk.db")) << std::string(8192, 'x');
    const std::string message = open_error(dir.url("junk.db"));
    CHECK_THAT(message, Catch::Contains(dir.url("junk.db")));
    CHECK_THAT(message, Catch::Contains("not a database"));
    CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("sqlite store: unusable storage URLs fail to open with one clear line", "[store]")
{
    temp_dir dir;
    const std::string missing_folder = "sqlite://" + (dir.path / "no/such/folder/x.db").string();
    const std::string message = open_error(missing_folder);
    CHECK_THAT(message, Catch::Contains("cannot open database"));
    CHECK(message.find('\n') == std::string::npos);
    CHECK_THAT(open_error("sqlite://relative.db"), Catch::Contains("absolute path"));
    CHECK_THAT(open_error("postgresql://db/x"), Catch::Contains("expected sqlite://"));
    // postgresql:// goes to the PostgreSQL store (postgres_store_test.cpp); other schemes fail.
    CHECK_THROWS_WITH(open_store("mysql://db/x"), Catch::Contains("postgresql://"));
    CHECK(open_store("sqlite://:memory:")->healthy());
}

TEST_CASE("sqlite store: 1000 concurrent inserts from 8 threads share few transactions", "[store]")
{
    temp_dir dir;
    sqlite_store s(dir.url());
    constexpr unsigned threads = 8;
    constexpr unsigned per_thread = 125;

    // Hold the writer in a callback until every insert is queued, so batching does not depend
    // on scheduling: the writer then finds all 1000 jobs waiting.
    std::latch all_queued(threads);
    s.summarise_outbox(0, [&](result<outbox_summary>) { all_queued.wait(); });
    const auto before = s.stats().transactions_committed;

    std::atomic<unsigned> succeeded{0};
    std::atomic<unsigned> failed{0};
    std::latch all_done(threads * per_thread);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (unsigned i = 0; i < per_thread; ++i) {
                s.insert_call(make_call(t * 1000 + i + 1, stirgate::test::account_a, 1000 + i),
                              [&](result<void> r) {
                                  (r ? succeeded : failed) += 1;
                                  all_done.count_down();
                              });
            }
            all_queued.count_down();
        });
    }
    for (auto& w : workers) w.join();
    all_done.wait();

    CHECK(succeeded == threads * per_thread);
    CHECK(failed == 0);
    const auto transactions = s.stats().transactions_committed - before;
    INFO("transactions for 1000 inserts: " << transactions);
    CHECK(transactions <= 4);  // 1000 jobs in batches of at most 512

    std::size_t listed = 0;
    std::string token;
    do {
        auto page = s.list_calls(stirgate::test::account_a, {}, max_page_size, token);
        REQUIRE(page);
        listed += page->calls.size();
        token = page->next_page_token.value_or("");
    } while (!token.empty());
    CHECK(listed == threads * per_thread);
    CHECK(raw_db(dir.file()).text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("sqlite store: a failing job in a batch undoes only itself", "[store]")
{
    sqlite_store s("sqlite://:memory:");
    std::latch queued(1);
    std::latch holding(1);  // the writer is inside the callback: its own batch has committed
    s.summarise_outbox(0, [&](result<outbox_summary>) {
        holding.count_down();
        queued.wait();
    });
    holding.wait();
    const auto before = s.stats().transactions_committed;

    result<void> first, duplicate, third;
    std::latch done(3);
    s.insert_call(make_call(1), [&](result<void> r) {
        first = std::move(r);
        done.count_down();
    });
    s.insert_call(make_call(1), [&](result<void> r) {
        duplicate = std::move(r);
        done.count_down();
    });
    s.insert_call(make_call(2), [&](result<void> r) {
        third = std::move(r);
        done.count_down();
    });
    queued.count_down();
    done.wait();

    CHECK(first);
    CHECK(duplicate.code() == errc::conflict);
    CHECK(third);
    CHECK(s.stats().transactions_committed - before == 1);
    CHECK(s.find_call(make_sid("CA", 1)).value().has_value());
    CHECK(s.find_call(make_call(2).sid).value().has_value());
}

TEST_CASE(
    "sqlite store: a full disk yields store_unavailable and an unhealthy store until a "
    "write commits",
    "[store]")
{
    temp_dir dir;
    // The smallest cap SQLite accepts is the current size: every new page then fails.
    sqlite_options options;
    options.max_page_count = 1;
    sqlite_store s(dir.url(), options);
    CHECK(s.healthy());

    call_record big = make_call(1);
    big.identity_headers.assign(64, std::string(4096, 'x'));  // needs overflow pages
    CHECK(s.insert_call(big).code() == errc::store_unavailable);
    CHECK_FALSE(s.healthy());
    auto missing = s.find_call(big.sid);
    REQUIRE(missing);
    CHECK_FALSE(missing->has_value());
    CHECK_FALSE(s.healthy());  // a read proves nothing about writes

    // A small call fits in the pages the empty tables already have.
    CHECK(s.insert_call(make_call(2)));
    CHECK(s.healthy());
    CHECK(raw_db(dir.file()).text("PRAGMA integrity_check") == "ok");
}

TEST_CASE("sqlite store: closing runs every queued job first", "[store]")
{
    temp_dir dir;
    std::atomic<int> ok_count{0};
    {
        sqlite_store s(dir.url());
        for (unsigned i = 1; i <= 50; ++i)
            s.insert_call(make_call(i), [&](result<void> r) { ok_count += r ? 1 : 0; });
    }
    CHECK(ok_count == 50);
    sqlite_store again(dir.url());
    auto page = again.list_calls(stirgate::test::account_a, {}, 100, {});
    REQUIRE(page);
    CHECK(page->calls.size() == 50);
}
