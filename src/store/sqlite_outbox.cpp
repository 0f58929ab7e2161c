// sqlite_store: the outbox table (enqueue with idempotency keys, due items, claims, delivery
// outcomes).

#include <algorithm>
#include <limits>
#include <utility>

#include "store/sqlite_columns.hpp"
#include "store/sqlite_ops.hpp"

namespace stirgate::store::sqlite {
namespace {

constexpr const char* outbox_columns =
    "id, kind, call_sid, target_url, method, params, headers, attempts, next_attempt_at, "
    "last_error, idempotency_key, created_at, delivery_token, claimed_by, claimed_until";

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
    item.delivery_token = column_text(s, 12);
    item.claimed_by = column_text(s, 13);
    item.claimed_until_ms = column_int(s, 14);
    return item;
}

result<std::int64_t> insert_item(connection& c, const outbox_item& item)
{
    error err;
    sqlite3_stmt* s = c.prepare(
        "INSERT INTO outbox (kind, call_sid, target_url, method, params, headers, attempts, "
        "next_attempt_at, last_error, idempotency_key, created_at, delivery_token, claimed_by, "
        "claimed_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
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
    bind(s, 12, std::string_view(item.delivery_token));
    bind(s, 13, std::string_view(item.claimed_by));
    bind(s, 14, item.claimed_until_ms);
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

namespace {

constexpr auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());

// Up to `limit` due items, oldest first; only unheld ones (claimed_until <= now) when `free_only`.
result<std::vector<outbox_item>> select_due(connection& c, std::int64_t now_ms, std::size_t limit,
                                            bool free_only)
{
    error err;
    sqlite3_stmt* s = c.prepare(std::string("SELECT ") + outbox_columns +
                                    " FROM outbox WHERE next_attempt_at <= ?1" +
                                    (free_only ? " AND claimed_until <= ?1" : "") +
                                    " ORDER BY next_attempt_at, id LIMIT ?2",
                                err);
    if (!s) return err;
    bind(s, 1, now_ms);
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

// The answer when a holder-only statement changed nothing: not_found or conflict.
error not_held_item(connection& c, std::int64_t id, const std::string& worker)
{
    error err;
    sqlite3_stmt* s = c.prepare("SELECT 1 FROM outbox WHERE id = ?1", err);
    if (!s) return err;
    bind(s, 1, id);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return c.fail(rc, "outbox item");
    return not_held(id, rc == SQLITE_ROW, worker);
}

}  // namespace

result<std::vector<outbox_item>> run_due_items(connection& c, std::int64_t now_ms,
                                               std::size_t limit)
{
    return select_due(c, now_ms, limit, false);
}

result<std::vector<outbox_item>> run_claim_due(connection& c, const outbox_claim& claim)
{
    // One writer thread runs every job, so nothing can claim between the SELECT and the UPDATEs.
    auto items = select_due(c, claim.now_ms, claim.limit, true);
    if (!items) return items;
    const std::int64_t until = claim.now_ms + claim.lease_ms;
    error err;
    for (auto& item : *items) {
        sqlite3_stmt* s =
            c.prepare("UPDATE outbox SET claimed_by = ?1, claimed_until = ?2 WHERE id = ?3", err);
        if (!s) return err;
        bind(s, 1, std::string_view(claim.worker));
        bind(s, 2, until);
        bind(s, 3, item.id);
        const int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE) return c.fail(rc, "claim outbox item");
        item.claimed_by = claim.worker;
        item.claimed_until_ms = until;
    }
    return items;
}

result<void> run_mark_delivered(connection& c, std::int64_t id, const std::string& worker)
{
    error err;
    sqlite3_stmt* s = c.prepare("DELETE FROM outbox WHERE id = ?1 AND claimed_by = ?2", err);
    if (!s) return err;
    bind(s, 1, id);
    bind(s, 2, std::string_view(worker));
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "delete outbox item");
    if (sqlite3_changes(c.handle()) == 0) return not_held_item(c, id, worker);
    return ok();
}

result<void> run_mark_failed(connection& c, std::int64_t id, const std::string& worker,
                             std::int64_t next_ms, const std::string& last_error)
{
    error err;
    sqlite3_stmt* s = c.prepare(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?1, last_error = ?2, "
        "claimed_by = '', claimed_until = 0 WHERE id = ?3 AND claimed_by = ?4",
        err);
    if (!s) return err;
    bind(s, 1, next_ms);
    bind(s, 2, std::string_view(last_error));
    bind(s, 3, id);
    bind(s, 4, std::string_view(worker));
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "update outbox item");
    if (sqlite3_changes(c.handle()) == 0) return not_held_item(c, id, worker);
    return ok();
}

result<void> run_mark_dead(connection& c, std::int64_t id, const std::string& worker,
                           std::int64_t now_ms, const std::string& last_error)
{
    error err;
    sqlite3_stmt* s = c.prepare(
        "INSERT INTO outbox_dead (id, kind, call_sid, target_url, method, params, headers, "
        "attempts, last_error, idempotency_key, created_at, delivery_token, dead_at) "
        "SELECT id, kind, call_sid, target_url, method, params, headers, attempts + 1, ?1, "
        "idempotency_key, created_at, delivery_token, ?2 FROM outbox "
        "WHERE id = ?3 AND claimed_by = ?4",
        err);
    if (!s) return err;
    bind(s, 1, std::string_view(last_error));
    bind(s, 2, now_ms);
    bind(s, 3, id);
    bind(s, 4, std::string_view(worker));
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "move outbox item to the dead letters");
    if (sqlite3_changes(c.handle()) == 0) return not_held_item(c, id, worker);
    sqlite3_stmt* d = c.prepare("DELETE FROM outbox WHERE id = ?1", err);
    if (!d) return err;
    bind(d, 1, id);
    const int drc = sqlite3_step(d);
    if (drc != SQLITE_DONE) return c.fail(drc, "delete dead outbox item");
    return ok();
}

result<std::size_t> run_release_claims(connection& c, const std::string& worker)
{
    error err;
    sqlite3_stmt* s = c.prepare(
        "UPDATE outbox SET claimed_by = '', claimed_until = 0 WHERE claimed_by = ?1", err);
    if (!s) return err;
    bind(s, 1, std::string_view(worker));
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "release outbox claims");
    return static_cast<std::size_t>(sqlite3_changes(c.handle()));
}

result<outbox_summary> run_summarise_outbox(connection& c, std::int64_t now_ms)
{
    error err;
    sqlite3_stmt* s = c.prepare(
        "SELECT count(*), min(CASE WHEN next_attempt_at <= ?1 THEN next_attempt_at END), "
        "(SELECT count(*) FROM outbox_dead) FROM outbox",
        err);
    if (!s) return err;
    bind(s, 1, now_ms);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return c.fail(rc, "outbox summary");
    outbox_summary summary;
    summary.items = static_cast<std::size_t>(column_int(s, 0));
    if (sqlite3_column_type(s, 1) != SQLITE_NULL) summary.oldest_due_at_ms = column_int(s, 1);
    summary.dead_letters = static_cast<std::size_t>(column_int(s, 2));
    return summary;
}

}  // namespace stirgate::store::sqlite
