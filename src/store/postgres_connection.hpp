#pragma once
// One libpq connection and what every PostgreSQL operation needs around it: parameterised
// statements (PQexecParams or prepared, never SQL text built from input), results owned by RAII,
// SQLSTATE mapped to errc once, and the storage URL's own options split from libpq's.
// Used only by the store's connection threads (postgres_store.cpp); blocking on purpose.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"

struct pg_conn;
struct pg_result;

namespace stirgate::store::pg {

// The storage URL split: what libpq reads (the URI without stirgate's own query options) and
// those options. Throws std::runtime_error naming the option (never the password) when one is
// malformed.
struct url_options {
    std::string libpq_uri;
    std::size_t pool_size = 4;      // ?pool_size=N: connection threads (1..64)
    std::size_t queue_limit = 256;  // ?queue_limit=N: jobs waiting per connection (1..100000)
    // ?statement_cache=N: statements each connection keeps prepared (0..4096; 0 for a pooler
    // in transaction mode, such as PgBouncer before 1.21, that cannot keep them per session).
    std::size_t statement_cache = 256;
};
url_options parse_url(std::string_view url);

// PostgreSQL text[] literal of `values` ({"a","b\"c"}), and back. Arrays keep list columns
// (Identity headers, form fields) in order without a JSON codec on either side.
std::string encode_text_array(const std::vector<std::string>& values);
[[nodiscard]] result<std::vector<std::string>> decode_text_array(std::string_view text);

// Statement parameters: text values or NULL, in $1..$n order.
class params {
public:
    params& add(std::string_view v);
    params& add(const std::string& v) { return add(std::string_view(v)); }
    params& add(const char* v) { return add(std::string_view(v)); }
    params& add(std::int64_t v);
    params& add(const std::optional<std::string>& v);
    params& add(const std::optional<std::int64_t>& v);
    params& add_null();

    int size() const noexcept { return static_cast<int>(values_.size()); }
    std::vector<const char*> pointers() const;

private:
    std::vector<std::optional<std::string>> values_;
};

// A statement's rows. Text format; getters take the column index.
class rows {
public:
    explicit rows(pg_result* r) noexcept : r_(r) {}
    rows(rows&&) noexcept;
    rows& operator=(rows&&) noexcept;
    rows(const rows&) = delete;
    rows& operator=(const rows&) = delete;
    ~rows();

    pg_result* handle() const noexcept { return r_; }
    int count() const noexcept;
    std::int64_t affected() const noexcept;  // rows an UPDATE/DELETE/INSERT touched
    bool is_null(int row, int col) const noexcept;
    std::string text(int row, int col) const;
    std::optional<std::string> opt_text(int row, int col) const;
    std::int64_t integer(int row, int col) const;
    std::optional<std::int64_t> opt_integer(int row, int col) const;

private:
    pg_result* r_ = nullptr;
};

class connection {
public:
    connection() = default;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

    // Connects (blocking, bounded by connect_timeout, default 5 s). On failure returns
    // store_unavailable with libpq's message; the old connection, if any, is closed first.
    // A non-empty `password` is libpq's password keyword (before PGPASSWORD and ~/.pgpass).
    [[nodiscard]] result<void> connect(const std::string& libpq_uri,
                                       const std::string& password = {});
    void close() noexcept;
    // How many distinct statements exec() keeps prepared on this session (0: none).
    void set_statement_cache(std::size_t limit) noexcept;
    // False when never connected or when libpq saw the connection break.
    bool connected() const noexcept;
    // Notices a server that closed the connection while it was idle (pg_ctl stop, a restart)
    // without a round trip: reads what the socket holds. False when the connection is gone.
    bool check_idle() noexcept;

    // Waits up to `timeout` for notifications (LISTEN) and returns how many arrived, draining
    // them. store_unavailable when the connection broke meanwhile.
    [[nodiscard]] result<std::size_t> wait_for_notifications(std::chrono::milliseconds timeout);

    // Runs one statement. Errors: conflict (unique violation), invalid_parameter (check, not
    // null, bad text), not_found never; store_unavailable for everything else (lost connection,
    // shutdown, resources), with the server's message in the detail.
    [[nodiscard]] result<rows> exec(const char* sql, const params& p = {});
    // A statement whose rows do not matter (BEGIN, COMMIT, DDL).
    [[nodiscard]] result<void> run(const char* sql, const params& p = {});
    // Several statements without parameters in one round trip (fixed migration text only).
    [[nodiscard]] result<void> run_script(const char* sql);

private:
    result<rows> checked(rows r);  // the statement's rows, or its error mapped to errc
    // The server-side name `sql` is prepared under, preparing it now; null to run it unprepared.
    result<const std::string*> prepared_name(const char* sql, int param_count);

    pg_conn* conn_ = nullptr;
    std::size_t statement_cache_limit_ = 0;
    std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
};

// True for errors that mean the database, not the job, failed (healthy() turns false).
bool is_outage(const error& e) noexcept;

}  // namespace stirgate::store::pg
