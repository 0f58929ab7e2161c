#include "store/memory_store.hpp"

#include <algorithm>
#include <tuple>

namespace stirgate::store {
namespace {

// Newest first: date_created DESC, sid DESC (the order of sqlite_store's list query).
template <class Row>
bool newer(const Row& a, const Row& b)
{
    return std::tie(a.date_created, a.sid) > std::tie(b.date_created, b.sid);
}

bool matches(const call_record& c, const call_filter& f)
{
    if (f.to && c.to != *f.to) return false;
    if (f.from && c.from != *f.from) return false;
    if (f.status && c.status != *f.status) return false;
    if (f.parent_call_sid && c.parent_call_sid != f.parent_call_sid) return false;
    if (f.conference_sid && (!c.participant || c.participant->conference_sid != *f.conference_sid))
        return false;
    if (f.live_only && is_terminal(c.status)) return false;
    return true;
}

bool matches(const conference_record& c, const conference_filter& f)
{
    if (f.friendly_name && c.friendly_name != *f.friendly_name) return false;
    if (f.status && c.status != *f.status) return false;
    return true;
}

// One keyset page of `rows` (a map by sid) for the account: the list_calls and
// list_conferences of this store, as the SQL engines read them.
template <class Row, class Filter, class Page>
result<Page> page_of(const std::map<std::string, Row>& rows, const std::string& account_sid,
                     const Filter& filter, std::size_t page_size, const std::string& page_token,
                     std::string_view prefix, std::string_view table)
{
    auto request = read_page_request(page_size, page_token, prefix);
    if (!request) return std::move(request).err();
    const std::optional<page_cursor>& direction = *request;
    const Row* cursor = nullptr;
    if (direction) {
        const auto it = rows.find(direction->sid);
        if (it == rows.end() || it->second.account_sid != account_sid)
            return foreign_page_token(table);
        cursor = &it->second;
    }
    // Before a PB cursor: the newer rows nearest to it, oldest first.
    const bool before = direction && direction->before;
    std::vector<const Row*> hits;
    for (const auto& [sid, row] : rows) {
        if (row.account_sid != account_sid || !matches(row, filter)) continue;
        if (cursor && !(before ? newer(row, *cursor) : newer(*cursor, row))) continue;
        hits.push_back(&row);
    }
    std::sort(hits.begin(), hits.end(), [before](const Row* a, const Row* b) {
        return before ? newer(*b, *a) : newer(*a, *b);
    });
    std::vector<Row> out;
    for (std::size_t i = 0; i < hits.size() && i <= page_size; ++i) out.push_back(*hits[i]);
    return finish_page(std::move(out), page_size, direction);
}

}  // namespace

store_stats memory_store::stats() const
{
    const std::lock_guard lock(mutex_);
    return stats_;
}

result<std::vector<std::int64_t>> memory_store::enqueue_locked(std::vector<outbox_item>& items,
                                                               const std::string& default_call_sid)
{
    for (auto& item : items) {
        if (item.call_sid.empty()) item.call_sid = default_call_sid;
        if (auto v = validate(item); !v) return std::move(v).err();
    }
    std::vector<std::int64_t> ids;
    ids.reserve(items.size());
    for (auto& item : items) {
        if (!item.idempotency_key.empty()) {
            const auto same = std::find_if(outbox_.begin(), outbox_.end(), [&](const auto& kv) {
                return kv.second.idempotency_key == item.idempotency_key;
            });
            if (same != outbox_.end()) {
                ids.push_back(same->first);
                continue;
            }
        }
        item.id = ++last_id_;
        ids.push_back(item.id);
        outbox_.emplace(item.id, std::move(item));
    }
    return ids;
}

result<void> memory_store::check_parent_locked(const call_record& call,
                                               const insert_limits& limits) const
{
    if (!parent_checks_apply(call, limits)) return {};
    const auto parent = calls_.find(*call.parent_call_sid);
    if (parent == calls_.end()) return {};
    return check_stored_parent(call, limits, parent->second, [&]() -> result<std::size_t> {
        std::size_t children = 0;
        for (const auto& [sid, c] : calls_)
            if (c.parent_call_sid == call.parent_call_sid) ++children;
        return children;
    });
}

void memory_store::do_insert_call(call_record call, std::vector<outbox_item> items,
                                  insert_limits limits, callback<std::vector<std::int64_t>> done)
{
    result<std::vector<std::int64_t>> r;
    {
        const std::lock_guard lock(mutex_);
        if (auto v = validate(call); !v) {
            r = std::move(v).err();
        } else if (calls_.count(call.sid) != 0) {
            r = error{errc::conflict, "call " + call.sid + " exists"};
        } else if (auto ok = check_parent_locked(call, limits); !ok) {
            r = std::move(ok).err();
        } else {
            r = enqueue_locked(items, call.sid);
            if (r) calls_.emplace(call.sid, std::move(call));
        }
        ++stats_.transactions_committed;
        ++stats_.jobs_completed;
    }
    done(std::move(r));
}

void memory_store::do_get_call(std::optional<std::string> account_sid, std::string call_sid,
                               callback<std::optional<call_record>> done)
{
    std::optional<call_record> found;
    {
        const std::lock_guard lock(mutex_);
        const auto it = calls_.find(call_sid);
        if (it != calls_.end() && (!account_sid || it->second.account_sid == *account_sid))
            found = it->second;
        ++stats_.jobs_completed;
    }
    done(std::move(found));
}

void memory_store::do_update_call_status(std::string call_sid, call_update update,
                                         std::vector<outbox_item> items, callback<call_record> done)
{
    result<call_record> r;
    {
        const std::lock_guard lock(mutex_);
        const auto it = calls_.find(call_sid);
        if (it == calls_.end()) {
            r = error{errc::not_found, "call " + call_sid};
        } else if (auto v = validate(update); !v) {
            r = std::move(v).err();
        } else if (!update.only_from.empty() &&
                   std::find(update.only_from.begin(), update.only_from.end(), it->second.status) ==
                       update.only_from.end()) {
            r = error{errc::conflict,
                      "call " + call_sid + " is " + std::string(to_string(it->second.status))};
        } else if (auto ids = enqueue_locked(items, call_sid); !ids) {
            r = std::move(ids).err();
        } else {
            apply(it->second, update);
            r = it->second;
        }
        ++stats_.transactions_committed;
        ++stats_.jobs_completed;
    }
    done(std::move(r));
}

void memory_store::do_delete_call(std::string account_sid, std::string call_sid,
                                  callback<void> done)
{
    result<void> r;
    {
        const std::lock_guard lock(mutex_);
        const auto it = calls_.find(call_sid);
        if (it == calls_.end() || it->second.account_sid != account_sid)
            r = error{errc::not_found, "call " + call_sid};
        else if (auto refused = delete_refusal(call_sid, it->second.status))
            r = std::move(*refused);
        else
            calls_.erase(it);
        ++stats_.transactions_committed;
        ++stats_.jobs_completed;
    }
    done(std::move(r));
}

void memory_store::do_list_calls(std::string account_sid, call_filter filter, std::size_t page_size,
                                 std::string page_token, callback<call_page> done)
{
    result<call_page> r;
    {
        const std::lock_guard lock(mutex_);
        ++stats_.jobs_completed;
        r = page_of<call_record, call_filter, call_page>(calls_, account_sid, filter, page_size,
                                                         page_token, "CA", "calls");
    }
    done(std::move(r));
}

void memory_store::do_open_conference(conference_record candidate,
                                      callback<conference_record> done)
{
    result<conference_record> r;
    {
        const std::lock_guard lock(mutex_);
        ++stats_.jobs_completed;
        const auto live = std::find_if(conferences_.begin(), conferences_.end(), [&](const auto& kv) {
            const conference_record& c = kv.second;
            return c.account_sid == candidate.account_sid &&
                   c.friendly_name == candidate.friendly_name &&
                   c.status != conference_status::completed;
        });
        if (live != conferences_.end()) {
            r = live->second;
        } else if (conferences_.count(candidate.sid) != 0) {
            r = error{errc::conflict, "conference " + candidate.sid + " exists"};
        } else {
            ++stats_.transactions_committed;
            r = candidate;
            conferences_.emplace(candidate.sid, std::move(candidate));
        }
    }
    done(std::move(r));
}

void memory_store::do_get_conference(std::optional<std::string> account_sid,
                                     std::string conference_sid,
                                     callback<std::optional<conference_record>> done)
{
    std::optional<conference_record> found;
    {
        const std::lock_guard lock(mutex_);
        ++stats_.jobs_completed;
        const auto it = conferences_.find(conference_sid);
        if (it != conferences_.end() && (!account_sid || it->second.account_sid == *account_sid))
            found = it->second;
    }
    done(std::move(found));
}

void memory_store::do_update_conference(std::string conference_sid, conference_update update,
                                        callback<conference_record> done)
{
    result<conference_record> r;
    {
        const std::lock_guard lock(mutex_);
        ++stats_.jobs_completed;
        const auto it = conferences_.find(conference_sid);
        if (it == conferences_.end()) {
            r = error{errc::not_found, "conference " + conference_sid};
        } else {
            ++stats_.transactions_committed;
            it->second = apply(it->second, update);
            r = it->second;
        }
    }
    done(std::move(r));
}

void memory_store::do_list_conferences(std::string account_sid, conference_filter filter,
                                       std::size_t page_size, std::string page_token,
                                       callback<conference_page> done)
{
    result<conference_page> r;
    {
        const std::lock_guard lock(mutex_);
        ++stats_.jobs_completed;
        r = page_of<conference_record, conference_filter, conference_page>(
            conferences_, account_sid, filter, page_size, page_token, "CF", "conferences");
    }
    done(std::move(r));
}

void memory_store::do_enqueue(std::vector<outbox_item> items,
                              callback<std::vector<std::int64_t>> done)
{
    result<std::vector<std::int64_t>> r;
    {
        const std::lock_guard lock(mutex_);
        r = enqueue_locked(items, {});
        ++stats_.transactions_committed;
        ++stats_.jobs_completed;
    }
    done(std::move(r));
}

template <class Pred>
std::vector<outbox_item*> memory_store::oldest_due_locked(std::int64_t now_ms, std::size_t limit,
                                                          Pred take)
{
    std::vector<outbox_item*> due;
    for (auto& [id, item] : outbox_)
        if (item.next_attempt_at_ms <= now_ms && take(item)) due.push_back(&item);
    std::sort(due.begin(), due.end(), [](const outbox_item* a, const outbox_item* b) {
        return std::tie(a->next_attempt_at_ms, a->id) < std::tie(b->next_attempt_at_ms, b->id);
    });
    if (due.size() > limit) due.resize(limit);
    return due;
}

void memory_store::do_due_items(std::int64_t now_ms, std::size_t limit,
                                callback<std::vector<outbox_item>> done)
{
    std::vector<outbox_item> due;
    {
        const std::lock_guard lock(mutex_);
        ++stats_.jobs_completed;
        for (const auto* item : oldest_due_locked(now_ms, limit, [](const outbox_item&) {
                 return true;
             }))
            due.push_back(*item);
    }
    done(std::move(due));
}

void memory_store::do_claim_due(outbox_claim claim, callback<std::vector<outbox_item>> done)
{
    std::vector<outbox_item> claimed;
    {
        const std::lock_guard lock(mutex_);
        const auto free = [now = claim.now_ms](const outbox_item& item) {
            return item.claimed_until_ms <= now;
        };
        for (auto* item : oldest_due_locked(claim.now_ms, claim.limit, free)) {
            item->claimed_by = claim.worker;
            item->claimed_until_ms = claim.now_ms + claim.lease_ms;
            claimed.push_back(*item);
        }
        ++stats_.transactions_committed;
        ++stats_.jobs_completed;
    }
    done(std::move(claimed));
}

// What mark_delivered, mark_failed and mark_dead share: the item must be `worker`'s; `change`
// gets it (under the mutex) and may erase it.
template <class Change>
void memory_store::change_held(std::int64_t id, const std::string& worker, Change change,
                               callback<void> done)
{
    result<void> r;
    {
        const std::lock_guard lock(mutex_);
        const auto it = outbox_.find(id);
        if (it == outbox_.end() || it->second.claimed_by != worker)
            r = not_held(id, it != outbox_.end(), worker);
        else
            change(it);
        ++stats_.transactions_committed;
        ++stats_.jobs_completed;
    }
    done(std::move(r));
}

void memory_store::do_mark_delivered(std::int64_t id, std::string worker, callback<void> done)
{
    change_held(id, worker, [this](auto it) { outbox_.erase(it); }, std::move(done));
}

void memory_store::do_mark_failed(std::int64_t id, std::string worker,
                                  std::int64_t next_attempt_at_ms, std::string last_error,
                                  callback<void> done)
{
    change_held(
        id, worker,
        [&](auto it) {
            ++it->second.attempts;
            it->second.next_attempt_at_ms = next_attempt_at_ms;
            it->second.last_error = std::move(last_error);
            it->second.claimed_by.clear();
            it->second.claimed_until_ms = 0;
        },
        std::move(done));
}

void memory_store::do_mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                                std::string last_error, callback<void> done)
{
    change_held(
        id, worker,
        [&](auto it) {
            outbox_item dead = std::move(it->second);
            outbox_.erase(it);
            ++dead.attempts;
            dead.last_error = std::move(last_error);
            dead.claimed_by.clear();
            dead.claimed_until_ms = 0;
            dead.next_attempt_at_ms = now_ms;  // here: when it died
            dead_.push_back(std::move(dead));
        },
        std::move(done));
}

void memory_store::do_release_claims(std::string worker, callback<std::size_t> done)
{
    std::size_t released = 0;
    {
        const std::lock_guard lock(mutex_);
        for (auto& [id, item] : outbox_) {
            if (item.claimed_by != worker) continue;
            item.claimed_by.clear();
            item.claimed_until_ms = 0;
            ++released;
        }
        ++stats_.transactions_committed;
        ++stats_.jobs_completed;
    }
    done(released);
}

void memory_store::do_summarise_outbox(std::int64_t now_ms, callback<outbox_summary> done)
{
    outbox_summary summary;
    {
        const std::lock_guard lock(mutex_);
        ++stats_.jobs_completed;
        summary.items = outbox_.size();
        summary.dead_letters = dead_.size();
        for (const auto& [id, item] : outbox_) {
            if (item.next_attempt_at_ms > now_ms) continue;
            if (!summary.oldest_due_at_ms || item.next_attempt_at_ms < *summary.oldest_due_at_ms)
                summary.oldest_due_at_ms = item.next_attempt_at_ms;
        }
    }
    done(summary);
}

}  // namespace stirgate::store
