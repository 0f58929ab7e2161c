#include "store/sqlite_store.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sqlite3.h>

namespace stirgate::store {
namespace {

// --- schema -------------------------------------------------------------------------------
// migrations[i] takes user_version i to i + 1. Append only: a released step never changes.
constexpr const char* migrations[] = {
    // 1: calls and outbox.
    R"sql(
CREATE TABLE calls (
    sid                    TEXT NOT NULL PRIMARY KEY
                           CHECK (length(sid) = 34 AND substr(sid, 1, 2) = 'CA'),
    account_sid            TEXT NOT NULL
                           CHECK (length(account_sid) = 34 AND substr(account_sid, 1, 2) = 'AC'),
    parent_call_sid        TEXT,
    direction              TEXT NOT NULL
                           CHECK (direction IN ('inbound', 'outbound-api', 'outbound-dial')),
    from_number            TEXT NOT NULL,
    to_number              TEXT NOT NULL,
    status                 TEXT NOT NULL
                           CHECK (status IN ('queued', 'ringing', 'in-progress', 'completed',
                                             'busy', 'failed', 'no-answer', 'canceled')),
    date_created           INTEGER NOT NULL,
    date_updated           INTEGER NOT NULL,
    start_time             INTEGER,
    end_time               INTEGER,
    duration               INTEGER CHECK (duration IS NULL OR duration >= 0),
    url                    TEXT NOT NULL,
    method                 TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    fallback_url           TEXT NOT NULL,
    fallback_method        TEXT NOT NULL CHECK (fallback_method IN ('GET', 'POST')),
    status_callback        TEXT NOT NULL,
    status_callback_method TEXT NOT NULL CHECK (status_callback_method IN ('GET', 'POST')),
    status_callback_events TEXT NOT NULL,  -- JSON array of strings
    identity_headers       TEXT NOT NULL,  -- JSON array of strings, in order
    attestation            TEXT CHECK (attestation IS NULL OR attestation IN ('A', 'B', 'C')),
    stir_verstat           TEXT,
    calltoken_claims       TEXT,
    forwarded_from         TEXT
);
-- Twilio list order and filters, each keyed by account first (lists never cross accounts).
CREATE INDEX calls_list ON calls (account_sid, date_created DESC, sid DESC);
CREATE INDEX calls_by_to ON calls (account_sid, to_number, date_created DESC, sid DESC);
CREATE INDEX calls_by_from ON calls (account_sid, from_number, date_created DESC, sid DESC);
CREATE INDEX calls_by_status ON calls (account_sid, status, date_created DESC, sid DESC);
CREATE INDEX calls_by_parent ON calls (account_sid, parent_call_sid, date_created DESC, sid DESC)
    WHERE parent_call_sid IS NOT NULL;

-- AUTOINCREMENT: ids of delivered (deleted) items are never handed out again.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('edge_dial', 'status_callback')),
    call_sid        TEXT NOT NULL CHECK (call_sid <> ''),
    target_url      TEXT NOT NULL CHECK (target_url <> ''),
    method          TEXT NOT NULL CHECK (method IN ('GET', 'POST')),
    params          TEXT NOT NULL,  -- JSON array of [name, value]
    headers         TEXT NOT NULL,  -- JSON array of [name, value]
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,  -- epoch ms
    last_error      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      INTEGER NOT NULL   -- epoch ms
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id);
CREATE UNIQUE INDEX outbox_idempotency ON outbox (idempotency_key) WHERE idempotency_key <> '';
)sql",
    // 2: fewer index pages written per call (bench/PROFILE.md "Forward": 15 -> 9 WAL pages for
    // a call committed alone, 2.9 -> 2.4 in a batch of 32). SQLite walks an ascending index
    // backwards for ORDER BY ... DESC at no cost, while a DESC index puts each new call at the
    // left end of its range, where full leaves are rebalanced with their siblings.
    // calls_by_status goes: a status has 8 values and changes through a call's life (each change
    // rewrote the entry); a Status filter walks calls_list newest first. calls_by_parent drops
    // the account prefix: the few children of one parent are checked against the row's account.
    R"sql(
