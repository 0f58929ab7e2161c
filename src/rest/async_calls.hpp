#pragma once
// The calls store as awaitables, written once for every handler (Calls API, webhooks):
// `co_await calls.find(sid)` returns result<T>. Each operation is a coroutine that owns its
// arguments and hands the store a named start function, never a lambda built inside the
// co_await expression (STYLE.md section 3: g++ 12 miscompiles those).
//
// A handle: it holds a reference to the store, which outlives every request. Keep the handle
// in a named local of the coroutine that awaits it.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sid.hpp"
#include "net/router.hpp"
#include "store/store.hpp"

namespace stirgate::rest {

class async_calls {
public:
    explicit async_calls(store::store& calls) noexcept : calls_(&calls) {}

    net::awaitable<result<std::optional<store::call_record>>> find(std::string call_sid) const;
    net::awaitable<result<std::optional<store::call_record>>> get(std::string account_sid,
                                                                  std::string call_sid) const;
    net::awaitable<result<void>> insert(store::call_record call) const;
    net::awaitable<result<std::vector<std::int64_t>>> insert_with_outbox(
        store::call_record call, std::vector<store::outbox_item> items,
        store::insert_limits limits = {}) const;
    net::awaitable<result<store::call_record>> update_status(
        std::string call_sid, store::call_update update,
        std::vector<store::outbox_item> items = {}) const;
    net::awaitable<result<void>> remove(std::string account_sid, std::string call_sid) const;
    net::awaitable<result<store::call_page>> list(std::string account_sid,
                                                  store::call_filter filter, std::size_t page_size,
                                                  std::string page_token) const;

    // Conferences (store::store's operations of the same names). open_conference gives the
    // account's live conference named `friendly_name` or a new one (status init, created `now`,
    // a CF sid from `random`); a conflict (a sid collision, or the live one ending between
    // PostgreSQL's two statements) is tried again with a fresh sid, up to three times.
    net::awaitable<result<store::conference_record>> open_conference(
        std::string account_sid, std::string friendly_name, std::int64_t now,
        core::random_fn random) const;
    net::awaitable<result<std::optional<store::conference_record>>> get_conference(
        std::optional<std::string> account_sid, std::string conference_sid) const;
    net::awaitable<result<store::conference_record>> update_conference(
        std::string conference_sid, store::conference_update update) const;
    net::awaitable<result<store::conference_page>> list_conferences(
        std::string account_sid, store::conference_filter filter, std::size_t page_size,
        std::string page_token) const;

private:
    store::store* calls_;
};

}  // namespace stirgate::rest
