// GET /metrics as the gateway registers it: the outbox depth and lag read from the store at
// scrape time against the injected clock, and the store's own counters.

#include "app/gateway_metrics.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "store/memory_store.hpp"
#include "support/handler_test.hpp"
#include "unit/store/store_behaviour.hpp"

namespace {

namespace http = boost::beast::http;
using stirgate::test::make_item;
using stirgate::test::make_sid;

std::string scrape(const stirgate::net::router& routes)
{
    stirgate::net::request_context ctx;
    ctx.request = stirgate::net::http_request{http::verb::get, "/metrics", 11};
    ctx.request.set(http::field::host, "gw.test");
    const auto res = stirgate::test::dispatch(routes, ctx);
    REQUIRE(res.result_int() == 200);
    return res.body();
}

bool has_line(const std::string& text, const std::string& line)
{
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("/metrics dates the outbox's oldest due item against the clock and shows the store",
          "[app][metrics]")
{
    stirgate::store::memory_store calls;
    stirgate::app::gateway_metrics metrics;
    stirgate::net::router routes;
    std::int64_t now_s = 1767225600;
    metrics.add_route(routes, calls, [&now_s] { return now_s; });
    metrics.watch_store(calls);

    const std::string idle = scrape(routes);
    INFO(idle);
    CHECK(has_line(idle, "stirgate_outbox_depth 0"));
    CHECK(has_line(idle, "stirgate_outbox_lag_seconds 0"));
    CHECK(has_line(idle, "stirgate_outbox_dead_letters 0"));
    CHECK(has_line(idle, "stirgate_store_connections 0"));  // the memory store has none
    CHECK(has_line(idle, "stirgate_store_errors_total{kind=\"database\"} 0"));

    const std::string sid = make_sid("CA", 1);
    // Due 12.5 s ago, and one not due for a minute (a retry waiting out its backoff).
    REQUIRE(calls.enqueue({make_item(sid, now_s * 1000 - 12500),
                           make_item(sid, now_s * 1000 + 60000)}));
    const std::string behind = scrape(routes);
    INFO(behind);
    CHECK(has_line(behind, "stirgate_outbox_depth 2"));
    CHECK(has_line(behind, "stirgate_outbox_lag_seconds 12.5"));

    now_s += 100;  // both due now; the oldest sets the lag
    CHECK(has_line(scrape(routes), "stirgate_outbox_lag_seconds 112.5"));
}
