#include "obs/metrics.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace stirgate;

namespace {

obs::label_values labels(std::vector<std::string> v)
{
    return v;
}

}  // namespace

TEST_CASE("A counter family renders HELP, TYPE and one sorted line per series", "[obs]")
{
    obs::registry r;
    auto& c = r.counter("stirgate_things_total", "Things seen.", {"kind", "status"});
    c.add(2, [] { return labels({"b", "200"}); });
    c.add(
        1,
        [] {
            return labels({"a", "404"});
        },
        3);
    c.add(2, [] { return labels({"ignored", "because the series exists"}); });
    CHECK(r.render() ==
          "# HELP stirgate_things_total Things seen.\n"
          "# TYPE stirgate_things_total counter\n"
          "stirgate_things_total{kind=\"a\",status=\"404\"} 3\n"
          "stirgate_things_total{kind=\"b\",status=\"200\"} 2\n");
}

TEST_CASE("Declared series are exposed at zero before their first event", "[obs]")
{
    obs::registry r;
    auto& c = r.counter("x_total", "X.", {"ppt"});
    c.declare(1, [] { return labels({"shaken"}); });
    CHECK(r.render() == "# HELP x_total X.\n# TYPE x_total counter\nx_total{ppt=\"shaken\"} 0\n");
}

TEST_CASE(
    "Label values escape backslash, double quote and line feed; HELP escapes backslash "
    "and line feed",
    "[obs]")
{
    obs::registry r;
    auto& c = r.counter("esc_total", "Line one\nback\\slash \"quoted\"", {"v"});
    c.add(1, [] { return labels({"a\\b\"c\nd"}); });
    CHECK(r.render() ==
          "# HELP esc_total Line one\\nback\\\\slash \"quoted\"\n"
          "# TYPE esc_total counter\n"
          "esc_total{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST_CASE("A histogram renders cumulative buckets, +Inf, _sum and _count", "[obs]")
{
    obs::registry r;
    // Binary fractions, so the sum is exact.
    auto& h = r.histogram("lat_seconds", "Latency.", {"route"}, {0.0078125, 0.125, 1});
    auto mk = [] { return labels({"/x"}); };
    h.observe(1, mk, 0.00390625);  // first bucket
    h.observe(1, mk, 0.0078125);   // le is inclusive: still the first
    h.observe(1, mk, 0.5);         // third
    h.observe(1, mk, 32);          // +Inf only
    CHECK(r.render() ==
          "# HELP lat_seconds Latency.\n"
          "# TYPE lat_seconds histogram\n"
          "lat_seconds_bucket{route=\"/x\",le=\"0.0078125\"} 2\n"
          "lat_seconds_bucket{route=\"/x\",le=\"0.125\"} 2\n"
          "lat_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"
          "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
          "lat_seconds_sum{route=\"/x\"} 32.51171875\n"
          "lat_seconds_count{route=\"/x\"} 4\n");
}

TEST_CASE("A histogram without labels still names le in braces", "[obs]")
{
    obs::registry r;
    auto& h = r.histogram("d_seconds", "D.", {}, {1});
    h.observe(
        1, [] { return obs::label_values{}; }, 2);
    const std::string out = r.render();
    CHECK(out.find("d_seconds_bucket{le=\"1\"} 0\n") != std::string::npos);
    CHECK(out.find("d_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
    CHECK(out.find("d_seconds_sum 2\n") != std::string::npos);
    CHECK(out.find("d_seconds_count 1\n") != std::string::npos);
}

TEST_CASE("Gauges and scrape-time callbacks render their current values", "[obs]")
{
    obs::registry r;
    auto& g = r.add_gauge("depth", "Depth.");
    int open = 3;
    r.add_callback("open", "Open.", obs::metric_type::gauge, {}, [&open] {
        return std::vector<obs::sample>{{{}, static_cast<double>(open)}};
    });
    r.add_callback("cache_total", "Cache.", obs::metric_type::counter, {"result"}, [] {
        return std::vector<obs::sample>{{{"hit"}, 7}, {{"miss"}, 1}};
    });
    g.set(12);
    open = 5;
    CHECK(r.render() ==
          "# HELP depth Depth.\n# TYPE depth gauge\ndepth 12\n"
          "# HELP open Open.\n# TYPE open gauge\nopen 5\n"
          "# HELP cache_total Cache.\n# TYPE cache_total counter\n"
          "cache_total{result=\"hit\"} 7\ncache_total{result=\"miss\"} 1\n");
}

TEST_CASE("Numbers use Prometheus spellings for infinities and NaN", "[obs]")
{
    std::string s;
    obs::append_number(s, 0.0005);
    s += ' ';
    obs::append_number(s, 10);
    s += ' ';
    obs::append_number(s, 1e-9);  // tiny values keep the exponent
    s += ' ';
    obs::append_number(s, std::numeric_limits<double>::infinity());
    s += ' ';
    obs::append_number(s, -std::numeric_limits<double>::infinity());
    s += ' ';
    obs::append_number(s, std::numeric_limits<double>::quiet_NaN());
    CHECK(s == "0.0005 10 1e-09 +Inf -Inf NaN");
}

TEST_CASE("A full series table drops new series instead of blocking or growing", "[obs]")
{
    obs::registry r;
    auto& c = r.counter("many_total", "Many.", {"n"}, 4);  // 16 slots
    for (std::uint64_t k = 1; k <= 40; ++k) c.add(k, [k] { return labels({std::to_string(k)}); });
    CHECK(c.dropped() == 40 - 16);
    c.add(1, [] { return labels({"1"}); });  // an existing series still counts
    CHECK(r.render().find("many_total{n=\"1\"} 2\n") != std::string::npos);
}

TEST_CASE("Registering a name twice or unordered buckets is refused", "[obs]")
{
    obs::registry r;
    r.counter("a_total", "A.", {});
    CHECK_THROWS_AS(r.counter("a_total", "A again.", {}), std::invalid_argument);
    CHECK_THROWS_AS(r.histogram("h", "H.", {}, {1, 1}), std::invalid_argument);
}

TEST_CASE("Counters from several threads add up exactly", "[obs]")
{
    obs::registry r;
    auto& c = r.counter("t_total", "T.", {"k"});
    auto& h = r.histogram("t_seconds", "T.", {}, {0.5});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&c, &h] {
            for (int i = 0; i < 10000; ++i) {
                c.add(static_cast<std::uint64_t>(1 + i % 3),
                      [i] { return labels({std::to_string(i % 3)}); });
                h.observe(
                    1, [] { return obs::label_values{}; }, 0.25);
            }
        });
    }
    for (auto& t : threads) t.join();
    const std::string out = r.render();
    CHECK(out.find("t_total{k=\"0\"} 13336\n") != std::string::npos);
    CHECK(out.find("t_total{k=\"1\"} 13332\n") != std::string::npos);
    CHECK(out.find("t_total{k=\"2\"} 13332\n") != std::string::npos);
    CHECK(out.find("t_seconds_count 40000\n") != std::string::npos);
    CHECK(out.find("t_seconds_sum 10000\n") != std::string::npos);
}
