// The outbox on PostgreSQL: enqueue with idempotency keys, due items, claims, delivered, failed,
// depth.

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>

#include "store/postgres_ops.hpp"

namespace stirgate::store::pg {
namespace {

// Form fields and headers as one flat text[]: name, value, name, value, ... (order kept).
std::string encode_pairs(const std::vector<name_value>& pairs)
{
    std::vector<std::string> flat;
    flat.reserve(pairs.size() * 2);
    for (const auto& [name, value] : pairs) {
        flat.push_back(name);
        flat.push_back(value);
    }
    return encode_text_array(flat);
}

result<std::vector<name_value>> decode_pairs(const std::string& text)
{
    auto flat = decode_text_array(text);
    if (!flat) return std::move(flat).err();
    if (flat->size() % 2) return error{errc::internal, "bad pair column"};
    std::vector<name_value> out;
    out.reserve(flat->size() / 2);
    for (std::size_t i = 0; i < flat->size(); i += 2)
        out.emplace_back(std::move((*flat)[i]), std::move((*flat)[i + 1]));
    return out;
}

result<outbox_item> read_item(const rows& r, int i)
{
    outbox_item item;
    item.id = r.integer(i, 0);
    auto kind = parse_outbox_kind(r.text(i, 1));
    if (!kind) return error{errc::internal, "bad outbox kind column"};
    item.kind = *kind;
    item.call_sid = r.text(i, 2);
    item.target_url = r.text(i, 3);
    item.method = r.text(i, 4);
    auto form = decode_pairs(r.text(i, 5));
    auto headers = decode_pairs(r.text(i, 6));
    if (!form) return std::move(form).err();
    if (!headers) return std::move(headers).err();
    item.params = std::move(*form);
    item.headers = std::move(*headers);
    item.attempts = static_cast<std::int32_t>(r.integer(i, 7));
    item.next_attempt_at_ms = r.integer(i, 8);
    item.last_error = r.text(i, 9);
    item.idempotency_key = r.text(i, 10);
    item.created_at_ms = r.integer(i, 11);
    item.delivery_token = r.text(i, 12);
    item.claimed_by = r.text(i, 13);
    item.claimed_until_ms = r.integer(i, 14);
    return item;
}

constexpr const char* item_columns =
    "id, kind, call_sid, target_url, method, params, headers, attempts, next_attempt_at, "
    "last_error, idempotency_key, created_at, delivery_token, claimed_by, claimed_until";

result<std::vector<outbox_item>> read_items(const rows& r)
{
    std::vector<outbox_item> items;
    for (int i = 0; i < r.count(); ++i) {
        auto item = read_item(r, i);
        if (!item) return std::move(item).err();
        items.push_back(std::move(*item));
    }
    return items;
}

constexpr auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());

std::int64_t sql_limit(std::size_t limit)
{
    return static_cast<std::int64_t>(std::min(limit, max_limit));
}

// The answer when a holder-only statement changed nothing: not_found or conflict.
error not_held_item(connection& c, std::int64_t id, const std::string& worker)
{
    auto q = c.exec("SELECT 1 FROM outbox WHERE id = $1", params().add(id));
    if (!q) return std::move(q).err();
    return not_held(id, q->count() == 1, worker);
}

// An item without a call_sid belongs to `owner` (the call it is enqueued with).
result<std::int64_t> insert_item(connection& c, const outbox_item& item, const std::string& owner)
{
    auto r = c.exec(
        "INSERT INTO outbox (kind, call_sid, target_url, method, params, headers, attempts, "
        "next_attempt_at, last_error, idempotency_key, created_at, delivery_token, claimed_by, "
        "claimed_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
        "ON CONFLICT (idempotency_key) WHERE idempotency_key <> '' DO NOTHING RETURNING id",
        params()
            .add(to_string(item.kind))
            .add(item.call_sid.empty() ? owner : item.call_sid)
            .add(item.target_url)
            .add(item.method)
            .add(encode_pairs(item.params))
            .add(encode_pairs(item.headers))
            .add(std::int64_t{item.attempts})
            .add(item.next_attempt_at_ms)
            .add(item.last_error)
            .add(item.idempotency_key)
            .add(item.created_at_ms)
            .add(item.delivery_token)
            .add(item.claimed_by)
            .add(item.claimed_until_ms));
    if (!r) return std::move(r).err();
    if (r->count() == 1) return r->integer(0, 0);
    // The key is already queued (ON CONFLICT waited for its transaction): hand back that item.
    auto q = c.exec("SELECT id FROM outbox WHERE idempotency_key = $1 AND idempotency_key <> ''",
                    params().add(item.idempotency_key));
    if (!q) return std::move(q).err();
    if (q->count() != 1) return error{errc::internal, "outbox key vanished"};
    return q->integer(0, 0);
}

}  // namespace

