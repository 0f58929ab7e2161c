// `stirgate serve` on PostgreSQL (the tests' own server): a forward is stored, handed to the
// edge and fetched; while the database is down /readyz and the API answer 503, never hang, and
// the gateway recovers by itself when the database is back.

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "support/edge_receiver.hpp"
#include "support/fixtures.hpp"
#include "support/gateway_process.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using stirgate::test::call_fetchable;
using stirgate::test::eventually;
using stirgate::test::forward_request;
using stirgate::test::sid_of;

int readyz(std::uint16_t port)
{
    const auto reply =
        stirgate::test::http_exchange(port, "GET /readyz HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    return reply ? reply->status : 0;
}

}  // namespace

TEST_CASE("a gateway on PostgreSQL stores, dials and serves calls, and rides out a database "
          "restart with 503s",
          "[integration][calls]")
{
    auto& server = stirgate::test::shared_postgres();
    const std::string url = server.create_database();
    stirgate::test::temp_dir dir;
    stirgate::test::edge_receiver edge;
    const std::string config =
        dir.write("stirgate.toml", stirgate::test::forwarding_config(edge.port(), url));
    auto gw = stirgate::test::gateway_process::start(config);
    CHECK(readyz(gw.port()) == 200);

    const auto created = stirgate::test::http_exchange(gw.port(), forward_request());
    REQUIRE(created);
    REQUIRE(created->status == 201);
    const std::string sid = sid_of(created->body);
    CHECK(call_fetchable(gw.port(), sid));
    CHECK(edge.wait_for(1, 10s));

    server.stop();
    CHECK(eventually([&] { return readyz(gw.port()) == 503; }, 5s));
    const auto started = clock_type::now();
    const auto refused = stirgate::test::http_exchange(gw.port(), forward_request());
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(clock_type::now() - started < 3s);

    server.start();
    CHECK(eventually([&] { return readyz(gw.port()) == 200; }, 10s));
    std::optional<stirgate::test::http_reply> again;
    CHECK(eventually(
        [&] {
            again = stirgate::test::http_exchange(gw.port(), forward_request());
            return again && again->status == 201;
        },
        5s));
    CHECK(call_fetchable(gw.port(), sid));  // stored before the outage
    CHECK(gw.stop() == std::optional<int>(0));
}
