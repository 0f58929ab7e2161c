#pragma once
// What the outbox worker's tests share: a scripted http_client, sample items, a memory-store
// fixture with an injected clock, and pump() to run an io_context without waiting for timers.

#include "net/net.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include "net/http_client.hpp"
#include "store/memory_store.hpp"
#include "webhooks/outbox.hpp"

namespace stirgate::test::outbox_fixture {

namespace asio = boost::asio;
namespace beast = boost::beast;
using namespace std::chrono_literals;
using stirgate::result;
using stirgate::net::http_reply;
using stirgate::net::http_request_spec;
using stirgate::store::outbox_item;
using stirgate::store::outbox_kind;
using stirgate::webhooks::outbox_dependencies;
using stirgate::webhooks::outbox_options;

inline constexpr const char* edge_token = "edge-shared-secret";
inline constexpr const char* account_sid = "AC0123456789abcdef0123456789abcdef";
inline constexpr const char* account_token = "0123456789abcdef0123456789abcdef";
inline constexpr const char* call_sid = "CA0123456789abcdef0123456789abcdef";
inline constexpr const char* dial_url = "http://127.0.0.1:5070/dial";
inline constexpr const char* shaken_identity =
    "eyJhbGciOiJFUzI1NiJ9.shaken.sig;info=<https://c.test/a.pem>";
inline constexpr const char* div_identity = "eyJhbGciOiJFUzI1NiJ9.div.sig;info=<https://c.test/b.pem>";

// The recording HTTP client of STYLE.md section 4: canned replies in order (200 once they run
// out); while `gated`, each request waits until the test releases it.
class scripted_client final : public stirgate::net::http_client {
public:
    std::vector<http_request_spec> requests;
    std::deque<result<http_reply>> replies;
    bool gated = false;
    std::size_t active = 0;
    std::size_t max_active = 0;

    asio::awaitable<result<http_reply>> request(http_request_spec spec) override
    {
        requests.push_back(std::move(spec));
        ++active;
        max_active = std::max(max_active, active);
        if (gated) {
            asio::steady_timer gate(co_await asio::this_coro::executor,
                                    asio::steady_timer::time_point::max());
            gates_.push_back(&gate);
            boost::system::error_code ec;
            co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        --active;
        if (replies.empty()) co_return http_reply{200, {}, {}};
        auto r = std::move(replies.front());
        replies.pop_front();
        co_return r;
    }

    // Lets every request waiting now go on (later ones wait again while gated).
    void release_waiting()
    {
        auto gates = std::move(gates_);
        gates_.clear();
        for (auto* g : gates) g->cancel();
    }

private:
    std::vector<asio::steady_timer*> gates_;
};

inline std::optional<std::string> header(const http_request_spec& spec, std::string_view name)
{
    std::optional<std::string> found;
    for (const auto& [n, v] : spec.headers)
        if (beast::iequals(n, name)) {
            REQUIRE_FALSE(found);  // each header once
            found = v;
        }
    return found;
}

inline outbox_item dial_item(std::string target = dial_url)
{
    outbox_item item;
    item.kind = outbox_kind::edge_dial;
    item.call_sid = call_sid;
    item.target_url = std::move(target);
    item.params = {{"CallSid", call_sid},         {"AccountSid", account_sid},
                   {"From", "+14155550101"},      {"To", "+13105550100"},
                   {"Identity", shaken_identity}, {"Identity", div_identity}};
    return item;
}

inline outbox_item status_item(std::string key = {})
{
    outbox_item item;
    item.kind = outbox_kind::status_callback;
    item.call_sid = call_sid;
    item.target_url = "https://app.example.com/status?tenant=acme";
    item.params = {{"CallSid", call_sid},
                   {"AccountSid", account_sid},
                   {"CallStatus", "completed"},
                   {"StirStatus", "A"}};
    item.idempotency_key = std::move(key);
    return item;
}

// Runs every handler that is ready, including those that become ready meanwhile; timers that
// are not due (the poll interval) do not fire.
inline void pump(asio::io_context& io)
{
    io.restart();
    io.poll();
}

struct fixture {
    asio::io_context io;
    stirgate::store::memory_store st;
    scripted_client client;
    std::int64_t now = 1'700'000'000'000;
    double unit = 0.5;

    outbox_options options()
    {
        outbox_options o;
        o.poll_interval = 1h;  // nothing here waits for it: start() and notify() drive the loop
        o.edge_auth_token = edge_token;
        return o;
    }

    outbox_dependencies deps()
    {
        outbox_dependencies d;
        d.now_ms = [this] { return now; };
        d.random_unit = [this] { return unit; };
        d.account_auth_token = [](std::string_view sid) -> std::optional<std::string> {
            if (sid == account_sid) return std::string(account_token);
            return std::nullopt;
        };
        return d;
    }

    std::int64_t enqueue(outbox_item item)
    {
        auto ids = st.enqueue({std::move(item)});
        REQUIRE(ids);
        return ids->front();
    }

    std::vector<outbox_item> pending()
    {
        auto items = st.due_items(std::numeric_limits<std::int64_t>::max(), 100);
        REQUIRE(items);
        return *items;
    }

    // The random delivery token the store gave item `id` (asked before it is delivered).
    std::string token_of(std::int64_t id)
    {
        for (const auto& item : pending())
            if (item.id == id) return item.delivery_token;
        FAIL("no outbox item " << id);
        return {};
    }
};

// Runs the io_context in short slices until `done` holds (real sockets, the store's writer thread
// and stop_timeout complete on their own time); false after `limit`.
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = 15s)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        io.restart();
        io.run_for(5ms);
    }
    return true;
}

}  // namespace stirgate::test::outbox_fixture
