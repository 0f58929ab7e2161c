// sqlite_store: the outbox table (enqueue with idempotency keys, due items, delivery outcomes).

#include <algorithm>
#include <limits>
#include <utility>

#include "store/sqlite_columns.hpp"
#include "store/sqlite_ops.hpp"

namespace stirgate::store::sqlite {
namespace {

constexpr const char* outbox_columns =
    "id, kind, call_sid, target_url, method, params, headers, attempts, next_attempt_at, "
    "last_error, idempotency_key, created_at";

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

}  // namespace

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

}  // namespace stirgate::store::sqlite
