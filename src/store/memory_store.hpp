#pragma once
// In-memory store for unit tests of handlers: the same contract as sqlite_store (same errors,
// order, paging tokens, outbox ids and idempotency), without durability. Callbacks run on the
// calling thread before the operation returns, outside the store's lock.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "store/store.hpp"

namespace stirgate::store {

class memory_store final : public store {
public:
    memory_store() = default;

    bool healthy() const noexcept override { return true; }
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
    // Caller holds mutex_. Validates every item before touching the outbox, so a refusal
    // leaves it unchanged (the SQLite savepoint gives the same all-or-nothing result).
    result<std::vector<std::int64_t>> enqueue_locked(std::vector<outbox_item>& items,
                                                     const std::string& default_call_sid);

    // Caller holds mutex_. The limits' checks against the call's stored parent, if any.
    result<void> check_parent_locked(const call_record& call, const insert_limits& limits) const;

    // Caller holds mutex_. Up to `limit` items passing `take`, oldest first.
    template <class Pred>
    std::vector<outbox_item*> oldest_due_locked(std::int64_t now_ms, std::size_t limit, Pred take);

    mutable std::mutex mutex_;
    std::map<std::string, call_record> calls_;    // by sid
    std::map<std::string, conference_record> conferences_;  // by sid
    template <class Change>
    void change_held(std::int64_t id, const std::string& worker, Change change,
                     callback<void> done);

    std::map<std::int64_t, outbox_item> outbox_;  // by id
    std::vector<outbox_item> dead_;  // mark_dead: next_attempt_at_ms holds when it died
    std::int64_t last_id_ = 0;                    // ids are never reused, as SQLite AUTOINCREMENT
    store_stats stats_;
};

}  // namespace stirgate::store
