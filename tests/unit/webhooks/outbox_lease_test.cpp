// The outbox worker on a store shared by several gateways: leases keep two workers from sending
// one item at once, a dead worker's items go to a peer when its lease runs out (or at once to
// its own restart), and stopping hands back what was claimed and not finished.

#include "net/net.hpp"

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "unit/webhooks/outbox_fixture.hpp"
#include "webhooks/outbox.hpp"

using namespace std::chrono_literals;
using namespace stirgate::test::outbox_fixture;
using stirgate::webhooks::outbox_worker;

namespace {

stirgate::store::outbox_claim claim_as(std::string worker, std::int64_t now_ms,
                                       std::chrono::milliseconds lease)
{
    stirgate::store::outbox_claim c;
    c.worker = std::move(worker);
    c.now_ms = now_ms;
    c.lease_ms = lease.count();
    c.limit = 100;
    return c;
}

std::set<std::string> tokens_sent(const scripted_client& client)
{
    std::set<std::string> tokens;
    for (const auto& r : client.requests)
        tokens.insert(header(r, "I-Twilio-Idempotency-Token").value_or(""));
    return tokens;
}

}  // namespace

TEST_CASE("two workers sharing one store never send the same item at the same time",
          "[webhooks][outbox]")
{
    fixture f;
    f.client.gated = true;
    for (int i = 0; i < 6; ++i) f.enqueue(dial_item());
    auto a_options = f.options();
    a_options.max_concurrent = 2;
    a_options.worker_name = "gw-a:8080";
    auto b_options = a_options;
    b_options.worker_name = "gw-b:8080";
    outbox_worker a(f.io.get_executor(), f.st, f.client, f.client, a_options, f.deps());
    outbox_worker b(f.io.get_executor(), f.st, f.client, f.client, b_options, f.deps());
    a.start();
    b.start();
    pump(f.io);
    REQUIRE(f.client.requests.size() == 4);  // two slots each
    CHECK(tokens_sent(f.client).size() == 4);
    for (int round = 0; round < 6 && !f.pending().empty(); ++round) {
        f.client.release_waiting();
        pump(f.io);
    }
    CHECK(f.pending().empty());
    CHECK(f.client.requests.size() == 6);
    CHECK(tokens_sent(f.client).size() == 6);  // each item exactly once
    CHECK(a.stats().delivered + b.stats().delivered == 6);
    CHECK(a.stats().delivered >= 2);
    CHECK(b.stats().delivered >= 2);
}

TEST_CASE("the items of a worker that died go to a peer once its lease runs out",
          "[webhooks][outbox]")
{
    fixture f;
    f.enqueue(dial_item());
    // A gateway claimed it and died before sending: nothing in this process holds the lease.
    REQUIRE(f.st.claim_due(claim_as("gw-dead:8080", f.now, 60s)).value().size() == 1);
    auto o = f.options();
    o.worker_name = "gw-b:8080";
    o.lease = 60s;
    outbox_worker peer(f.io.get_executor(), f.st, f.client, f.client, o, f.deps());
    peer.start();
    pump(f.io);
    CHECK(f.client.requests.empty());

    f.now += 59'999;
    peer.notify();
    pump(f.io);
    CHECK(f.client.requests.empty());

    f.now += 1;
    peer.notify();
    pump(f.io);
    REQUIRE(f.client.requests.size() == 1);
    CHECK(header(f.client.requests[0], "I-Twilio-Idempotency-Token").value_or("") != "");
    CHECK(f.pending().empty());
    CHECK(peer.stats().delivered == 1);
}

TEST_CASE("a worker restarted under its name takes back its claims at once", "[webhooks][outbox]")
{
    fixture f;
    f.enqueue(dial_item());
    REQUIRE(f.st.claim_due(claim_as("gw-a:8080", f.now, 1h)).value().size() == 1);
    auto o = f.options();
    o.worker_name = "gw-a:8080";
    outbox_worker restarted(f.io.get_executor(), f.st, f.client, f.client, o, f.deps());
    CHECK(restarted.worker_name() == "gw-a:8080");
    restarted.start();
    pump(f.io);
    CHECK(f.client.requests.size() == 1);
    CHECK(f.pending().empty());
}

TEST_CASE("a delivery still running at stop keeps the worker's claims and still records its 2xx",
          "[webhooks][outbox]")
{
    fixture f;
    const auto settled_late = f.enqueue(dial_item());
    // A claim the worker holds without a delivery running: what a refused mark_* leaves.
    auto o = f.options();
    o.worker_name = "gw-a:8080";
    o.stop_timeout = 10ms;
    f.client.gated = true;
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, o, f.deps());
    worker.start();
    pump(f.io);
    REQUIRE(f.client.requests.size() == 1);  // hangs at the gate
    const auto unsettled = f.enqueue(dial_item());
    REQUIRE(f.st.claim_due(claim_as("gw-a:8080", f.now, 1h)).value().size() == 1);

    bool stopped = false;
    worker.stop([&stopped] { stopped = true; });
    REQUIRE(run_until(f.io, [&] { return stopped; }, 5s));
    // Still running: nothing is released, so no peer sends either item while this one may
    // still succeed.
    for (const auto& item : f.pending()) CHECK(item.claimed_by == "gw-a:8080");
    f.client.release_waiting();
    pump(f.io);
    auto left = f.pending();
    REQUIRE(left.size() == 1);  // the late 2xx was still recorded
    CHECK(left.front().id == unsettled);
    CHECK(worker.stats().lost_claims == 0);
    CHECK(settled_late != unsettled);
}

TEST_CASE("stopping with nothing in flight releases the worker's claims", "[webhooks][outbox]")
{
    fixture f;
    f.enqueue(dial_item());
    auto o = f.options();
    o.worker_name = "gw-a:8080";
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, o, f.deps());
    CHECK(outbox_worker(f.io.get_executor(), f.st, f.client, f.client, f.options(), f.deps())
              .worker_name()
              .rfind("outbox-", 0) == 0);  // no name given: a random one
    worker.start();
    pump(f.io);
    REQUIRE(f.pending().empty());
    // Held after the worker's last delivery (a mark_* the store refused leaves this).
    f.enqueue(dial_item());
    REQUIRE(f.st.claim_due(claim_as("gw-a:8080", f.now, 1h)).value().size() == 1);
    bool stopped = false;
    worker.stop([&stopped] { stopped = true; });
    pump(f.io);
    REQUIRE(stopped);
    REQUIRE(f.pending().size() == 1);
    CHECK(f.pending().front().claimed_by.empty());
}

TEST_CASE("an outcome for an item a peer re-claimed is a lost claim and leaves it to the peer",
          "[webhooks][outbox]")
{
    fixture f;
    f.client.gated = true;
    f.enqueue(dial_item());
    auto o = f.options();
    o.worker_name = "gw-a:8080";
    o.lease = 1s;
    outbox_worker worker(f.io.get_executor(), f.st, f.client, f.client, o, f.deps());
    worker.start();
    pump(f.io);
    REQUIRE(f.client.requests.size() == 1);
    // The delivery outlives its lease and a peer takes the item over.
    f.now += 1000;
    REQUIRE(f.st.claim_due(claim_as("gw-b:8080", f.now, 1h)).value().size() == 1);
    f.client.release_waiting();
    pump(f.io);
    CHECK(worker.stats().lost_claims == 1);
    CHECK(worker.stats().delivered == 0);
    CHECK(worker.stats().store_errors == 0);
    REQUIRE(f.pending().size() == 1);
    CHECK(f.pending().front().claimed_by == "gw-b:8080");
}