DROP INDEX calls_by_status;
DROP INDEX calls_by_parent;
DROP INDEX calls_list;
DROP INDEX calls_by_to;
DROP INDEX calls_by_from;
CREATE INDEX calls_list ON calls (account_sid, date_created, sid);
CREATE INDEX calls_by_to ON calls (account_sid, to_number, date_created, sid);
CREATE INDEX calls_by_from ON calls (account_sid, from_number, date_created, sid);
CREATE INDEX calls_by_parent ON calls (parent_call_sid, date_created, sid)
    WHERE parent_call_sid IS NOT NULL;
)sql",
};
static_assert(std::size(migrations) == static_cast<std::size_t>(sqlite_store::schema_version),
              "one migration per schema version");

constexpr const char* call_columns =
    "sid, account_sid, parent_call_sid, direction, from_number, to_number, status, date_created, "
    "date_updated, start_time, end_time, duration, url, method, fallback_url, fallback_method, "
    "status_callback, status_callback_method, status_callback_events, identity_headers, "
    "attestation, stir_verstat, calltoken_claims, forwarded_from";

constexpr const char* outbox_columns =
    "id, kind, call_sid, target_url, method, params, headers, attempts, next_attempt_at, "
    "last_error, idempotency_key, created_at";

// --- JSON text for list columns -------------------------------------------------------------

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string encode_strings(const std::vector<std::string>& values)
{
    std::size_t size = 2;
    for (const auto& v : values) size += v.size() + 3;  // quotes and comma; escapes may add more
    rapidjson::StringBuffer buf(nullptr, size + 16);
    json_writer w(buf);
    w.StartArray();
    for (const auto& v : values) write_string(w, v);
    w.EndArray();
    return {buf.GetString(), buf.GetSize()};
}

std::string encode_pairs(const std::vector<name_value>& values)
{
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartArray();
    for (const auto& [name, value] : values) {
        w.StartArray();
        write_string(w, name);
        write_string(w, value);
        w.EndArray();
    }
    w.EndArray();
    return {buf.GetString(), buf.GetSize()};
}

std::string string_of(const rapidjson::Value& v)
{
    return {v.GetString(), v.GetStringLength()};
}

// Only this file writes these columns, so a shape mismatch means a damaged database.
result<std::vector<std::string>> decode_strings(std::string_view text)
{
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsArray()) return error{errc::internal, "bad JSON list column"};
    std::vector<std::string> out;
    for (const auto& v : doc.GetArray()) {
        if (!v.IsString()) return error{errc::internal, "bad JSON list column"};
        out.push_back(string_of(v));
    }
    return out;
}

result<std::vector<name_value>> decode_pairs(std::string_view text)
{
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    if (doc.HasParseError() || !doc.IsArray()) return error{errc::internal, "bad JSON pair column"};
    std::vector<name_value> out;
    for (const auto& v : doc.GetArray()) {
        if (!v.IsArray() || v.Size() != 2 || !v[0].IsString() || !v[1].IsString())
            return error{errc::internal, "bad JSON pair column"};
        out.emplace_back(string_of(v[0]), string_of(v[1]));
    }
    return out;
}

// --- connection -----------------------------------------------------------------------------

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

