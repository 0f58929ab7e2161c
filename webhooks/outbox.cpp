#include "webhooks/outbox.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "obs/log.hpp"
#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "net/await_callback.hpp"

namespace stirgate::webhooks {

namespace asio = boost::asio;
namespace http = boost::beast::http;

std::chrono::milliseconds backoff_ceiling(const backoff_policy& policy,
                                          std::int32_t failures) noexcept
{
    const auto base = static_cast<double>(std::max<std::int64_t>(policy.base.count(), 0));
    const auto cap = static_cast<double>(std::max<std::int64_t>(policy.cap.count(), 0));
    const double factor = std::max(policy.factor, 1.0);  // a shrinking backoff is a typo
    const int exponent = std::max(failures, std::int32_t{1}) - 1;
    double ceiling = base * std::pow(factor, exponent);
    if (!(ceiling < cap)) ceiling = cap;  // also catches +inf after many failures
    return std::chrono::milliseconds(static_cast<std::int64_t>(ceiling));
}

std::chrono::milliseconds backoff_delay(const backoff_policy& policy, std::int32_t failures,
                                        double unit) noexcept
{
    if (!(unit > 0.0)) unit = 0.0;  // NaN too
    if (unit > 1.0) unit = 1.0;
    const auto ceiling = static_cast<double>(backoff_ceiling(policy, failures).count());
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::floor(unit * ceiling)));
}

std::string idempotency_token(const store::outbox_item& item)
{
    if (!item.idempotency_key.empty()) return item.idempotency_key;
    return item.delivery_token;
}