result<std::vector<std::int64_t>> insert_items(connection& c, const std::vector<outbox_item>& items,
                                               const std::string& default_call_sid)
{
    // Refusals (no URL, no call, bad method) come from the table's CHECK constraints, as on
    // SQLite; the job's transaction undoes the items before them and the call with them.
    std::vector<std::int64_t> ids;
    for (const auto& item : items) {
        auto id = insert_item(c, item, default_call_sid);
        if (!id) return std::move(id).err();
        ids.push_back(*id);
    }
    return ids;
}

result<std::vector<outbox_item>> due_items(connection& c, std::int64_t now_ms, std::size_t limit)
{
    static const std::string sql = std::string("SELECT ") + item_columns +
                                   " FROM outbox WHERE next_attempt_at <= $1 "
                                   "ORDER BY next_attempt_at, id LIMIT $2";
    auto r = c.exec(sql.c_str(), params().add(now_ms).add(sql_limit(limit)));
    if (!r) return std::move(r).err();
    return read_items(*r);
}

result<std::vector<outbox_item>> claim_due(connection& c, const outbox_claim& claim)
{
    // The inner SELECT locks the rows it picks and skips rows another claim has locked, so two
    // gateways claiming at once never wait for, nor take, each other's items.
    static const std::string sql =
        std::string("UPDATE outbox SET claimed_by = $1, claimed_until = $2 "
                    "WHERE id IN (SELECT id FROM outbox "
                    "WHERE next_attempt_at <= $3 AND claimed_until <= $3 "
                    "ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING ") +
        item_columns;
    auto r = c.exec(sql.c_str(),
                    params()
                        .add(claim.worker)
                        .add(claim.now_ms + claim.lease_ms)
                        .add(claim.now_ms)
                        .add(sql_limit(claim.limit)));
    if (!r) return std::move(r).err();
    auto items = read_items(*r);
    if (!items) return items;
    // RETURNING follows no ORDER BY: restore the oldest-first order of the claim.
    std::sort(items->begin(), items->end(), [](const outbox_item& a, const outbox_item& b) {
        return std::tie(a.next_attempt_at_ms, a.id) < std::tie(b.next_attempt_at_ms, b.id);
    });
    return items;
}

result<void> mark_delivered(connection& c, std::int64_t id, const std::string& worker)
{
    auto r = c.exec("DELETE FROM outbox WHERE id = $1 AND claimed_by = $2",
                    params().add(id).add(worker));
    if (!r) return std::move(r).err();
    if (r->affected() == 0) return not_held_item(c, id, worker);
    return ok();
}

result<void> mark_failed(connection& c, std::int64_t id, const std::string& worker,
                         std::int64_t next_ms, const std::string& last_error)
{
    auto r = c.exec(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, "
        "claimed_by = '', claimed_until = 0 WHERE id = $3 AND claimed_by = $4",
        params().add(next_ms).add(last_error).add(id).add(worker));
    if (!r) return std::move(r).err();
    if (r->affected() == 0) return not_held_item(c, id, worker);
    return ok();
}

result<void> mark_dead(connection& c, std::int64_t id, const std::string& worker,
                       std::int64_t now_ms, const std::string& last_error)
{
    auto r = c.exec(
        "WITH dead AS (DELETE FROM outbox WHERE id = $3 AND claimed_by = $4 RETURNING *) "
        "INSERT INTO outbox_dead (id, kind, call_sid, target_url, method, params, headers, "
        "attempts, last_error, idempotency_key, created_at, delivery_token, dead_at) "
        "SELECT id, kind, call_sid, target_url, method, params, headers, attempts + 1, $1, "
        "idempotency_key, created_at, delivery_token, $2 FROM dead",
        params().add(last_error).add(now_ms).add(id).add(worker));
    if (!r) return std::move(r).err();
    if (r->affected() == 0) return not_held_item(c, id, worker);
    return ok();
}

result<std::size_t> release_claims(connection& c, const std::string& worker)
{
    auto r = c.exec("UPDATE outbox SET claimed_by = '', claimed_until = 0 WHERE claimed_by = $1",
                    params().add(worker));
    if (!r) return std::move(r).err();
    const auto released = static_cast<std::size_t>(r->affected());
    // Due again now: tell the other gateways, as the insert trigger does for new items.
    if (released > 0)
        if (auto n = c.run("SELECT pg_notify('stirgate_outbox', '')"); !n) return std::move(n).err();
    return released;
}

result<outbox_summary> summarise_outbox(connection& c, std::int64_t now_ms)
{
    auto r = c.exec(
        "SELECT count(*), min(next_attempt_at) FILTER (WHERE next_attempt_at <= $1), "
        "(SELECT count(*) FROM outbox_dead) FROM outbox",
        params().add(now_ms));
    if (!r) return std::move(r).err();
    outbox_summary summary;
    summary.items = static_cast<std::size_t>(r->integer(0, 0));
    summary.oldest_due_at_ms = r->opt_integer(0, 1);
    summary.dead_letters = static_cast<std::size_t>(r->integer(0, 2));
    return summary;
}

}  // namespace stirgate::store::pg