// Binding and reading, with the column/parameter index as SQLite counts it.
void bind(sqlite3_stmt* s, int i, std::string_view v)
{
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind(sqlite3_stmt* s, int i, std::int64_t v)
{
    sqlite3_bind_int64(s, i, v);
}
void bind(sqlite3_stmt* s, int i, const std::optional<std::string>& v)
{
    if (v)
        bind(s, i, std::string_view(*v));
    else
        sqlite3_bind_null(s, i);
}
void bind(sqlite3_stmt* s, int i, const std::optional<std::int64_t>& v)
{
    if (v)
        bind(s, i, *v);
    else
        sqlite3_bind_null(s, i);
}

std::string column_text(sqlite3_stmt* s, int i)
{
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}
std::optional<std::string> column_opt_text(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return column_text(s, i);
}
std::int64_t column_int(sqlite3_stmt* s, int i)
{
    return sqlite3_column_int64(s, i);
}
std::optional<std::int64_t> column_opt_int(sqlite3_stmt* s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(s, i);
}

result<call_record> read_call(sqlite3_stmt* s)
{
    call_record c;
    c.sid = column_text(s, 0);
    c.account_sid = column_text(s, 1);
    c.parent_call_sid = column_opt_text(s, 2);
    auto direction = parse_call_direction(column_text(s, 3));
    auto status = parse_call_status(column_text(s, 6));
    if (!direction || !status) return error{errc::internal, "bad enum column in calls"};
    c.direction = *direction;
    c.from = column_text(s, 4);
    c.to = column_text(s, 5);
    c.status = *status;
    c.date_created = column_int(s, 7);
    c.date_updated = column_int(s, 8);
    c.start_time = column_opt_int(s, 9);
    c.end_time = column_opt_int(s, 10);
    c.duration = column_opt_int(s, 11);
    c.url = column_text(s, 12);
    c.method = column_text(s, 13);
    c.fallback_url = column_text(s, 14);
    c.fallback_method = column_text(s, 15);
    c.status_callback = column_text(s, 16);
    c.status_callback_method = column_text(s, 17);
    auto events = decode_strings(column_text(s, 18));
    auto identities = decode_strings(column_text(s, 19));
    if (!events) return std::move(events).err();
    if (!identities) return std::move(identities).err();
    c.status_callback_events = std::move(*events);
    c.identity_headers = std::move(*identities);
    if (auto a = column_opt_text(s, 20)) {
        auto attest = core::parse_attestation(*a);
        if (!attest) return error{errc::internal, "bad attestation column"};
        c.attestation = *attest;
    }
    c.stir_verstat = column_opt_text(s, 21);
    c.calltoken_claims = column_opt_text(s, 22);
    c.forwarded_from = column_opt_text(s, 23);
    return c;
}

result<outbox_item> read_item(sqlite3_stmt* s)
{
    outbox_item item;
    item.id = column_int(s, 0);
    auto kind = parse_outbox_kind(column_text(s, 1));
    if (!kind) return error{errc::internal, "bad outbox kind column"};
    item.kind = *kind;
    item.call_sid = column_text(s, 2);
    item.target_url = column_text(s, 3);
    item.method = column_text(s, 4);
    auto params = decode_pairs(column_text(s, 5));
    auto headers = decode_pairs(column_text(s, 6));
    if (!params) return std::move(params).err();
    if (!headers) return std::move(headers).err();
    item.params = std::move(*params);
    item.headers = std::move(*headers);
    item.attempts = static_cast<std::int32_t>(column_int(s, 7));
    item.next_attempt_at_ms = column_int(s, 8);
    item.last_error = column_text(s, 9);
    item.idempotency_key = column_text(s, 10);
    item.created_at_ms = column_int(s, 11);
    return item;
}

// --- the operations, run on the writer thread inside the batch transaction ------------------

result<std::optional<call_record>> select_call(connection& c,
                                               const std::optional<std::string>& account,
                                               const std::string& sid)
{
    error err;
    const std::string sql = std::string("SELECT ") + call_columns +
                            (account ? " FROM calls WHERE sid = ?1 AND account_sid = ?2"
                                     : " FROM calls WHERE sid = ?1");
    sqlite3_stmt* s = c.prepare(sql, err);
    if (!s) return err;
    bind(s, 1, std::string_view(sid));
    if (account) bind(s, 2, std::string_view(*account));
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<call_record>();
    if (rc != SQLITE_ROW) return c.fail(rc, "select call");
    auto call = read_call(s);
    if (!call) return std::move(call).err();
    return std::optional<call_record>(std::move(*call));
}

result<std::int64_t> insert_item(connection& c, const outbox_item& item)
{
    error err;
    sqlite3_stmt* s = c.prepare(
        "INSERT INTO outbox (kind, call_sid, target_url, method, params, headers, attempts, "
        "next_attempt_at, last_error, idempotency_key, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT (idempotency_key) WHERE idempotency_key <> '' DO NOTHING",
        err);
    if (!s) return err;
    bind(s, 1, to_string(item.kind));
    bind(s, 2, std::string_view(item.call_sid));
    bind(s, 3, std::string_view(item.target_url));
    bind(s, 4, std::string_view(item.method));
    bind(s, 5, std::string_view(encode_pairs(item.params)));
    bind(s, 6, std::string_view(encode_pairs(item.headers)));
    bind(s, 7, std::int64_t{item.attempts});
    bind(s, 8, item.next_attempt_at_ms);
    bind(s, 9, std::string_view(item.last_error));
    bind(s, 10, std::string_view(item.idempotency_key));
    bind(s, 11, item.created_at_ms);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "insert outbox item");
    if (sqlite3_changes(c.handle()) == 1)
        return std::int64_t{sqlite3_last_insert_rowid(c.handle())};

    // The idempotency key is already queued: hand back that item.
    // The key condition repeats the partial index's WHERE, so the index serves the lookup.
    sqlite3_stmt* q = c.prepare(
        "SELECT id FROM outbox WHERE idempotency_key = ?1 AND idempotency_key <> ''", err);
    if (!q) return err;
    bind(q, 1, std::string_view(item.idempotency_key));
    const int qrc = sqlite3_step(q);
    if (qrc != SQLITE_ROW) return c.fail(qrc == SQLITE_DONE ? SQLITE_INTERNAL : qrc, "outbox key");
    return column_int(q, 0);
}

