// sqlite_store: opening a database from its URL (pragmas, migrations, the page cap).

#include "store/sqlite_connection.hpp"

#include <stdexcept>

#include "store/sqlite_columns.hpp"
#include "store/sqlite_schema.hpp"

namespace stirgate::store::sqlite {

[[noreturn]] void open_failure(std::string_view url, std::string_view problem)
{
    throw std::runtime_error("storage url " + std::string(url) + ": " + std::string(problem));
}

std::string sqlite_problem(sqlite3* db, int rc)
{
    return db && sqlite3_errcode(db) == rc ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
}

void exec_or_throw(sqlite3* db, std::string_view url, const char* sql, std::string_view step)
{
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) open_failure(url, std::string(step) + ": " + sqlite_problem(db, rc));
}

std::int64_t pragma_int(sqlite3* db, std::string_view url, const char* sql)
{
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    std::int64_t v = 0;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    }
    const std::string problem = rc == SQLITE_ROW ? "" : sqlite_problem(db, rc);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) open_failure(url, std::string(sql) + ": " + problem);
    return v;
}

std::string pragma_text(sqlite3* db, std::string_view url, const char* sql)
{
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    std::string v;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) v = column_text(s, 0);
    }
    const std::string problem = rc == SQLITE_ROW ? "" : sqlite_problem(db, rc);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW) open_failure(url, std::string(sql) + ": " + problem);
    return v;
}

void open_database(connection& conn, std::string_view url, const sqlite_options& options)
{
    constexpr std::string_view scheme = "sqlite://";
    if (url.rfind(scheme, 0) != 0)
        open_failure(url, "expected sqlite:///PATH or sqlite://:memory:");
    std::string path(url.substr(scheme.size()));
    // One option may follow the path: ?synchronous=full (the default) or ?synchronous=normal.
    const char* synchronous = "PRAGMA synchronous = FULL";
    if (const auto q = path.find('?'); q != std::string::npos) {
        const std::string option = path.substr(q + 1);
        path.resize(q);
        if (option == "synchronous=normal")
            synchronous = "PRAGMA synchronous = NORMAL";
        else if (option != "synchronous=full")
            open_failure(url, "unknown option \"" + option +
                                  "\" (expected synchronous=full or synchronous=normal)");
    }
    const bool memory = path == ":memory:";
    if (!memory && (path.empty() || path.front() != '/'))
        open_failure(url, "expected an absolute path (sqlite:///ABSOLUTE/PATH) or :memory:");

    sqlite3* db = nullptr;
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string problem = sqlite_problem(db, rc);
        sqlite3_close_v2(db);
        open_failure(url, "cannot open database: " + problem);
    }
    conn.adopt(db);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, options.busy_timeout_ms);

    // The first statement reads the file header: a file that is not a database fails here.
    const std::string mode = pragma_text(db, url, "PRAGMA journal_mode = WAL");
    if (!memory && mode != "wal")
        open_failure(url, "cannot enable WAL (journal_mode " + mode + ")");
    // FULL (default): a committed transaction survives power loss, which is what a 201
    // promises; group commit shares that fsync between every job of a batch. NORMAL (opt-in):
    // WAL is synced only at checkpoints, so a commit survives a crash of the process but the
    // last transactions may be lost with the machine's power.
    exec_or_throw(db, url, synchronous, "synchronous");
    // Each job's SAVEPOINT keeps a sub-journal of the pages it changes that earlier jobs of the
    // batch had already changed. With temp_store = FILE, SQLite spills a sub-journal above
    // 64 KiB into a temporary file, opened, written and unlinked once per batch. In memory it
    // is bounded by one job's pages (it is emptied at each RELEASE).
    exec_or_throw(db, url, "PRAGMA temp_store = MEMORY", "temp_store");
    migrate(db, url, options.migrate);
    // A SQLite database serves one gateway, so any claim in it is a previous process's (a
    // kill -9 leaves them): its items are due again now rather than when the lease runs out.
    exec_or_throw(db, url,
                  "UPDATE outbox SET claimed_by = '', claimed_until = 0 WHERE claimed_by <> ''",
                  "release outbox claims");
    if (options.max_page_count > 0) {
        const std::string cap = "PRAGMA max_page_count = " + std::to_string(options.max_page_count);
        pragma_int(db, url, cap.c_str());
    }
}

}  // namespace stirgate::store::sqlite
