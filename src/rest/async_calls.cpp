#include "rest/async_calls.hpp"

#include <utility>

#include "net/await_callback.hpp"

namespace stirgate::rest {

template <class T>
using done_fn = store::store::callback<T>;

net::awaitable<result<std::optional<store::call_record>>> async_calls::find(
    std::string call_sid) const
{
    auto start = [calls = calls_, sid = std::move(call_sid)](
                     done_fn<std::optional<store::call_record>> done) mutable {
        calls->find_call(std::move(sid), std::move(done));
    };
    co_return co_await net::await_callback<std::optional<store::call_record>>(std::move(start));
}

net::awaitable<result<std::optional<store::call_record>>> async_calls::get(
    std::string account_sid, std::string call_sid) const
{
    auto start = [calls = calls_, account = std::move(account_sid), sid = std::move(call_sid)](
                     done_fn<std::optional<store::call_record>> done) mutable {
        calls->get_call(std::move(account), std::move(sid), std::move(done));
    };
    co_return co_await net::await_callback<std::optional<store::call_record>>(std::move(start));
}

net::awaitable<result<void>> async_calls::insert(store::call_record call) const
{
    auto start = [calls = calls_, record = std::move(call)](done_fn<void> done) mutable {
        calls->insert_call(std::move(record), std::move(done));
    };
    co_return co_await net::await_callback<void>(std::move(start));
}

net::awaitable<result<std::vector<std::int64_t>>> async_calls::insert_with_outbox(
    store::call_record call, std::vector<store::outbox_item> items,
    store::insert_limits limits) const
{
    auto start = [calls = calls_, record = std::move(call), owed = std::move(items),
                  limits](done_fn<std::vector<std::int64_t>> done) mutable {
        calls->insert_call_with_outbox(std::move(record), std::move(owed), limits,
                                       std::move(done));
    };
    co_return co_await net::await_callback<std::vector<std::int64_t>>(std::move(start));
}

net::awaitable<result<store::call_record>> async_calls::update_status(
    std::string call_sid, store::call_update update, std::vector<store::outbox_item> items) const
{
    auto start = [calls = calls_, sid = std::move(call_sid), change = std::move(update),
                  owed = std::move(items)](done_fn<store::call_record> done) mutable {
        calls->update_call_status_with_outbox(std::move(sid), std::move(change), std::move(owed),
                                              std::move(done));
    };
    co_return co_await net::await_callback<store::call_record>(std::move(start));
}

net::awaitable<result<void>> async_calls::remove(std::string account_sid,
                                                 std::string call_sid) const
{
    auto start = [calls = calls_, account = std::move(account_sid),
                  sid = std::move(call_sid)](done_fn<void> done) mutable {
        calls->delete_call(std::move(account), std::move(sid), std::move(done));
    };
    co_return co_await net::await_callback<void>(std::move(start));
}

net::awaitable<result<store::call_page>> async_calls::list(std::string account_sid,
                                                           store::call_filter filter,
                                                           std::size_t page_size,
                                                           std::string page_token) const
{
    auto start = [calls = calls_, account = std::move(account_sid), f = std::move(filter),
                  page_size,
                  token = std::move(page_token)](done_fn<store::call_page> done) mutable {
        calls->list_calls(std::move(account), std::move(f), page_size, std::move(token),
                          std::move(done));
    };
    co_return co_await net::await_callback<store::call_page>(std::move(start));
}

net::awaitable<result<store::conference_record>> async_calls::open_conference(
    std::string account_sid, std::string friendly_name, std::int64_t now,
    core::random_fn random) const
{
    store::conference_record candidate;
    candidate.account_sid = std::move(account_sid);
    candidate.friendly_name = std::move(friendly_name);
    candidate.date_created = now;
    candidate.date_updated = now;
    result<store::conference_record> opened = error{errc::internal, "not opened"};
    for (int attempt = 0; attempt < 3; ++attempt) {
        candidate.sid = core::new_sid("CF", random);
        auto start = [calls = calls_, record = candidate](
                         done_fn<store::conference_record> done) mutable {
            calls->open_conference(std::move(record), std::move(done));
        };
        opened = co_await net::await_callback<store::conference_record>(std::move(start));
        if (opened || opened.code() != errc::conflict) break;
    }
    co_return opened;
}

net::awaitable<result<std::optional<store::conference_record>>> async_calls::get_conference(
    std::optional<std::string> account_sid, std::string conference_sid) const
{
    auto start = [calls = calls_, account = std::move(account_sid), sid = std::move(conference_sid)](
                     done_fn<std::optional<store::conference_record>> done) mutable {
        calls->get_conference(std::move(account), std::move(sid), std::move(done));
    };
    co_return co_await net::await_callback<std::optional<store::conference_record>>(
        std::move(start));
}

net::awaitable<result<store::conference_record>> async_calls::update_conference(
    std::string conference_sid, store::conference_update update) const
{
    auto start = [calls = calls_, sid = std::move(conference_sid), change = std::move(update)](
                     done_fn<store::conference_record> done) mutable {
        calls->update_conference(std::move(sid), std::move(change), std::move(done));
    };
    co_return co_await net::await_callback<store::conference_record>(std::move(start));
}

net::awaitable<result<store::conference_page>> async_calls::list_conferences(
    std::string account_sid, store::conference_filter filter, std::size_t page_size,
    std::string page_token) const
{
    auto start = [calls = calls_, account = std::move(account_sid), f = std::move(filter),
                  page_size,
                  token = std::move(page_token)](done_fn<store::conference_page> done) mutable {
        calls->list_conferences(std::move(account), std::move(f), page_size, std::move(token),
                                std::move(done));
    };
    co_return co_await net::await_callback<store::conference_page>(std::move(start));
}

}  // namespace stirgate::rest
