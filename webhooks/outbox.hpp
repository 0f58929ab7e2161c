#pragma once
// The durable outbox worker: delivers the HTTP requests the gateway owes (edge_dial hand-offs to
// the SIP edge, later applications' StatusCallbacks) from the store's outbox, and deletes an item
// only after a 2xx acknowledged it (DESIGN.md "State and scale", "Edge interface").
//
// Delivery is at least once: a crash or a store failure between the 2xx and mark_delivered sends
// the item again, so every request carries an I-Twilio-Idempotency-Token that is the same on
// every attempt of one item, as Twilio's own webhooks do.
//
// Several gateways may share one store: the worker leases the items it sends
// (store::claim_due), so while a lease runs no other worker sends them; the items of a worker
// that died are due again when its lease expires, or at once when it restarts under the same
// worker name.
//
// Threads: everything runs on a strand of the executor given at construction; start(), notify(),
// stop() and stats() may be called from any thread. The store, the http_client and the logger
// must outlive the executor's io_context::run() (built in main, STYLE.md section 3). Coroutines
// still running after stop()'s bound share ownership of the worker's state, so destroying the
// worker object early is safe.

#include "net/net.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_client.hpp"
#include "store/store.hpp"

namespace stirgate::obs {
class logger;
}

namespace stirgate::webhooks {

// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
// Jitter", 2015): the n-th consecutive failure waits a uniform random time in
// [0, min(cap, base * factor^(n-1))]. Full jitter spreads the retries of many items that failed
// together (the edge was down) instead of sending them back in lockstep.
struct backoff_policy {
    std::chrono::milliseconds base{1000};
    double factor = 2.0;
    std::chrono::milliseconds cap{std::chrono::minutes(5)};
};

// The upper bound of the wait after failure number `failures` (1 = the first failure).
std::chrono::milliseconds backoff_ceiling(const backoff_policy& policy,
                                          std::int32_t failures) noexcept;
// The wait itself: floor(unit * ceiling); `unit` is a uniform random value in [0, 1) (clamped).
std::chrono::milliseconds backoff_delay(const backoff_policy& policy, std::int32_t failures,
                                        double unit) noexcept;

// The I-Twilio-Idempotency-Token value of an item: its idempotency_key when set, otherwise the
// random delivery_token the store gave it (so every attempt carries the same value).
std::string idempotency_token(const store::outbox_item& item);

struct outbox_options {
    // How often the store is asked for due items when nothing woke the worker earlier.
    std::chrono::milliseconds poll_interval{500};
    // Deliveries in flight at once, so one slow edge request does not stall the rest.
    std::size_t max_concurrent = 8;
    backoff_policy backoff;
    // stop(): how long in-flight deliveries may still run. Each is already bounded by the
    // http_client's own timeout; this bounds the total.
    std::chrono::milliseconds stop_timeout{10000};
    // X-Twilio-Signature key of edge_dial items ([edge] auth_token).
    std::string edge_auth_token;
    // The worker's name in the store's claims, unique among the gateways sharing the store and
    // the same across restarts of one (start() takes back what it held). "" = a random name.
    std::string worker_name;
    // How long a claim lasts. Longer than any one delivery (the http_client's timeout), or a
    // peer may send an item again while it is still in flight; short enough that a dead
    // gateway's items do not wait long.
    std::chrono::milliseconds lease{60000};
    // When to give up on an item (it moves to the dead letters, logged, never deleted
    // silently): after this many failed attempts (0 = no limit) or when a failed attempt finds
    // it older than its kind's maximum age. A dial the edge receives minutes late rings a
    // caller who has long hung up, so edge dials get a short age; StatusCallbacks a day.
    std::int32_t max_attempts = 20;
    std::chrono::milliseconds max_age_edge_dial{600000};
    std::chrono::milliseconds max_age_status_callback{86400000};
};

struct outbox_dependencies {
    // Epoch milliseconds; due times and backoff are computed with it. System clock by default.
    std::function<std::int64_t()> now_ms;
    // Uniform in [0, 1) for the jitter; a seeded std::mt19937_64 by default.
    std::function<double()> random_unit;
    // The auth token of an account (status_callback items are signed with the owning account's
    // token, looked up by the item's AccountSid parameter at delivery time so a rotated token is
    // used at once). nullopt: unknown account, the attempt fails and is retried.
    // Called on the worker's strand; must be thread-safe against the caller's own updates.
    std::function<std::optional<std::string>(std::string_view account_sid)> account_auth_token;
    obs::logger* log = nullptr;  // optional; must outlive the worker's coroutines
    // Told of every finished attempt (stirgate_webhook_deliveries_total): delivered is true
    // for a 2xx that was also marked delivered. Optional; called on the worker's strand.
    std::function<void(store::outbox_kind, bool delivered)> on_attempt;
};

struct outbox_stats {
    std::uint64_t delivered = 0;     // items acknowledged with a 2xx (and marked delivered)
    std::uint64_t failed = 0;        // failed attempts (non-2xx, timeout, refused, no key)
    std::uint64_t store_errors = 0;  // due_items / mark_* calls the store refused
    std::uint64_t polls = 0;         // claim_due calls
    std::uint64_t lost_claims = 0;   // outcomes refused because a peer had re-claimed the item
    std::uint64_t dead = 0;          // items given up on (moved to the dead letters)
    std::size_t in_flight = 0;       // deliveries running now
    std::size_t max_in_flight = 0;   // high-water mark of in_flight
};

class outbox_worker final {
public:
    // `st` and the clients must outlive the executor's run() (see the file comment).
    // edge_dial items go through `edge_client`, which must allow the edge's scheme and address
    // (usually http on a private network); status_callback items, whose URLs customers choose,
    // go through `webhook_client` with the customer-webhook policy, so an application cannot
    // aim a callback at the private network the edge client may reach.
    outbox_worker(boost::asio::any_io_executor executor, store::store& st,
                  net::http_client& edge_client, net::http_client& webhook_client,
                  outbox_options options, outbox_dependencies deps = {});
    // Asks the loop to stop (as stop() without a callback); does not wait.
    ~outbox_worker();
    outbox_worker(const outbox_worker&) = delete;
    outbox_worker& operator=(const outbox_worker&) = delete;

    // Starts the loop, which first delivers whatever is already due (items left by a previous
    // process). Idempotent; a worker that was stopped does not start again.
    void start();
    // Wakes the loop now instead of at the next poll (the Calls API calls it after a 201).
    void notify();
    // Stops fetching, lets in-flight deliveries finish for at most stop_timeout, then calls
    // `on_stopped` on the worker's strand (at once if the loop never started). When none is
    // still running it first releases whatever the worker holds (a peer may send it at once);
    // a delivery still running keeps its claim and may still record its outcome.
    void stop(std::function<void()> on_stopped = {});

    outbox_stats stats() const;
    // The name the worker claims items under (outbox_options::worker_name or the random one).
    const std::string& worker_name() const noexcept;

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace stirgate::webhooks