namespace {

std::int64_t system_now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::function<double()> default_random_unit()
{
    // Only called on the worker's strand, so the engine needs no lock.
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

// A name no other gateway picks: 64 random bits.
std::string random_worker_name()
{
    std::random_device device;
    const std::uint64_t bits = (std::uint64_t{device()} << 32) ^ device();
    static constexpr char hex[] = "0123456789abcdef";
    std::string name = "outbox-";
    for (int shift = 60; shift >= 0; shift -= 4) name += hex[(bits >> shift) & 0xf];
    return name;
}

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               const auto lower = [](char c) {
                   return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

// Headers the worker sets itself: a signature stored at enqueue time would be stale after a key
// rotation, so it is always computed at delivery time.
bool is_managed_header(std::string_view name) noexcept
{
    return iequals(name, "X-Twilio-Signature") || iequals(name, "I-Twilio-Idempotency-Token") ||
           iequals(name, "Content-Type");
}

}  // namespace

struct outbox_worker::state {
    state(asio::any_io_executor ex, store::store& s, net::http_client& edge,
          net::http_client& webhooks, outbox_options o, outbox_dependencies d)
        : strand(asio::make_strand(std::move(ex))),
          st(s),
          edge_client(edge),
          webhook_client(webhooks),
          options(std::move(o)),
          deps(std::move(d)),
          wake(strand),
          drained(strand)
    {
        if (options.max_concurrent == 0) options.max_concurrent = 1;
        if (!deps.now_ms) deps.now_ms = system_now_ms;
        if (!deps.random_unit) deps.random_unit = default_random_unit();
        if (options.worker_name.empty()) options.worker_name = random_worker_name();
        if (options.lease.count() <= 0) options.lease = outbox_options{}.lease;
    }

    asio::strand<asio::any_io_executor> strand;
    store::store& st;
    net::http_client& edge_client;
    net::http_client& webhook_client;
    outbox_options options;
    outbox_dependencies deps;
    asio::steady_timer wake;     // the poll wait; cancelled by notify(), a freed slot, stop()
    asio::steady_timer drained;  // stop(): cancelled when the last delivery ends

    // Touched on the strand only.
    bool started = false;
    bool running = false;
    bool stopping = false;
    bool wake_requested = false;
    bool waiting_for_slot = false;  // the last fetch filled every slot: a freed one wakes us
    std::set<std::int64_t> in_flight;
    std::vector<std::function<void()>> on_stopped;

    mutable std::mutex stats_mutex;
    outbox_stats counters;

    template <class F>
    void count(F f)
    {
        const std::lock_guard lock(stats_mutex);
        f(counters);
    }

    void log(obs::log_level level, std::string_view msg,
             std::initializer_list<obs::log_field> fields)
    {
        if (deps.log) deps.log->log(level, msg, fields);
    }
};

namespace {

using state_ptr = std::shared_ptr<outbox_worker::state>;

// Completion handler for every co_spawn of the worker (STYLE.md section 2: never detached).
struct log_escape {
    state_ptr s;
    const char* task;
    void operator()(std::exception_ptr e) const
    {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            s->log(obs::log_level::error, "coroutine failed",
                   {{"task", task}, {"error", ex.what()}});
        } catch (...) {
            s->log(obs::log_level::error, "coroutine failed",
                   {{"task", task}, {"error", "non-standard exception"}});
        }
    }
};

// Dials and call updates go to the operator's edge, signed with its token; the rest to apps.
bool for_edge(const store::outbox_item& item) noexcept
{
    return item.kind == store::outbox_kind::edge_dial ||
           item.kind == store::outbox_kind::edge_control;
}

struct attempt_outcome {
    bool delivered = false;
    std::string error;  // for last_error and logs: "HTTP 503", "upstream_timeout: ..."
};

// One HTTP attempt for `item`, signed now (spec/TWILIO-API.md section 8). `item` is a reference
// because the caller, which owns it, awaits this at once.
asio::awaitable<attempt_outcome> attempt_delivery(state_ptr s, const store::outbox_item& item)
{
    std::optional<std::string> key;
    if (for_edge(item)) {
        if (!s->options.edge_auth_token.empty()) key = s->options.edge_auth_token;
        if (!key) co_return attempt_outcome{false, "no edge auth token configured"};
    } else {
        // Twilio: a StatusCallback is signed with the auth token of the account that owns the
        // call; Twilio's callbacks always carry AccountSid.
        const auto account = std::find_if(item.params.begin(), item.params.end(),
                                          [](const auto& p) { return p.first == "AccountSid"; });
        if (account == item.params.end())
            co_return attempt_outcome{false, "status callback without AccountSid"};
        if (s->deps.account_auth_token) key = s->deps.account_auth_token(account->second);
        if (!key) co_return attempt_outcome{false, "no auth token for account " + account->second};
    }

    core::form_params params;
    for (const auto& [name, value] : item.params) params.add(name, value);
    const std::string form = core::format_form(params);

    net::http_request_spec spec;
    for (const auto& [name, value] : item.headers)
        if (!is_managed_header(name)) spec.headers.emplace_back(name, value);
    if (item.method == "GET") {
        // Twilio: GET callbacks carry the parameters in the query, and the signature covers the
        // URL alone.
        spec.method = http::verb::get;
        spec.url = item.target_url;
        if (!form.empty()) spec.url += (spec.url.find('?') == std::string::npos ? "?" : "&") + form;
        spec.headers.emplace_back("X-Twilio-Signature", core::twilio_signature(*key, spec.url));
    } else {
        spec.method = http::verb::post;
        spec.url = item.target_url;
        spec.body = form;
        spec.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        spec.headers.emplace_back("X-Twilio-Signature",
                                  core::twilio_signature(*key, spec.url, params));
    }
    // The same value on every attempt, so a receiver can drop the duplicate of a delivery whose
    // acknowledgement we lost.
    spec.headers.emplace_back("I-Twilio-Idempotency-Token", idempotency_token(item));

    auto& client = for_edge(item) ? s->edge_client : s->webhook_client;
    auto reply = co_await client.request(std::move(spec));
    if (!reply)
        co_return attempt_outcome{false,
                                  std::string(errc_name(reply.code())) + ": " + reply.err().detail};
    if (reply->status >= 200 && reply->status < 300) co_return attempt_outcome{true, {}};
    co_return attempt_outcome{false, "HTTP " + std::to_string(reply->status)};
}

// The store refused to record an attempt's outcome. conflict: the lease ran out and a peer
// re-claimed the item, which it now sends itself (with the same idempotency token).
void note_refused_outcome(const state_ptr& s, const store::outbox_item& item,
                          std::string_view operation, const error& e)
{
    if (e.code == errc::conflict) {
        s->count([](outbox_stats& c) { ++c.lost_claims; });
        s->log(obs::log_level::warn, "outbox claim lost",
               {{"id", item.id}, {"operation", operation}, {"detail", e.detail}});
        return;
    }
    s->count([](outbox_stats& c) { ++c.store_errors; });
    s->log(obs::log_level::error, "outbox store refused an outcome",
           {{"id", item.id},
            {"operation", operation},
            {"errc", errc_name(e.code)},
            {"detail", e.detail}});
}

// The attempt that just failed was the last one: too many, or the item too old to matter.
bool given_up(const outbox_options& o, const store::outbox_item& item, std::int32_t failures,
              std::int64_t now_ms)
{
    if (o.max_attempts > 0 && failures >= o.max_attempts) return true;
    // A hang-up or redirect is as stale as a dial once the caller has gone.
    const auto max_age = for_edge(item) ? o.max_age_edge_dial
                                                                     : o.max_age_status_callback;
    // An item without a creation time (0) has no age to judge it by.
    return item.created_at_ms > 0 && now_ms - item.created_at_ms >= max_age.count();
}

asio::awaitable<void> deliver(state_ptr s, store::outbox_item item)
{
    const auto outcome = co_await attempt_delivery(s, item);
    const std::string_view kind = store::to_string(item.kind);
    if (outcome.delivered) {
        auto mark = [&st = s->st, id = item.id,
                     worker = s->options.worker_name](store::store::callback<void> cb) {
            st.mark_delivered(id, worker, std::move(cb));
        };
        const auto r = co_await net::await_callback<void>(std::move(mark));
        if (r) {
            s->count([](outbox_stats& c) { ++c.delivered; });
            if (s->deps.on_attempt) s->deps.on_attempt(item.kind, true);
            s->log(obs::log_level::info, "outbox delivered",
                   {{"id", item.id},
                    {"kind", kind},
                    {"call_sid", item.call_sid},
                    {"attempts", item.attempts + 1}});
        } else {
            // The item stays and is sent again: at least once, with the same idempotency token.
            note_refused_outcome(s, item, "mark_delivered", r.err());
        }
        co_return;
    }

    const std::int32_t failures = item.attempts < std::numeric_limits<std::int32_t>::max()
                                      ? item.attempts + 1
                                      : item.attempts;
    s->count([](outbox_stats& c) { ++c.failed; });
    if (s->deps.on_attempt) s->deps.on_attempt(item.kind, false);
    const std::int64_t now_ms = s->deps.now_ms();
    if (given_up(s->options, item, failures, now_ms)) {
        s->log(obs::log_level::error, "outbox item given up",
               {{"id", item.id},
                {"kind", kind},
                {"call_sid", item.call_sid},
                {"attempts", failures},
                {"age_ms", now_ms - item.created_at_ms},
                {"error", outcome.error}});
        auto bury = [&st = s->st, id = item.id, worker = s->options.worker_name, now_ms,
                     err = outcome.error](store::store::callback<void> cb) {
            st.mark_dead(id, worker, now_ms, err, std::move(cb));
        };
        const auto r = co_await net::await_callback<void>(std::move(bury));
        if (r)
            s->count([](outbox_stats& c) { ++c.dead; });
        else
            note_refused_outcome(s, item, "mark_dead", r.err());
        co_return;
    }
    const auto delay = backoff_delay(s->options.backoff, failures, s->deps.random_unit());
    const std::int64_t next = now_ms + delay.count();
    s->log(obs::log_level::warn, "outbox delivery failed",
           {{"id", item.id},
            {"kind", kind},
            {"call_sid", item.call_sid},
            {"attempts", failures},
            {"error", outcome.error},
            {"retry_in_ms", delay.count()}});
    auto mark = [&st = s->st, id = item.id, worker = s->options.worker_name, next,
                 err = outcome.error](store::store::callback<void> cb) {
        st.mark_failed(id, worker, next, err, std::move(cb));
    };
    const auto r = co_await net::await_callback<void>(std::move(mark));
    if (!r) note_refused_outcome(s, item, "mark_failed", r.err());
}

void release(const state_ptr& s, std::int64_t id)
{
    s->in_flight.erase(id);
    const auto n = s->in_flight.size();
    s->count([n](outbox_stats& c) { c.in_flight = n; });
    if (s->stopping) {
        if (n == 0) s->drained.cancel();
    } else if (s->waiting_for_slot) {
        s->waiting_for_slot = false;
        s->wake.cancel();
    }
}

// Runs one delivery and frees its slot however it ends.
asio::awaitable<void> deliver_in_slot(state_ptr s, store::outbox_item item)
{
    const auto id = item.id;
    try {
        co_await deliver(s, std::move(item));
    } catch (const std::exception& e) {
        s->log(obs::log_level::error, "outbox delivery threw", {{"id", id}, {"error", e.what()}});
    }
    release(s, id);
}

// Claims due items for the free slots and starts their deliveries. True when more items may be
// due: every slot was taken, or the claim got all it asked for (the loop then claims again as
// soon as a slot is free, rather than at the next poll).
asio::awaitable<bool> fetch_and_dispatch(state_ptr s)
{
    const std::size_t busy = s->in_flight.size();
    if (busy >= s->options.max_concurrent) co_return true;
    // Items in flight are leased to us, so the claim skips them: ask for the free slots only.
    store::outbox_claim claim;
    claim.worker = s->options.worker_name;
    claim.now_ms = s->deps.now_ms();
    claim.lease_ms = s->options.lease.count();
    claim.limit = s->options.max_concurrent - busy;
    const std::size_t limit = claim.limit;
    auto fetch = [&st = s->st, claim = std::move(claim)](
                     store::store::callback<std::vector<store::outbox_item>> cb) mutable {
        st.claim_due(std::move(claim), std::move(cb));
    };
    auto items = co_await net::await_callback<std::vector<store::outbox_item>>(std::move(fetch));
    s->count([](outbox_stats& c) { ++c.polls; });
    if (!items) {
        s->count([](outbox_stats& c) { ++c.store_errors; });
        s->log(obs::log_level::error, "outbox claim_due failed",
               {{"errc", errc_name(items.code())}, {"detail", items.err().detail}});
        co_return false;
    }
    std::size_t started = 0;
    for (auto& item : *items) {
        // Claimed but not started (stopping): released at stop, or by the lease's end.
        if (s->stopping) co_return false;
        if (s->in_flight.count(item.id) != 0) continue;  // never twice at the same time
        if (s->in_flight.size() >= s->options.max_concurrent) co_return true;
        ++started;
        s->in_flight.insert(item.id);
        const auto n = s->in_flight.size();
        s->count([n](outbox_stats& c) {
            c.in_flight = n;
            c.max_in_flight = std::max(c.max_in_flight, n);
        });
        asio::co_spawn(s->strand, deliver_in_slot(s, std::move(item)),
                       log_escape{s, "outbox delivery"});
    }
    co_return started > 0 && items->size() >= limit;
}

// Hands back every item the worker holds under its name: at start, what a previous process of
// the same name held when it died; at stop, what it claimed and did not finish.
asio::awaitable<void> release_claims(state_ptr s, std::string_view when)
{
    auto hand_back = [&st = s->st, worker = s->options.worker_name](
                       store::store::callback<std::size_t> cb) {
        st.release_claims(worker, std::move(cb));
    };
    const auto released = co_await net::await_callback<std::size_t>(std::move(hand_back));
    if (!released) {
        s->count([](outbox_stats& c) { ++c.store_errors; });
        s->log(obs::log_level::error, "outbox release_claims failed",
               {{"when", when},
                {"errc", errc_name(released.code())},
                {"detail", released.err().detail}});
    } else if (*released > 0) {
        s->log(obs::log_level::info, "outbox claims released",
               {{"when", when}, {"worker", s->options.worker_name}, {"items", *released}});
    }
}

asio::awaitable<void> run_loop(state_ptr s)
{
    const std::string_view at_start = "start";
    co_await release_claims(s, at_start);
    while (!s->stopping) {
        const bool more_due = co_await fetch_and_dispatch(s);
        if (s->stopping) break;
        // A slot freed while the claim was out found nobody waiting: claim again now.
        if (more_due && s->in_flight.size() < s->options.max_concurrent) continue;
        const bool saturated = more_due;
        if (s->wake_requested) {  // notify() arrived while we were fetching
            s->wake_requested = false;
            continue;
        }
        s->waiting_for_slot = saturated;
        s->wake.expires_after(s->options.poll_interval);
        boost::system::error_code ec;
        co_await s->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        s->wake_requested = false;
        s->waiting_for_slot = false;
    }
    if (!s->in_flight.empty()) {
        s->drained.expires_after(s->options.stop_timeout);
        boost::system::error_code ec;
        co_await s->drained.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!s->in_flight.empty())
            s->log(obs::log_level::warn, "outbox stopped with deliveries in flight",
                   {{"in_flight", s->in_flight.size()}});
    }
    // A delivery still running keeps its claim, so no peer sends it while it may yet succeed
    // here (its lease, or a restart under the same name, frees it if this process exits).
    // Otherwise hand back what is still held (an outcome the store failed to record).
    if (s->in_flight.empty()) {
        const std::string_view at_stop = "stop";
        co_await release_claims(s, at_stop);
    }
}

void finish_stop(const state_ptr& s)
{
    s->running = false;
    auto callbacks = std::move(s->on_stopped);
    s->on_stopped.clear();
    for (auto& cb : callbacks) cb();
}

asio::awaitable<void> run_worker(state_ptr s)
{
    try {
        co_await run_loop(s);
    } catch (const std::exception& e) {
        s->log(obs::log_level::error, "outbox loop failed", {{"error", e.what()}});
    }
    finish_stop(s);
}

}  // namespace