result<std::vector<std::int64_t>> insert_items(connection& c, std::vector<outbox_item>& items,
                                               const std::string& default_call_sid)
{
    std::vector<std::int64_t> ids;
    ids.reserve(items.size());
    for (auto& item : items) {
        // Refusals come from the table's CHECK constraints (the memory store mirrors them in
        // validate()), so a refused item is undone by the job's savepoint with everything else.
        if (item.call_sid.empty()) item.call_sid = default_call_sid;
        auto id = insert_item(c, item);
        if (!id) return std::move(id).err();
        ids.push_back(*id);
    }
    return ids;
}

result<std::vector<std::int64_t>> run_insert_call(connection& c, const call_record& call,
                                                  std::vector<outbox_item>& items)
{
    if (auto v = validate(call); !v) return std::move(v).err();
    error err;
    sqlite3_stmt* s = c.prepare(std::string("INSERT INTO calls (") + call_columns +
                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
                                err);
    if (!s) return err;
    bind(s, 1, std::string_view(call.sid));
    bind(s, 2, std::string_view(call.account_sid));
    bind(s, 3, call.parent_call_sid);
    bind(s, 4, to_string(call.direction));
    bind(s, 5, std::string_view(call.from));
    bind(s, 6, std::string_view(call.to));
    bind(s, 7, to_string(call.status));
    bind(s, 8, call.date_created);
    bind(s, 9, call.date_updated);
    bind(s, 10, call.start_time);
    bind(s, 11, call.end_time);
    bind(s, 12, call.duration);
    bind(s, 13, std::string_view(call.url));
    bind(s, 14, std::string_view(call.method));
    bind(s, 15, std::string_view(call.fallback_url));
    bind(s, 16, std::string_view(call.fallback_method));
    bind(s, 17, std::string_view(call.status_callback));
    bind(s, 18, std::string_view(call.status_callback_method));
    bind(s, 19, std::string_view(encode_strings(call.status_callback_events)));
    bind(s, 20, std::string_view(encode_strings(call.identity_headers)));
    if (call.attestation) bind(s, 21, core::to_string(*call.attestation));
    bind(s, 22, call.stir_verstat);
    bind(s, 23, call.calltoken_claims);
    bind(s, 24, call.forwarded_from);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        error e = c.fail(rc, "insert call");
        if (e.code == errc::conflict) e.detail = "call " + call.sid + " exists";
        return e;
    }
    return insert_items(c, items, call.sid);
}

