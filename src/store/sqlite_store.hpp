#pragma once
// SQLite implementation of the store (DESIGN.md "State and scale").
//
// One writer thread owns the only connection. Every operation, reads included, is a job queued
// to it: reads see exactly the committed order of writes and SQLite never sees two threads
// (simplest correct choice; reads are index lookups, far cheaper than the fsync they share).
// Group commit: the writer takes every queued job (up to max_batch), runs them in one
// transaction, each inside its own SAVEPOINT so a job that fails (duplicate sid, bad outbox item)
// undoes only itself, commits once, then runs the callbacks. A 201 therefore waits for one fsync
// shared by every call that arrived meanwhile, and no I/O thread ever touches the disk.
//
// Durability: WAL with synchronous=FULL, so a committed transaction survives power loss (a 201
// means durable); group commit is what keeps FULL affordable. The URL option
// ?synchronous=normal trades that for fewer fsyncs: commits survive a process crash (kill -9)
// but not a power loss or kernel crash (bench/RESULTS.md has both figures). Schema migrations are numbered in
// PRAGMA user_version and applied at open.
//
// Files by concern (internal headers, namespace store::sqlite): sqlite_connection (the handle,
// prepared statements, errc mapping, opening), sqlite_columns (binding, reading, JSON list
// columns), sqlite_schema (migrations), sqlite_calls and sqlite_outbox (the operations),
// sqlite_writer (the writer thread and group commit); this class only queues jobs.

#include <cstdint>
#include <memory>
#include <string_view>

#include "store/store.hpp"

namespace stirgate::store {

struct sqlite_options {
    int busy_timeout_ms = 5000;   // another process (the CLI) holding the write lock
    std::size_t max_batch = 512;  // jobs per transaction, bounding one batch's latency
    // Cap on the database size in pages (PRAGMA max_page_count), 0 = none. A disk quota;
    // tests use it to provoke SQLITE_FULL.
    std::int64_t max_page_count = 0;
    bool migrate = true;  // false: a database behind this code is refused (store.hpp)
};

class sqlite_store final : public store {
public:
    // Schema version this code writes; a database with a higher PRAGMA user_version is refused.
    static constexpr int schema_version = 7;

    // url: sqlite:///ABSOLUTE/PATH or sqlite://:memory:, optionally followed by
    // ?synchronous=full (default) or ?synchronous=normal. Opens (creating the file if needed),
    // sets WAL, synchronous and busy_timeout, migrates the schema, starts the writer.
    // Throws std::runtime_error with one line naming the URL and the problem (cannot open, not
    // a database, schema newer than this code).
    explicit sqlite_store(std::string_view url, sqlite_options options = {});
    // Runs every job already queued, then closes; later submissions get store_unavailable.
    ~sqlite_store() override;

    bool healthy() const noexcept override;
    store_stats stats() const override;

protected:
    void do_insert_call(call_record call, std::vector<outbox_item> items,
                        insert_limits limits,
                        callback<std::vector<std::int64_t>> done) override;
    void do_get_call(std::optional<std::string> account_sid, std::string call_sid,
                     callback<std::optional<call_record>> done) override;
    void do_update_call_status(std::string call_sid, call_update update,
                               std::vector<outbox_item> items, callback<call_record> done) override;
    void do_list_calls(std::string account_sid, call_filter filter, std::size_t page_size,
                       std::string page_token, callback<call_page> done) override;
    void do_delete_call(std::string account_sid, std::string call_sid,
                        callback<void> done) override;
    void do_open_conference(conference_record candidate,
                            callback<conference_record> done) override;
    void do_get_conference(std::optional<std::string> account_sid, std::string conference_sid,
                           callback<std::optional<conference_record>> done) override;
    void do_update_conference(std::string conference_sid, conference_update update,
                              callback<conference_record> done) override;
    void do_list_conferences(std::string account_sid, conference_filter filter,
                             std::size_t page_size, std::string page_token,
                             callback<conference_page> done) override;
    void do_enqueue(std::vector<outbox_item> items,
                    callback<std::vector<std::int64_t>> done) override;
    void do_due_items(std::int64_t now_ms, std::size_t limit,
                      callback<std::vector<outbox_item>> done) override;
    void do_claim_due(outbox_claim claim, callback<std::vector<outbox_item>> done) override;
    void do_mark_delivered(std::int64_t id, std::string worker, callback<void> done) override;
    void do_mark_failed(std::int64_t id, std::string worker, std::int64_t next_attempt_at_ms,
                        std::string last_error, callback<void> done) override;
    void do_mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                      std::string last_error, callback<void> done) override;
    void do_release_claims(std::string worker, callback<std::size_t> done) override;
    void do_summarise_outbox(std::int64_t now_ms, callback<outbox_summary> done) override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace stirgate::store
