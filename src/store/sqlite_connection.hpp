#pragma once
// sqlite_store internals: the one connection the writer thread owns, with its cache of prepared
// statements and the mapping of SQLite failures to errc, and opening a database from its URL.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>

#include "store/sqlite_store.hpp"

namespace stirgate::store::sqlite {

// Runtime failures (I/O error, disk full, corruption, lock timeout) leave the transaction in an
// unknown state: the whole batch is rolled back and every job in it reports store_unavailable.
// Constraint failures belong to one job and are rolled back to its savepoint.
class connection {
public:
    connection() = default;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection()
    {
        for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
        if (db_) sqlite3_close_v2(db_);
    }

    sqlite3* handle() const noexcept { return db_; }
    void adopt(sqlite3* db) noexcept { db_ = db; }

    // Set when a runtime failure hit the current batch.
    bool fatal() const noexcept { return fatal_; }
    const std::string& fatal_detail() const noexcept { return fatal_detail_; }
    void clear_fatal() noexcept { fatal_ = false; }

    // Turns a failed SQLite call into an errc, marking the batch fatal unless the failure is a
    // constraint the job owns.
    error fail(int rc, std::string_view what)
    {
        std::string detail = std::string(what) + ": " + sqlite3_errstr(rc);
        if (db_ && sqlite3_errcode(db_) == rc) detail += ": " + std::string(sqlite3_errmsg(db_));
        switch (rc) {
            case SQLITE_CONSTRAINT_PRIMARYKEY:
            case SQLITE_CONSTRAINT_UNIQUE:
                return error{errc::conflict, std::move(detail)};
            case SQLITE_CONSTRAINT_CHECK:
            case SQLITE_CONSTRAINT_NOTNULL:
                return error{errc::invalid_parameter, std::move(detail)};
            default:
                fatal_ = true;
                fatal_detail_ = detail;
                return error{errc::store_unavailable, std::move(detail)};
        }
    }

    // A cached prepared statement, reset and with its bindings cleared; nullptr after fail().
    sqlite3_stmt* prepare(const std::string& sql, error& err)
    {
        auto it = cache_.find(sql);
        if (it == cache_.end()) {
            sqlite3_stmt* stmt = nullptr;
            const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size() + 1),
                                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
            if (rc != SQLITE_OK) {
                err = fail(rc, "prepare");
                return nullptr;
            }
            it = cache_.emplace(sql, stmt).first;
        }
        sqlite3_reset(it->second);
        sqlite3_clear_bindings(it->second);
        return it->second;
    }

    // A statement left on a row keeps its read snapshot, and in WAL mode an open snapshot stops
    // checkpoints from recycling the log: reset them all before each commit.
    void reset_all() noexcept
    {
        for (auto& [sql, stmt] : cache_) sqlite3_reset(stmt);
    }

    // Statements without results (BEGIN, SAVEPOINT, ...), prepared once: a batch runs four of
    // them per job, and sqlite3_exec would parse each one every time.
    result<void> exec(const char* sql)
    {
        error err;
        sqlite3_stmt* s = prepare(sql, err);
        if (!s) return err;
        const int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE) {
            error e = fail(rc, sql);
            sqlite3_reset(s);
            return e;
        }
        sqlite3_reset(s);
        return ok();
    }

private:
    sqlite3* db_ = nullptr;
    bool fatal_ = false;
    std::string fatal_detail_;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// --- opening (startup failures throw std::runtime_error with one line, STYLE.md section 2) ---

[[noreturn]] void open_failure(std::string_view url, std::string_view problem);
// SQLite's message for rc: the connection's own when it is about rc, the generic one otherwise.
std::string sqlite_problem(sqlite3* db, int rc);
void exec_or_throw(sqlite3* db, std::string_view url, const char* sql, std::string_view step);
std::int64_t pragma_int(sqlite3* db, std::string_view url, const char* sql);
std::string pragma_text(sqlite3* db, std::string_view url, const char* sql);

// Opens the database a sqlite:// URL names into `conn` (see sqlite_store's constructor): WAL,
// synchronous, busy_timeout, temp_store, the schema migrated, the page cap.
void open_database(connection& conn, std::string_view url, const sqlite_options& options);

}  // namespace stirgate::store::sqlite