result<call_record> run_update_call(connection& c, const std::string& sid, const call_update& u,
                                    std::vector<outbox_item>& items)
{
    auto current = select_call(c, std::nullopt, sid);
    if (!current) return std::move(current).err();
    if (!*current) return error{errc::not_found, "call " + sid};
    const call_status now = (*current)->status;
    if (!u.only_from.empty() &&
        std::find(u.only_from.begin(), u.only_from.end(), now) == u.only_from.end())
        return error{errc::conflict, "call " + sid + " is " + std::string(to_string(now))};

    error err;
    sqlite3_stmt* s = c.prepare(
        "UPDATE calls SET status = ?1, date_updated = ?2, start_time = coalesce(?3, start_time), "
        "end_time = coalesce(?4, end_time), duration = coalesce(?5, duration) WHERE sid = ?6",
        err);
    if (!s) return err;
    bind(s, 1, to_string(u.status));
    bind(s, 2, u.date_updated);
    bind(s, 3, u.start_time);
    bind(s, 4, u.end_time);
    bind(s, 5, u.duration);
    bind(s, 6, std::string_view(sid));
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "update call");
    if (auto ids = insert_items(c, items, sid); !ids) return std::move(ids).err();

    auto after = select_call(c, std::nullopt, sid);
    if (!after) return std::move(after).err();
    if (!*after) return error{errc::internal, "updated call vanished"};
    return std::move(**after);
}

result<call_page> run_list_calls(connection& c, const std::string& account, const call_filter& f,
                                 std::size_t page_size, const std::string& token)
{
    if (page_size == 0 || page_size > max_page_size)
        return error{errc::invalid_parameter, "PageSize"};
    error err;
    std::optional<std::pair<std::int64_t, std::string>> cursor;
    if (!token.empty()) {
        auto sid = parse_page_token(token);
        if (!sid) return std::move(sid).err();
        // The cursor must be a call of this account: another account's token is refused, and
        // its date_created is never revealed.
        sqlite3_stmt* q =
            c.prepare("SELECT date_created FROM calls WHERE sid = ?1 AND account_sid = ?2", err);
        if (!q) return err;
        bind(q, 1, std::string_view(*sid));
        bind(q, 2, std::string_view(account));
        const int rc = sqlite3_step(q);
        if (rc == SQLITE_DONE)
            return error{errc::invalid_parameter, "PageToken names no call of this account"};
        if (rc != SQLITE_ROW) return c.fail(rc, "page token");
        cursor.emplace(column_int(q, 0), std::move(*sid));
    }

    // Numbered parameters keep each value's index fixed whichever filters are present; the
    // statement text per filter combination is cached like any other.
    std::string sql = std::string("SELECT ") + call_columns + " FROM calls WHERE account_sid = ?1";
    if (f.to) sql += " AND to_number = ?2";
    if (f.from) sql += " AND from_number = ?3";
    if (f.status) sql += " AND status = ?4";
    if (f.parent_call_sid) sql += " AND parent_call_sid = ?5";
    if (cursor) sql += " AND (date_created, sid) < (?6, ?7)";
    sql += " ORDER BY date_created DESC, sid DESC LIMIT ?8";
    sqlite3_stmt* s = c.prepare(sql, err);
    if (!s) return err;
    bind(s, 1, std::string_view(account));
    if (f.to) bind(s, 2, std::string_view(*f.to));
    if (f.from) bind(s, 3, std::string_view(*f.from));
    if (f.status) bind(s, 4, to_string(*f.status));
    if (f.parent_call_sid) bind(s, 5, std::string_view(*f.parent_call_sid));
    if (cursor) {
        bind(s, 6, cursor->first);
        bind(s, 7, std::string_view(cursor->second));
    }
    bind(s, 8, static_cast<std::int64_t>(page_size) + 1);  // one more tells if a next page exists

    call_page page;
    bool more = false;
    for (;;) {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return c.fail(rc, "list calls");
        if (page.calls.size() == page_size) {
            more = true;
            break;
        }
        auto call = read_call(s);
        if (!call) return std::move(call).err();
        page.calls.push_back(std::move(*call));
    }
    if (more) page.next_page_token = make_page_token(page.calls.back().sid);
    return page;
}

