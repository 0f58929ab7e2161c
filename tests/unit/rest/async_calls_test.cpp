// The awaitable store facade against the SQLite store, whose callbacks run on its writer
// thread: each co_await must resume on the handler's own io_context thread with the store's
// answer, errors included.

#include "rest/async_calls.hpp"

#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "unit/store/store_behaviour.hpp"

namespace {

namespace asio = boost::asio;
using stirgate::errc;
using stirgate::rest::async_calls;
using namespace stirgate::store;

struct observed {
    bool inserted = false;
    std::size_t outbox_ids = 0;
    errc duplicate = errc{};
    bool found = false;
    bool other_account_sees_it = true;
    call_status status_after = call_status::queued;
    errc unknown_update = errc{};
    std::size_t listed = 0;
    errc bad_token = errc{};
    bool resumed_on_io_thread = true;
};

asio::awaitable<void> exercise(const async_calls& calls, observed& out, std::thread::id io_thread)
{
    const auto on_io = [&] {
        if (std::this_thread::get_id() != io_thread) out.resumed_on_io_thread = false;
    };
    // Every argument is a named local: g++ 12 miscompiles temporaries in co_await (STYLE.md 3).
    const call_record call = stirgate::test::make_call(1);
    std::vector<outbox_item> owed{stirgate::test::make_item(call.sid, 0, "first")};
    auto ids = co_await calls.insert_with_outbox(call, std::move(owed));
    on_io();
    out.inserted = ids.has_value();
    if (ids) out.outbox_ids = ids->size();

    auto again = co_await calls.insert(call);
    on_io();
    if (!again) out.duplicate = again.code();

    auto found = co_await calls.find(call.sid);
    on_io();
    out.found = found && *found && (*found)->sid == call.sid;

    const std::string other_account = stirgate::test::account_b;
    auto foreign = co_await calls.get(other_account, call.sid);
    on_io();
    out.other_account_sees_it = !foreign || foreign->has_value();

    const call_update ringing = stirgate::test::status_update(call_status::ringing, 1767225700);
    auto updated = co_await calls.update_status(call.sid, ringing);
    on_io();
    if (updated) out.status_after = updated->status;

    const std::string unknown_sid = stirgate::test::make_sid("CA", 99);
    auto unknown = co_await calls.update_status(unknown_sid, ringing);
    on_io();
    if (!unknown) out.unknown_update = unknown.code();

    const std::string own_account = stirgate::test::account_a;
    const call_filter everything;
    const std::string first_page;
    auto page = co_await calls.list(own_account, everything, 10, first_page);
    on_io();
    if (page) out.listed = page->calls.size();

    const std::string not_a_token = "not-a-token";
    auto bad = co_await calls.list(own_account, everything, 10, not_a_token);
    on_io();
    if (!bad) out.bad_token = bad.code();
}

}  // namespace

TEST_CASE("the awaitable store facade returns each store answer on the awaiting thread", "[api]")
{
    auto store = open_store("sqlite://:memory:");
    const async_calls calls{*store};
    observed out;
    asio::io_context io;
    std::exception_ptr failure;
    asio::co_spawn(io, exercise(calls, out, std::this_thread::get_id()),
                   [&](std::exception_ptr e) { failure = e; });
    io.run();
    REQUIRE_FALSE(failure);
    CHECK(out.inserted);
    CHECK(out.outbox_ids == 1);
    CHECK(out.duplicate == errc::conflict);
    CHECK(out.found);
    CHECK_FALSE(out.other_account_sees_it);
    CHECK(out.status_after == call_status::ringing);
    CHECK(out.unknown_update == errc::not_found);
    CHECK(out.listed == 1);
    CHECK(out.bad_token == errc::invalid_parameter);
    CHECK(out.resumed_on_io_thread);
    const auto depth = store->depth();
    REQUIRE(depth);
    CHECK(*depth == 1);
}
