#pragma once
// The gateway's Prometheus metrics (DESIGN.md "Metrics") and GET /metrics.
//
// Events are recorded where they happen through small hooks (the server's request observer,
// the call verifier's observer, the signer's on_signed, the outbox's on_attempt); state other
// components already keep (certificate cache statistics, open connections, outbox depth) is
// read when /metrics is scraped. Labels come from bounded sets only: the matched route pattern
// (never the raw path), the verb, the status, enum names.

#include "net/net.hpp"

#include <chrono>
#include <functional>

#include "rest/auth_guard.hpp"
#include "core/clock.hpp"
#include "core/passport.hpp"
#include "core/verifier.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"
#include "sti/cert_cache.hpp"
#include "store/store.hpp"

namespace stirgate::app {

class gateway_metrics final : public net::request_observer {
public:
    gateway_metrics();

    // stirgate_http_requests_total{route,method,status} and
    // stirgate_http_request_duration_seconds{route,method}.
    void on_request(const net::request_context& ctx, unsigned status,
                    std::chrono::steady_clock::duration elapsed) noexcept override;
    // stirgate_verifications_total{verstat,reason}
    void on_verification(const core::verification_outcome& outcome) noexcept;
    // stirgate_signatures_total{ppt}
    void on_signed(core::passport_type ppt) noexcept;
    // stirgate_webhook_deliveries_total{kind,result}
    void on_delivery(store::outbox_kind kind, bool delivered) noexcept;
    // stirgate_auth_throttled_total{scope}: requests refused 429 for failed authentication.
    void on_auth_throttled(rest::auth_block_scope scope) noexcept;
    // stirgate_sip_requests_total{method,status}: SIP requests answered (status "none": an
    // absorbed ACK); method is INVITE, OPTIONS, ACK or other.
    void on_sip_message(std::string_view method, int status) noexcept;
    // stirgate_sip_dropped_total{reason}: SIP messages dropped unanswered.
    void on_sip_dropped(std::string_view reason) noexcept;

    // Scrape-time sources; each must outlive this object's last render. Registration order
    // is exposition order; call each once, before serving.
    void watch_cert_cache(const sti::cert_cache& cache);
    void watch_connections(std::function<int()> open_connections);
    // stirgate_connections_refused_total{reason}: connections closed at accept by the caps.
    void watch_refused_connections(std::function<net::server::refused_counts()> refused);
    // stirgate_log_lines_dropped_total: info lines the logger dropped while its output was slow.
    void watch_log(const obs::logger& log);

    // stirgate_store_*: the store's connections, queue and database errors (store::stats()).
    void watch_store(const store::store& calls);

    // GET /metrics: reads the outbox depth and lag from `calls` (kept at their last values when
    // the store fails), then renders. `now` (epoch seconds) dates the lag. No authentication:
    // meant for the private network.
    void add_route(net::router& routes, store::store& calls, core::clock_fn now);

    const obs::registry& registry() const noexcept { return registry_; }
    // The exposition text with the outbox depth as last read.
    std::string render() const { return registry_.render(); }

private:
    obs::registry registry_;
    obs::counter_family& requests_;
    obs::histogram_family& durations_;
    obs::counter_family& verifications_;
    obs::counter_family& signatures_;
    obs::counter_family& deliveries_;
    obs::counter_family& auth_throttled_;
    obs::counter_family& sip_requests_;
    obs::counter_family& sip_dropped_;
    obs::gauge* outbox_depth_ = nullptr;
    obs::gauge* outbox_lag_ = nullptr;
    obs::gauge* outbox_dead_ = nullptr;
};

}  // namespace stirgate::app