result<std::vector<outbox_item>> run_due_items(connection& c, std::int64_t now_ms,
                                               std::size_t limit)
{
    error err;
    sqlite3_stmt* s = c.prepare(std::string("SELECT ") + outbox_columns +
                                    " FROM outbox WHERE next_attempt_at <= ?1 "
                                    "ORDER BY next_attempt_at, id LIMIT ?2",
                                err);
    if (!s) return err;
    bind(s, 1, now_ms);
    constexpr auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    bind(s, 2, static_cast<std::int64_t>(std::min(limit, max_limit)));
    std::vector<outbox_item> items;
    for (;;) {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return c.fail(rc, "due items");
        auto item = read_item(s);
        if (!item) return std::move(item).err();
        items.push_back(std::move(*item));
    }
    return items;
}

result<void> run_mark_delivered(connection& c, std::int64_t id)
{
    error err;
    sqlite3_stmt* s = c.prepare("DELETE FROM outbox WHERE id = ?1", err);
    if (!s) return err;
    bind(s, 1, id);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "delete outbox item");
    if (sqlite3_changes(c.handle()) == 0)
        return error{errc::not_found, "outbox item " + std::to_string(id)};
    return ok();
}

result<void> run_mark_failed(connection& c, std::int64_t id, std::int64_t next_ms,
                             const std::string& last_error)
{
    error err;
    sqlite3_stmt* s = c.prepare(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?1, last_error = ?2 "
        "WHERE id = ?3",
        err);
    if (!s) return err;
    bind(s, 1, next_ms);
    bind(s, 2, std::string_view(last_error));
    bind(s, 3, id);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "update outbox item");
    if (sqlite3_changes(c.handle()) == 0)
        return error{errc::not_found, "outbox item " + std::to_string(id)};
    return ok();
}

result<std::size_t> run_depth(connection& c)
{
    error err;
    sqlite3_stmt* s = c.prepare("SELECT count(*) FROM outbox", err);
    if (!s) return err;
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return c.fail(rc, "outbox depth");
    return static_cast<std::size_t>(column_int(s, 0));
}

// --- jobs -----------------------------------------------------------------------------------

class job {
public:
    explicit job(bool writes) : writes_(writes) {}
    virtual ~job() = default;
    job(const job&) = delete;
    job& operator=(const job&) = delete;

    bool writes() const noexcept { return writes_; }
    virtual void run(connection& c) = 0;
    virtual bool failed() const noexcept = 0;
    virtual void abort(error e) = 0;  // the batch was rolled back: report e instead
    virtual void complete() = 0;      // calls the callback, once

private:
    bool writes_;
};

template <class T>
class typed_job final : public job {
public:
    using body_type = std::function<result<T>(connection&)>;
    typed_job(bool writes, body_type body, store::callback<T> done)
        : job(writes), body_(std::move(body)), done_(std::move(done))
    {
    }

    void run(connection& c) override { result_ = body_(c); }
    bool failed() const noexcept override { return !result_.has_value(); }
    void abort(error e) override { result_ = std::move(e); }
    void complete() override { done_(std::move(result_)); }

private:
    body_type body_;
    store::callback<T> done_;
    result<T> result_;
};

// --- opening --------------------------------------------------------------------------------

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

void migrate(sqlite3* db, std::string_view url)
{
    const std::int64_t found = pragma_int(db, url, "PRAGMA user_version");
    if (found > sqlite_store::schema_version)
        open_failure(url, "database schema version " + std::to_string(found) +
                              " is newer than this stirgate supports (" +
                              std::to_string(sqlite_store::schema_version) +
                              "); run a newer stirgate or restore a backup");
    for (auto v = found; v < sqlite_store::schema_version; ++v) {
        // Each step with its version bump in one transaction: a crash leaves a whole version.
        exec_or_throw(db, url, "BEGIN IMMEDIATE", "migration");
        const int rc =
            sqlite3_exec(db, migrations[static_cast<std::size_t>(v)], nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) {
            const std::string problem = sqlite_problem(db, rc);
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            open_failure(url,
                         "migration to schema version " + std::to_string(v + 1) + ": " + problem);
        }
        const std::string bump = "PRAGMA user_version = " + std::to_string(v + 1);
        exec_or_throw(db, url, bump.c_str(), "migration");
        exec_or_throw(db, url, "COMMIT", "migration");
    }
}

}  // namespace

