#include "app/gateway_metrics.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/verstat.hpp"
#include "net/await_callback.hpp"

namespace stirgate::app {
namespace {

namespace http = boost::beast::http;

// Series keys: small enum values packed into one number, so recording needs no string.
std::uint64_t route_key(std::size_t route_index) noexcept
{
    // 1 for "no route", 2.. for registered routes.
    return route_index == net::request_context::no_route ? 1 : std::uint64_t{route_index} + 2;
}

std::string route_label(const net::request_context& ctx)
{
    return ctx.route.empty() ? std::string("unmatched") : ctx.route;
}

std::string method_label(http::verb verb)
{
    return verb == http::verb::unknown ? std::string("other") : std::string(http::to_string(verb));
}

std::string status_label(unsigned status)
{
    return std::to_string(status);
}

}  // namespace

gateway_metrics::gateway_metrics()
    : requests_(registry_.counter("stirgate_http_requests_total",
                                  "HTTP requests answered, by matched route pattern, method and "
                                  "status.",
                                  {"route", "method", "status"}, 512)),
      durations_(registry_.histogram(
          "stirgate_http_request_duration_seconds",
          "Time from a request's header to its reply being ready, by matched route pattern and "
          "method.",
          {"route", "method"},
          std::vector<double>(obs::latency_buckets.begin(), obs::latency_buckets.end()), 128)),
      verifications_(registry_.counter(
          "stirgate_verifications_total",
          "Call verifications (ATIS API and incoming-call webhook), by verstat for the caller and "
          "the first defect (reason=\"none\" when valid).",
          {"verstat", "reason"}, 256)),
      signatures_(registry_.counter("stirgate_signatures_total",
                                    "PASSporTs signed (Calls API and ATIS signing), by ppt.",
                                    {"ppt"}, 8)),
      deliveries_(registry_.counter("stirgate_webhook_deliveries_total",
                                    "Outbox delivery attempts (edge hand-offs and status "
                                    "callbacks), by kind and result.",
                                    {"kind", "result"}, 16)),
      auth_throttled_(registry_.counter(
          "stirgate_auth_throttled_total",
          "Requests refused with 429 after too many failed authentications ([security]), by "
          "the count that refused them: a client address, or an account for an address that "
          "failed for it.",
          {"scope"}, 4)),
      sip_requests_(registry_.counter("stirgate_sip_requests_total",
                                      "SIP requests answered by the SIP face, by method (INVITE, "
                                      "OPTIONS, ACK, other) and status (none: an ACK absorbed).",
                                      {"method", "status"}, 128)),
      sip_dropped_(registry_.counter("stirgate_sip_dropped_total",
                                     "SIP messages dropped unanswered: rate (over [sip] "
                                     "rate_per_source), busy (too many datagrams in flight), "
                                     "not_sip (no SIP request line), tcp_cap (connection over "
                                     "[sip] max_tcp_connections).",
                                     {"reason"}, 8))
{
    for (const auto scope : {rest::auth_block_scope::address, rest::auth_block_scope::account}) {
        auth_throttled_.declare(static_cast<std::uint64_t>(scope) + 1, [scope] {
            return obs::label_values{std::string(rest::to_string(scope))};
        });
    }
    for (std::size_t i = 0; i < 4; ++i) {
        static constexpr std::array<const char*, 4> reasons{"rate", "busy", "not_sip", "tcp_cap"};
        sip_dropped_.declare(i + 1, [i] { return obs::label_values{std::string(reasons[i])}; });
    }
    for (const auto ppt : {core::passport_type::shaken, core::passport_type::div}) {
        signatures_.declare(static_cast<std::uint64_t>(ppt) + 1,
                            [ppt] { return obs::label_values{std::string(core::to_string(ppt))}; });
    }
    for (const auto kind : {store::outbox_kind::edge_dial, store::outbox_kind::status_callback,
                            store::outbox_kind::edge_control}) {
        for (const bool delivered : {true, false}) {
            deliveries_.declare((static_cast<std::uint64_t>(kind) + 1) * 2 + (delivered ? 1 : 0),
                                [kind, delivered] {
                                    return obs::label_values{std::string(store::to_string(kind)),
                                                             delivered ? "delivered" : "failed"};
                                });
        }
    }
    outbox_depth_ = &registry_.add_gauge(
        "stirgate_outbox_depth",
        "Items in the outbox (queued or waiting for a retry), read from the store at scrape time.");
    outbox_dead_ = &registry_.add_gauge(
        "stirgate_outbox_dead_letters",
        "Outbox items given up on (attempt or age limit), kept in the store's dead letters; read "
        "at scrape time, across every gateway sharing the store.");
    outbox_lag_ = &registry_.add_gauge(
        "stirgate_outbox_lag_seconds",
        "Age of the oldest outbox item that is due (0 when none is): how far delivery is behind, "
        "across every gateway sharing the store. Read at scrape time.");
}

void gateway_metrics::on_request(const net::request_context& ctx, unsigned status,
                                 std::chrono::steady_clock::duration elapsed) noexcept
{
    try {
        const http::verb verb = ctx.request.method();
        const std::uint64_t rk = route_key(ctx.route_index);
        const std::uint64_t key =
            (rk << 24) | (static_cast<std::uint64_t>(verb) << 12) | (status & 0xFFFu);
        requests_.add(key, [&ctx, verb, status] {
            return obs::label_values{route_label(ctx), method_label(verb), status_label(status)};
        });
        // Keyed by route and verb: GET and POST of one pattern are two routes.
        durations_.observe((rk << 12) | static_cast<std::uint64_t>(verb),
                           [&ctx, verb] {
                               return obs::label_values{route_label(ctx), method_label(verb)};
                           },
                           std::chrono::duration<double>(elapsed).count());
    } catch (...) {
        // Only label building allocates, once per series; losing a sample beats failing a reply.
    }
}

void gateway_metrics::on_verification(const core::verification_outcome& outcome) noexcept
{
    try {
        const std::uint64_t key = ((static_cast<std::uint64_t>(outcome.verstat) + 1) << 16) |
                                  static_cast<std::uint64_t>(outcome.code);
        verifications_.add(key, [&outcome] {
            return obs::label_values{std::string(core::to_string(outcome.verstat)),
                                     outcome.code == errc{} ? std::string("none")
                                                            : std::string(errc_name(outcome.code))};
        });
    } catch (...) {
    }
}

void gateway_metrics::on_signed(core::passport_type ppt) noexcept
{
    try {
        signatures_.add(static_cast<std::uint64_t>(ppt) + 1,
                        [ppt] { return obs::label_values{std::string(core::to_string(ppt))}; });
    } catch (...) {
    }
}

void gateway_metrics::on_delivery(store::outbox_kind kind, bool delivered) noexcept
{
    try {
        deliveries_.add((static_cast<std::uint64_t>(kind) + 1) * 2 + (delivered ? 1 : 0),
                        [kind, delivered] {
                            return obs::label_values{std::string(store::to_string(kind)),
                                                     delivered ? "delivered" : "failed"};
                        });
    } catch (...) {
    }
}

void gateway_metrics::on_auth_throttled(rest::auth_block_scope scope) noexcept
{
    try {
        auth_throttled_.add(static_cast<std::uint64_t>(scope) + 1, [scope] {
            return obs::label_values{std::string(rest::to_string(scope))};
        });
    } catch (...) {
    }
}

namespace {

constexpr std::array<std::string_view, 3> sip_methods{"INVITE", "OPTIONS", "ACK"};
constexpr std::array<std::string_view, 4> sip_drop_reasons{"rate", "busy", "not_sip", "tcp_cap"};

}  // namespace

void gateway_metrics::on_sip_message(std::string_view method, int status) noexcept
{
    try {
        std::uint64_t m = sip_methods.size();
        for (std::size_t i = 0; i < sip_methods.size(); ++i)
            if (method == sip_methods[i]) m = i;
        const auto code = static_cast<std::uint64_t>(status < 0 || status > 999 ? 0 : status);
        sip_requests_.add(((m + 1) << 12) | code, [m, code] {
            return obs::label_values{
                m < sip_methods.size() ? std::string(sip_methods[m]) : std::string("other"),
                code == 0 ? std::string("none") : std::to_string(code)};
        });
    } catch (...) {
    }
}

void gateway_metrics::on_sip_dropped(std::string_view reason) noexcept
{
    try {
        for (std::size_t i = 0; i < sip_drop_reasons.size(); ++i) {
            if (reason != sip_drop_reasons[i]) continue;
            sip_dropped_.add(i + 1, [i] { return obs::label_values{std::string(sip_drop_reasons[i])}; });
        }
    } catch (...) {
    }
}

void gateway_metrics::watch_cert_cache(const sti::cert_cache& cache)
{
    registry_.add_callback(
        "stirgate_cert_cache_total",
        "x5u certificate lookups: hit (fresh entry, positive or negative), miss (started a "
        "fetch), coalesced (waited for a fetch already running).",
        obs::metric_type::counter, {"result"}, [&cache] {
            const auto s = cache.stats();
            return std::vector<obs::sample>{{{"hit"}, static_cast<double>(s.hits)},
                                            {{"miss"}, static_cast<double>(s.misses)},
                                            {{"coalesced"}, static_cast<double>(s.coalesced)}};
        });
    registry_.add_callback(
        "stirgate_cert_fetch_failures_total",
        "x5u fetches that failed: refused (URL or address not allowed), fetch (unreachable, TLS, "
        "non-200, oversize, not a certificate), untrusted (chain or certificate did not verify).",
        obs::metric_type::counter, {"reason"}, [&cache] {
            const auto s = cache.stats();
            return std::vector<obs::sample>{
                {{"refused"}, static_cast<double>(s.fetch_refused)},
                {{"fetch"}, static_cast<double>(s.fetch_errors)},
                {{"untrusted"}, static_cast<double>(s.fetch_untrusted)}};
        });
}

void gateway_metrics::watch_connections(std::function<int()> open_connections)
{
    registry_.add_callback("stirgate_open_connections", "Client connections open now.",
                           obs::metric_type::gauge, {}, [f = std::move(open_connections)] {
                               return std::vector<obs::sample>{{{}, static_cast<double>(f())}};
                           });
}

void gateway_metrics::watch_refused_connections(
    std::function<net::server::refused_counts()> refused)
{
    registry_.add_callback(
        "stirgate_connections_refused_total",
        "Connections closed as soon as they were accepted: over [server] "
        "max_connections_per_address (per_address), over max_connections and the health "
        "reserve (total), or while out of file descriptors (no_descriptors).",
        obs::metric_type::counter, {"reason"}, [f = std::move(refused)] {
            const auto r = f();
            return std::vector<obs::sample>{
                {{"per_address"}, static_cast<double>(r.per_address)},
                {{"total"}, static_cast<double>(r.total)},
                {{"no_descriptors"}, static_cast<double>(r.no_descriptors)}};
        });
}

void gateway_metrics::watch_log(const obs::logger& log)
{
    registry_.add_callback(
        "stirgate_log_lines_dropped_total",
        "Info log lines dropped because the log output could not keep up (warn and error lines "
        "are never dropped).",
        obs::metric_type::counter, {}, [&log] {
            return std::vector<obs::sample>{{{}, static_cast<double>(log.dropped_lines())}};
        });
}

void gateway_metrics::watch_store(const store::store& calls)
{
    const auto one = [&calls](auto field) {
        return [&calls, field] {
            return std::vector<obs::sample>{{{}, static_cast<double>(field(calls.stats()))}};
        };
    };
    registry_.add_callback("stirgate_store_connections",
                           "Database connections the store keeps (PostgreSQL: pool_size; SQLite: "
                           "its one writer).",
                           obs::metric_type::gauge, {},
                           one([](const store::store_stats& s) { return s.connections; }));
    registry_.add_callback("stirgate_store_connections_up",
                           "Of stirgate_store_connections, those connected now.",
                           obs::metric_type::gauge, {},
                           one([](const store::store_stats& s) { return s.connections_up; }));
    registry_.add_callback("stirgate_store_jobs_waiting",
                           "Store operations queued for a connection now.", obs::metric_type::gauge,
                           {}, one([](const store::store_stats& s) { return s.jobs_waiting; }));
    registry_.add_callback(
        "stirgate_store_queue_wait_seconds_total",
        "Time store operations spent queued before a connection took them; divided by "
        "stirgate_store_jobs_total it is the mean wait (a pool too small shows here first).",
        obs::metric_type::counter, {},
        one([](const store::store_stats& s) { return s.queue_wait_seconds; }));
    registry_.add_callback("stirgate_store_jobs_total", "Store operations completed.",
                           obs::metric_type::counter, {},
                           one([](const store::store_stats& s) { return s.jobs_completed; }));
    registry_.add_callback(
        "stirgate_store_errors_total",
        "Store operations that failed because the database did (unreachable, disk full, server "
        "error), by kind: database, or refused (queue full or store closing, never sent).",
        obs::metric_type::counter, {"kind"}, [&calls] {
            const auto s = calls.stats();
            return std::vector<obs::sample>{
                {{"database"}, static_cast<double>(s.database_errors)},
                {{"refused"}, static_cast<double>(s.jobs_refused)}};
        });
}

void gateway_metrics::add_route(net::router& routes, store::store& calls, core::clock_fn now)
{
    routes.add(
        http::verb::get, "/metrics", net::error_style::plain,
        [this, &calls, now = std::move(now)](
            net::request_context& ctx) -> net::awaitable<net::http_response> {
            const std::int64_t now_ms = now() * 1000;
            auto summary = co_await net::await_callback<store::outbox_summary>(
                [&calls, now_ms](store::store::callback<store::outbox_summary> cb) {
                    calls.summarise_outbox(now_ms, std::move(cb));
                });
            if (summary) {
                outbox_depth_->set(static_cast<double>(summary->items));
                const std::int64_t lag_ms =
                    summary->oldest_due_at_ms ? now_ms - *summary->oldest_due_at_ms : 0;
                outbox_lag_->set(static_cast<double>(std::max<std::int64_t>(0, lag_ms)) / 1000.0);
                outbox_dead_->set(static_cast<double>(summary->dead_letters));
            }
            net::http_response res{http::status::ok, ctx.request.version()};
            res.set(http::field::content_type, obs::content_type);
            res.set(http::field::cache_control, "no-store");
            res.body() = render();
            co_return res;
        });
}

}  // namespace stirgate::app