outbox_worker::outbox_worker(asio::any_io_executor executor, store::store& st,
                             net::http_client& edge_client, net::http_client& webhook_client,
                             outbox_options options, outbox_dependencies deps)
    : state_(std::make_shared<state>(std::move(executor), st, edge_client, webhook_client,
                                     std::move(options), std::move(deps)))
{
}

outbox_worker::~outbox_worker()
{
    stop();
}

void outbox_worker::start()
{
    asio::post(state_->strand, [s = state_] {
        if (s->started) return;
        s->started = true;
        s->running = true;
        asio::co_spawn(s->strand, run_worker(s), log_escape{s, "outbox loop"});
    });
}

void outbox_worker::notify()
{
    asio::post(state_->strand, [s = state_] {
        s->wake_requested = true;
        s->wake.cancel();
    });
}

void outbox_worker::stop(std::function<void()> on_stopped)
{
    asio::post(state_->strand, [s = state_, cb = std::move(on_stopped)]() mutable {
        s->started = true;  // a stopped worker does not start again
        s->stopping = true;
        if (cb) s->on_stopped.push_back(std::move(cb));
        if (!s->running) {
            finish_stop(s);
            return;
        }
        s->wake.cancel();
    });
}

const std::string& outbox_worker::worker_name() const noexcept
{
    return state_->options.worker_name;
}

outbox_stats outbox_worker::stats() const
{
    const std::lock_guard lock(state_->stats_mutex);
    return state_->counters;
}

}  // namespace stirgate::webhooks