// --- the store ------------------------------------------------------------------------------

struct sqlite_store::impl {
    std::string url;
    sqlite_options options;
    connection conn;  // touched only by the writer thread once it runs

    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::unique_ptr<job>> queue;  // guarded by mutex
    bool stopping = false;                   // guarded by mutex

    std::atomic<bool> healthy{true};
    std::atomic<std::uint64_t> transactions_committed{0};
    std::atomic<std::uint64_t> jobs_completed{0};
    std::thread writer;

    void open();
    void writer_loop();
    void run_batch(std::vector<std::unique_ptr<job>>& batch);

    template <class T>
    void submit(bool writes, typename typed_job<T>::body_type body, store::callback<T> done)
    {
        auto j = std::make_unique<typed_job<T>>(writes, std::move(body), std::move(done));
        {
            const std::lock_guard lock(mutex);
            if (!stopping) {
                queue.push_back(std::move(j));
            }
        }
        if (j) {  // refused: the store is closing
            j->abort(error{errc::store_unavailable, "store is closed"});
            j->complete();
            return;
        }
        wake.notify_one();
    }
};

void sqlite_store::impl::open()
{
    constexpr std::string_view scheme = "sqlite://";
    if (url.rfind(scheme, 0) != 0)
        open_failure(url, "expected sqlite:///PATH or sqlite://:memory:");
    std::string path = url.substr(scheme.size());
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
    migrate(db, url);
    if (options.max_page_count > 0) {
        const std::string cap = "PRAGMA max_page_count = " + std::to_string(options.max_page_count);
        pragma_int(db, url, cap.c_str());
    }
}

void sqlite_store::impl::writer_loop()
{
    std::vector<std::unique_ptr<job>> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex);
            wake.wait(lock, [&] { return stopping || !queue.empty(); });
            if (queue.empty()) return;  // stopping, and everything queued has run
            const std::size_t n =
                std::min(queue.size(), std::max<std::size_t>(1, options.max_batch));
            for (std::size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(queue.front()));
                queue.pop_front();
            }
        }
        run_batch(batch);
        batch.clear();
    }
}

