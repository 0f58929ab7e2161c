// The outbox on PostgreSQL: enqueue with idempotency keys, due items, delivered, failed, depth.

#include <algorithm>
#include <limits>
#include <string>

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
    return item;
}

// An item without a call_sid belongs to `owner` (the call it is enqueued with).
result<std::int64_t> insert_item(connection& c, const outbox_item& item, const std::string& owner)
{
    auto r = c.exec(
        "INSERT INTO outbox (kind, call_sid, target_url, method, params, headers, attempts, "
        "next_attempt_at, last_error, idempotency_key, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
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
            .add(item.created_at_ms));
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
    constexpr auto max_limit = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    auto r = c.exec(
        "SELECT id, kind, call_sid, target_url, method, params, headers, attempts, "
        "next_attempt_at, last_error, idempotency_key, created_at FROM outbox "
        "WHERE next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2",
        params().add(now_ms).add(static_cast<std::int64_t>(std::min(limit, max_limit))));
    if (!r) return std::move(r).err();
    std::vector<outbox_item> items;
    for (int i = 0; i < r->count(); ++i) {
        auto item = read_item(*r, i);
        if (!item) return std::move(item).err();
        items.push_back(std::move(*item));
    }
    return items;
}

result<void> mark_delivered(connection& c, std::int64_t id)
{
    auto r = c.exec("DELETE FROM outbox WHERE id = $1", params().add(id));
    if (!r) return std::move(r).err();
    if (r->affected() == 0) return error{errc::not_found, "outbox item " + std::to_string(id)};
    return ok();
}

result<void> mark_failed(connection& c, std::int64_t id, std::int64_t next_ms,
                         const std::string& last_error)
{
    auto r = c.exec(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 "
        "WHERE id = $3",
        params().add(next_ms).add(last_error).add(id));
    if (!r) return std::move(r).err();
    if (r->affected() == 0) return error{errc::not_found, "outbox item " + std::to_string(id)};
    return ok();
}

result<std::size_t> depth(connection& c)
{
    auto r = c.exec("SELECT count(*) FROM outbox");
    if (!r) return std::move(r).err();
    return static_cast<std::size_t>(r->integer(0, 0));
}

}  // namespace stirgate::store::pg
