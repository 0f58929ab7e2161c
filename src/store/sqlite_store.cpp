#include "store/sqlite_store.hpp"

#include <utility>

#include "store/sqlite_ops.hpp"
#include "store/sqlite_writer.hpp"

namespace stirgate::store {

struct sqlite_store::impl {
    explicit impl(std::size_t max_batch) : writer(max_batch) {}
    sqlite::writer writer;
};

sqlite_store::sqlite_store(std::string_view url, sqlite_options options)
    : impl_(std::make_unique<impl>(options.max_batch))
{
    sqlite::open_database(impl_->writer.conn(), url, options);  // throws; closes with impl_
    impl_->writer.start();
}

// Runs every job already queued, then closes (the writer's destructor).
sqlite_store::~sqlite_store() = default;

bool sqlite_store::healthy() const noexcept
{
    return impl_->writer.healthy();
}

store_stats sqlite_store::stats() const
{
    return impl_->writer.stats();
}

void sqlite_store::do_insert_call(call_record call, std::vector<outbox_item> items,
                                  insert_limits limits, callback<std::vector<std::int64_t>> done)
{
    impl_->writer.submit<std::vector<std::int64_t>>(
        true,
        [call = std::move(call), items = std::move(items), limits](sqlite::connection& c) mutable {
            return sqlite::run_insert_call(c, call, items, limits);
        },
        std::move(done));
}

void sqlite_store::do_get_call(std::optional<std::string> account_sid, std::string call_sid,
                               callback<std::optional<call_record>> done)
{
    impl_->writer.submit<std::optional<call_record>>(
        false,
        [account = std::move(account_sid), sid = std::move(call_sid)](sqlite::connection& c) {
            return sqlite::select_call(c, account, sid);
        },
        std::move(done));
}

void sqlite_store::do_update_call_status(std::string call_sid, call_update update,
                                         std::vector<outbox_item> items, callback<call_record> done)
{
    impl_->writer.submit<call_record>(
        true,
        [sid = std::move(call_sid), update = std::move(update), items = std::move(items)](
            sqlite::connection& c) mutable { return sqlite::run_update_call(c, sid, update, items); },
        std::move(done));
}

void sqlite_store::do_delete_call(std::string account_sid, std::string call_sid,
                                  callback<void> done)
{
    impl_->writer.submit<void>(
        true,
        [account = std::move(account_sid), sid = std::move(call_sid)](sqlite::connection& c) {
            return sqlite::run_delete_call(c, account, sid);
        },
        std::move(done));
}

void sqlite_store::do_list_calls(std::string account_sid, call_filter filter, std::size_t page_size,
                                 std::string page_token, callback<call_page> done)
{
    impl_->writer.submit<call_page>(
        false,
        [account = std::move(account_sid), filter = std::move(filter), page_size,
         token = std::move(page_token)](sqlite::connection& c) {
            return sqlite::run_list_calls(c, account, filter, page_size, token);
        },
        std::move(done));
}

void sqlite_store::do_open_conference(conference_record candidate,
                                      callback<conference_record> done)
{
    impl_->writer.submit<conference_record>(
        true,
        [candidate = std::move(candidate)](sqlite::connection& c) {
            return sqlite::run_open_conference(c, candidate);
        },
        std::move(done));
}

void sqlite_store::do_get_conference(std::optional<std::string> account_sid,
                                     std::string conference_sid,
                                     callback<std::optional<conference_record>> done)
{
    impl_->writer.submit<std::optional<conference_record>>(
        false,
        [account = std::move(account_sid), sid = std::move(conference_sid)](sqlite::connection& c) {
            return sqlite::select_conference(c, account, sid);
        },
        std::move(done));
}

void sqlite_store::do_update_conference(std::string conference_sid, conference_update update,
                                        callback<conference_record> done)
{
    impl_->writer.submit<conference_record>(
        true,
        [sid = std::move(conference_sid), update = std::move(update)](sqlite::connection& c) {
            return sqlite::run_update_conference(c, sid, update);
        },
        std::move(done));
}

void sqlite_store::do_list_conferences(std::string account_sid, conference_filter filter,
                                       std::size_t page_size, std::string page_token,
                                       callback<conference_page> done)
{
    impl_->writer.submit<conference_page>(
        false,
        [account = std::move(account_sid), filter = std::move(filter), page_size,
         token = std::move(page_token)](sqlite::connection& c) {
            return sqlite::run_list_conferences(c, account, filter, page_size, token);
        },
        std::move(done));
}

void sqlite_store::do_enqueue(std::vector<outbox_item> items,
                              callback<std::vector<std::int64_t>> done)
{
    impl_->writer.submit<std::vector<std::int64_t>>(
        true,
        [items = std::move(items)](sqlite::connection& c) mutable { return sqlite::insert_items(c, items, {}); },
        std::move(done));
}

void sqlite_store::do_due_items(std::int64_t now_ms, std::size_t limit,
                                callback<std::vector<outbox_item>> done)
{
    impl_->writer.submit<std::vector<outbox_item>>(
        false, [now_ms, limit](sqlite::connection& c) { return sqlite::run_due_items(c, now_ms, limit); },
        std::move(done));
}

void sqlite_store::do_claim_due(outbox_claim claim, callback<std::vector<outbox_item>> done)
{
    impl_->writer.submit<std::vector<outbox_item>>(
        true,
        [claim = std::move(claim)](sqlite::connection& c) { return sqlite::run_claim_due(c, claim); },
        std::move(done));
}

void sqlite_store::do_mark_delivered(std::int64_t id, std::string worker, callback<void> done)
{
    impl_->writer.submit<void>(
        true,
        [id, worker = std::move(worker)](sqlite::connection& c) {
            return sqlite::run_mark_delivered(c, id, worker);
        },
        std::move(done));
}

void sqlite_store::do_mark_failed(std::int64_t id, std::string worker,
                                  std::int64_t next_attempt_at_ms, std::string last_error,
                                  callback<void> done)
{
    impl_->writer.submit<void>(
        true,
        [id, worker = std::move(worker), next_attempt_at_ms,
         e = std::move(last_error)](sqlite::connection& c) {
            return sqlite::run_mark_failed(c, id, worker, next_attempt_at_ms, e);
        },
        std::move(done));
}

void sqlite_store::do_mark_dead(std::int64_t id, std::string worker, std::int64_t now_ms,
                                std::string last_error, callback<void> done)
{
    impl_->writer.submit<void>(
        true,
        [id, worker = std::move(worker), now_ms, last_error = std::move(last_error)](
            sqlite::connection& c) { return sqlite::run_mark_dead(c, id, worker, now_ms, last_error); },
        std::move(done));
}

void sqlite_store::do_release_claims(std::string worker, callback<std::size_t> done)
{
    impl_->writer.submit<std::size_t>(
        true,
        [worker = std::move(worker)](sqlite::connection& c) {
            return sqlite::run_release_claims(c, worker);
        },
        std::move(done));
}

void sqlite_store::do_summarise_outbox(std::int64_t now_ms, callback<outbox_summary> done)
{
    impl_->writer.submit<outbox_summary>(
        false, [now_ms](sqlite::connection& c) { return sqlite::run_summarise_outbox(c, now_ms); },
        std::move(done));
}

}  // namespace stirgate::store