void sqlite_store::impl::run_batch(std::vector<std::unique_ptr<job>>& batch)
{
    bool wrote = false;
    std::optional<error> failure;  // set when the transaction as a whole failed
    // IMMEDIATE takes the write lock now, so a job never fails half-way on SQLITE_BUSY.
    if (auto begun = conn.exec("BEGIN IMMEDIATE"); !begun) failure = std::move(begun).err();
    for (std::size_t i = 0; !failure && i < batch.size(); ++i) {
        job& j = *batch[i];
        if (auto sp = conn.exec("SAVEPOINT job"); !sp) {
            failure = std::move(sp).err();
            break;
        }
        j.run(conn);
        if (conn.fatal()) {
            failure = error{errc::store_unavailable, conn.fatal_detail()};
            break;
        }
        if (!j.failed()) {
            wrote = wrote || j.writes();
        } else if (auto undone = conn.exec("ROLLBACK TO job"); !undone) {  // this job only
            failure = std::move(undone).err();
            break;
        }
        if (auto released = conn.exec("RELEASE job"); !released)
            failure = std::move(released).err();
    }
    conn.reset_all();
    if (!failure) {
        if (auto committed = conn.exec("COMMIT"); !committed) failure = std::move(committed).err();
    }

    if (failure) {
        // SQLite may or may not have rolled back already (SQLITE_FULL, SQLITE_IOERR): make sure.
        if (sqlite3_get_autocommit(conn.handle()) == 0)
            sqlite3_exec(conn.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        conn.clear_fatal();
        healthy = false;
        for (auto& j : batch) j->abort(error{errc::store_unavailable, failure->detail});
    } else {
        ++transactions_committed;
        // Reads commit even when the disk is full: only a committed write proves recovery.
        if (wrote) healthy = true;
    }

    for (auto& j : batch) {
        // A callback that throws must not end the writer (and with it every later callback).
        try {
            j->complete();
        } catch (...) {
        }
        ++jobs_completed;
    }
}

sqlite_store::sqlite_store(std::string_view url, sqlite_options options)
    : impl_(std::make_unique<impl>())
{
    impl_->url = std::string(url);
    impl_->options = options;
    impl_->open();  // throws; the connection closes with impl_
    impl_->writer = std::thread([p = impl_.get()] { p->writer_loop(); });
}

sqlite_store::~sqlite_store()
{
    {
        const std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->wake.notify_one();
    if (impl_->writer.joinable()) impl_->writer.join();
}

bool sqlite_store::healthy() const noexcept
{
    return impl_->healthy.load();
}

store_stats sqlite_store::stats() const
{
    return {impl_->transactions_committed.load(), impl_->jobs_completed.load()};
}

void sqlite_store::do_insert_call(call_record call, std::vector<outbox_item> items,
                                  callback<std::vector<std::int64_t>> done)
{
    impl_->submit<std::vector<std::int64_t>>(
        true,
        [call = std::move(call), items = std::move(items)](connection& c) mutable {
            return run_insert_call(c, call, items);
        },
        std::move(done));
}

void sqlite_store::do_get_call(std::optional<std::string> account_sid, std::string call_sid,
                               callback<std::optional<call_record>> done)
{
    impl_->submit<std::optional<call_record>>(
        false,
        [account = std::move(account_sid), sid = std::move(call_sid)](connection& c) {
            return select_call(c, account, sid);
        },
        std::move(done));
}

void sqlite_store::do_update_call_status(std::string call_sid, call_update update,
                                         std::vector<outbox_item> items, callback<call_record> done)
{
    impl_->submit<call_record>(
        true,
        [sid = std::move(call_sid), update = std::move(update), items = std::move(items)](
            connection& c) mutable { return run_update_call(c, sid, update, items); },
        std::move(done));
}

void sqlite_store::do_list_calls(std::string account_sid, call_filter filter, std::size_t page_size,
                                 std::string page_token, callback<call_page> done)
{
    impl_->submit<call_page>(
        false,
        [account = std::move(account_sid), filter = std::move(filter), page_size,
         token = std::move(page_token)](connection& c) {
            return run_list_calls(c, account, filter, page_size, token);
        },
        std::move(done));
}

void sqlite_store::do_enqueue(std::vector<outbox_item> items,
                              callback<std::vector<std::int64_t>> done)
{
    impl_->submit<std::vector<std::int64_t>>(
        true,
        [items = std::move(items)](connection& c) mutable { return insert_items(c, items, {}); },
        std::move(done));
}

void sqlite_store::do_due_items(std::int64_t now_ms, std::size_t limit,
                                callback<std::vector<outbox_item>> done)
{
    impl_->submit<std::vector<outbox_item>>(
        false, [now_ms, limit](connection& c) { return run_due_items(c, now_ms, limit); },
        std::move(done));
}

void sqlite_store::do_mark_delivered(std::int64_t id, callback<void> done)
{
    impl_->submit<void>(
        true, [id](connection& c) { return run_mark_delivered(c, id); }, std::move(done));
}

void sqlite_store::do_mark_failed(std::int64_t id, std::int64_t next_attempt_at_ms,
                                  std::string last_error, callback<void> done)
{
    impl_->submit<void>(
        true,
        [id, next_attempt_at_ms, e = std::move(last_error)](connection& c) {
            return run_mark_failed(c, id, next_attempt_at_ms, e);
        },
        std::move(done));
}

void sqlite_store::do_depth(callback<std::size_t> done)
{
    impl_->submit<std::size_t>(
        false, [](connection& c) { return run_depth(c); }, std::move(done));
}

}  // namespace stirgate::store
