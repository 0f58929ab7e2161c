#pragma once
// PostgreSQL implementation of the store, for several gateway instances sharing one database
// behind a load balancer (DESIGN.md "State and scale"; docs/design.md "PostgreSQL store").
//
// A small pool of connection threads, each owning one libpq connection and a bounded job queue.
// libpq's blocking calls run only on those threads, never on an I/O thread. Every job is one
// statement or one transaction (BEGIN ... COMMIT for writes), its callback called on the thread
// after it ends. Writes are routed by a key (the call sid, the account, the outbox item): the
// writes to one call run on one connection in submission order, as on SQLite's single writer,
// while different calls proceed in parallel. Reads take turns over all connections, so a read
// may overtake a write submitted before it that has not completed yet: await a write before
// reading what it wrote (every handler does).
//
// Outages: a lost connection is noticed by the failing statement or, while idle, by the socket
// turning readable; it is reconnected with backoff (100 ms doubling to 2 s). Jobs arriving while
// it is down, and jobs refused by a full queue, complete at once with errc::store_unavailable.
// healthy() is false from a lost connection until a reconnect or a statement succeeds.
//
// New outbox items NOTIFY channel stirgate_outbox (a trigger of the schema); watch_outbox()
// listens there, so every gateway's worker hears of items any gateway queued.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace stirgate::store {

struct postgres_options {
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{2000};
    std::chrono::milliseconds idle_check{500};  // how often an idle connection checks its socket
    bool migrate = true;   // false: a database behind this code is refused (store.hpp)
    std::string password;  // "" = libpq's own sources (the URI, PGPASSWORD, ~/.pgpass)
};

class postgres_store final : public store {
public:
    // url: a libpq connection URI (postgresql://user@host:port/db?...), plus stirgate's own
    // options ?pool_size=N (connections, default 4), ?queue_limit=N (waiting jobs per
    // connection, default 256) and ?statement_cache=N (statements kept prepared per
    // connection, default 256, 0 = none), which are not passed to libpq. The password may be in the URI
    // or come from PGPASSWORD / ~/.pgpass (libpq reads them). Connects, migrates the schema,
    // starts the pool. Throws std::runtime_error with one line naming the URL (password
    // redacted) and the problem: cannot connect, schema newer than this code, bad option.
    explicit postgres_store(std::string_view url, postgres_options options = {});
    // Runs every job already queued, then closes; later submissions get store_unavailable.
    ~postgres_store() override;

    // The schema version in the database after opening (this code's version).
    int schema_version() const noexcept;

    // LISTEN stirgate_outbox on a connection of its own, on a thread of its own (reconnected with
    // the pool's backoff; `wake` is called after every reconnect too, for what it missed).
    [[nodiscard]] std::shared_ptr<void> watch_outbox(std::function<void()> wake) override;

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
