#pragma once
// The outbox part of the store contract (store_behaviour.hpp has the rest): order, retries,
// deletion, idempotency keys, delivery tokens and the leases that let several gateways share one
// outbox. Each function is the body of one TEST_CASE, run against every store.

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "store/store.hpp"
#include "unit/store/store_behaviour.hpp"

namespace stirgate::test {

inline store::outbox_claim claim_for(std::string worker, std::int64_t now_ms,
                                     std::int64_t lease_ms = 1000, std::size_t limit = 100)
{
    store::outbox_claim c;
    c.worker = std::move(worker);
    c.now_ms = now_ms;
    c.lease_ms = lease_ms;
    c.limit = limit;
    return c;
}

inline std::vector<std::int64_t> ids_of(const std::vector<store::outbox_item>& items)
{
    std::vector<std::int64_t> ids;
    for (const auto& item : items) ids.push_back(item.id);
    return ids;
}

inline void store_outbox_behaviour(const store_factory& make)
{
    using namespace stirgate::store;
    auto s = make();
    const std::string sid = make_sid("CA", 1);
    const std::string worker = "gw-a:8080";

    SECTION("due items come oldest first, only once due, up to the limit")
    {
        auto ids = s->enqueue({make_item(sid, 300), make_item(sid, 100), make_item(sid, 200)});
        REQUIRE(ids);
        REQUIRE(ids->size() == 3);
        CHECK((*ids)[0] < (*ids)[1]);
        CHECK((*ids)[1] < (*ids)[2]);
        CHECK(s->depth().value() == 3);

        auto early = s->due_items(99, 10);
        REQUIRE(early);
        CHECK(early->empty());
        auto some = s->due_items(200, 10);
        REQUIRE(some);
        REQUIRE(some->size() == 2);
        CHECK((*some)[0].id == (*ids)[1]);
        CHECK((*some)[1].id == (*ids)[2]);
        auto limited = s->due_items(1000, 2);
        REQUIRE(limited);
        REQUIRE(limited->size() == 2);
        CHECK((*limited)[0].next_attempt_at_ms == 100);
        CHECK((*limited)[1].next_attempt_at_ms == 200);
    }

    SECTION("the summary counts every item and dates the oldest one due (the lag)")
    {
        auto empty = s->summarise_outbox(1000);
        REQUIRE(empty);
        CHECK(empty->items == 0);
        CHECK_FALSE(empty->oldest_due_at_ms);
        REQUIRE(s->enqueue({make_item(sid, 300), make_item(sid, 100), make_item(sid, 200)}));
        auto none_due = s->summarise_outbox(99);
        REQUIRE(none_due);
        CHECK(none_due->items == 3);
        CHECK_FALSE(none_due->oldest_due_at_ms);
        auto later = s->summarise_outbox(250);
        REQUIRE(later);
        CHECK(later->items == 3);
        CHECK(later->oldest_due_at_ms == std::optional<std::int64_t>(100));
        // A claimed item still waits for its delivery: it still counts.
        auto claimed = s->claim_due(claim_for(worker, 250));
        REQUIRE(claimed);
        CHECK(s->summarise_outbox(250)->oldest_due_at_ms == std::optional<std::int64_t>(100));
    }

    SECTION("equal due times come in id order")
    {
        auto ids = s->enqueue({make_item(sid, 100), make_item(sid, 100), make_item(sid, 100)});
        REQUIRE(ids);
        auto due = s->due_items(100, 10);
        REQUIRE(due);
        REQUIRE(due->size() == 3);
        for (std::size_t i = 0; i < 3; ++i) CHECK((*due)[i].id == (*ids)[i]);
    }

    SECTION("an item reads back as enqueued, with the delivery token the store gave it")
    {
        outbox_item item = make_item(sid, 100, "dial:" + sid);
        item.kind = outbox_kind::edge_dial;
        item.method = "GET";
        item.params = {{"CallSid", sid},
                       {"Identity", "eyJ.a.b;info=<https://x/a.pem>;ppt=shaken"},
                       {"Identity", "eyJ.c.d;ppt=\"div\""},
                       {"Note", "caf\xc3\xa9 & \"quotes\"\nnewline"}};
        item.headers = {{"X-Twilio-Signature", "abc+/="}};
        auto ids = s->enqueue({item});
        REQUIRE(ids);
        auto due = s->due_items(100, 1);
        REQUIRE(due);
        REQUIRE(due->size() == 1);
        CHECK(due->front().delivery_token.rfind("stirgate-", 0) == 0);
        item.id = ids->front();
        item.delivery_token = due->front().delivery_token;
        CHECK(due->front() == item);
    }

    SECTION("every kind reads back as enqueued")
    {
        for (const auto kind :
             {outbox_kind::edge_dial, outbox_kind::status_callback, outbox_kind::edge_control}) {
            outbox_item item = make_item(sid, 100);
            item.kind = kind;
            auto ids = s->enqueue({item});
            REQUIRE(ids);
            auto due = s->due_items(100, 10);
            REQUIRE(due);
            REQUIRE(due->size() == 1);
            CHECK(due->front().kind == kind);
            REQUIRE(s->claim_due({"w", 100, 1000, 10}));
            REQUIRE(s->mark_delivered(ids->front(), "w"));
        }
    }

    SECTION("every item gets its own delivery token; a given one is kept, a given claim is not")
    {
        auto given = make_item(sid, 100);
        given.delivery_token = "token-from-the-caller";
        given.claimed_by = "someone";
        given.claimed_until_ms = 1'000'000;
        REQUIRE(s->enqueue({make_item(sid, 100), make_item(sid, 100), given}));
        auto due = s->due_items(100, 10);
        REQUIRE(due);
        REQUIRE(due->size() == 3);
        CHECK((*due)[0].delivery_token != (*due)[1].delivery_token);
        CHECK((*due)[0].delivery_token.size() == 9 + 32);  // "stirgate-" + 128 bits in hex
        CHECK((*due)[2].delivery_token == "token-from-the-caller");
        CHECK((*due)[2].claimed_by.empty());
        CHECK((*due)[2].claimed_until_ms == 0);
        auto claimed = s->claim_due(claim_for(worker, 100));
        REQUIRE(claimed);
        CHECK(claimed->size() == 3);
    }

    SECTION("a failed delivery counts the attempt, moves the item back and releases it")
    {
        auto ids = s->enqueue({make_item(sid, 100), make_item(sid, 150)});
        REQUIRE(ids);
        REQUIRE(s->claim_due(claim_for(worker, 150)).value().size() == 2);
        REQUIRE(s->mark_failed((*ids)[0], worker, 400, "upstream_timeout"));
        auto due = s->due_items(399, 10);
        REQUIRE(due);
        REQUIRE(due->size() == 1);
        CHECK(due->front().id == (*ids)[1]);
        auto again = s->claim_due(claim_for("gw-b:8080", 500));
        REQUIRE(again);
        REQUIRE(again->size() == 1);  // the other item is still gw-a's
        CHECK(again->front().id == (*ids)[0]);
        REQUIRE(s->mark_failed((*ids)[0], "gw-b:8080", 500, "upstream_bad_response: 503"));
        auto later = s->due_items(500, 10);
        REQUIRE(later);
        REQUIRE(later->size() == 2);
        CHECK(later->back().id == (*ids)[0]);
        CHECK(later->back().attempts == 2);
        CHECK(later->back().last_error == "upstream_bad_response: 503");
        CHECK(later->back().next_attempt_at_ms == 500);
        CHECK(later->back().claimed_by.empty());
        CHECK(s->mark_failed(987654, worker, 1, "x").code() == errc::not_found);
    }

    SECTION("an item given up on moves to the dead letters, only by its holder")
    {
        auto ids = s->enqueue({make_item(sid, 100), make_item(sid, 100)});
        REQUIRE(ids);
        REQUIRE(s->claim_due(claim_for(worker, 100)).value().size() == 2);
        CHECK(s->mark_dead((*ids)[0], "gw-b:8080", 200, "x").code() == errc::conflict);
        REQUIRE(s->mark_dead((*ids)[0], worker, 200, "HTTP 500"));
        auto summary = s->summarise_outbox(10000);
        REQUIRE(summary);
        CHECK(summary->items == 1);
        CHECK(summary->dead_letters == 1);
        CHECK(s->mark_dead((*ids)[0], worker, 300, "again").code() == errc::not_found);
        REQUIRE(s->release_claims(worker));
        auto due = s->due_items(10000, 10);
        REQUIRE(due);
        REQUIRE(due->size() == 1);  // the dead one is never due again
        CHECK(due->front().id == (*ids)[1]);
        CHECK(s->mark_dead(987654, worker, 1, "x").code() == errc::not_found);
    }

    SECTION("a delivered item is deleted and its id is not reused")
    {
        auto ids = s->enqueue({make_item(sid, 100), make_item(sid, 100)});
        REQUIRE(ids);
        REQUIRE(s->claim_due(claim_for(worker, 100)));
        REQUIRE(s->mark_delivered((*ids)[1], worker));
        CHECK(s->depth().value() == 1);
        CHECK(s->mark_delivered((*ids)[1], worker).code() == errc::not_found);
        auto next = s->enqueue({make_item(sid, 100)});
        REQUIRE(next);
        CHECK(next->front() > (*ids)[1]);
        REQUIRE(s->claim_due(claim_for(worker, 100)));
        REQUIRE(s->mark_delivered((*ids)[0], worker));
        REQUIRE(s->mark_delivered(next->front(), worker));
        CHECK(s->depth().value() == 0);
        auto none = s->due_items(1000, 10);
        REQUIRE(none);
        CHECK(none->empty());
    }

    SECTION("an idempotency key already queued yields the queued item")
    {
        auto first = s->enqueue({make_item(sid, 100, "status:" + sid + ":ringing")});
        REQUIRE(first);
        auto again = s->enqueue({make_item(sid, 200, "status:" + sid + ":ringing"),
                                 make_item(sid, 200, "status:" + sid + ":completed")});
        REQUIRE(again);
        CHECK((*again)[0] == first->front());
        CHECK((*again)[1] != first->front());
        CHECK(s->depth().value() == 2);
        REQUIRE(s->claim_due(claim_for(worker, 100)));
        REQUIRE(s->mark_delivered(first->front(), worker));
        auto after = s->enqueue({make_item(sid, 300, "status:" + sid + ":ringing")});
        REQUIRE(after);
        CHECK(after->front() > (*again)[1]);
    }

    SECTION("invalid items are refused, together with the rest of their batch")
    {
        auto no_url = make_item(sid, 100);
        no_url.target_url.clear();
        auto no_call = make_item({}, 100);
        auto bad_method = make_item(sid, 100);
        bad_method.method = "DELETE";
        CHECK(s->enqueue({make_item(sid, 100), no_url}).code() == errc::invalid_parameter);
        CHECK(s->enqueue({no_call}).code() == errc::invalid_parameter);
        CHECK(s->enqueue({bad_method}).code() == errc::invalid_parameter);
        CHECK(s->depth().value() == 0);
    }
}

inline void store_lease_behaviour(const store_factory& make)
{
    using namespace stirgate::store;
    auto s = make();
    const std::string sid = make_sid("CA", 1);

    SECTION("a claim leases due items oldest first; no other claim gets them while it runs")
    {
        auto ids = s->enqueue({make_item(sid, 300), make_item(sid, 100), make_item(sid, 200)});
        REQUIRE(ids);
        auto a = s->claim_due(claim_for("a", 250, 1000));
        REQUIRE(a);
        CHECK(ids_of(*a) == std::vector<std::int64_t>{(*ids)[1], (*ids)[2]});
        for (const auto& item : *a) {
            CHECK(item.claimed_by == "a");
            CHECK(item.claimed_until_ms == 1250);
        }
        auto b = s->claim_due(claim_for("b", 250, 1000));
        REQUIRE(b);
        CHECK(b->empty());
        auto b_later = s->claim_due(claim_for("b", 300, 1000));
        REQUIRE(b_later);
        CHECK(ids_of(*b_later) == std::vector<std::int64_t>{(*ids)[0]});
        auto a_again = s->claim_due(claim_for("a", 1249, 1000));
        REQUIRE(a_again);
        CHECK(a_again->empty());  // a holder does not get its own items twice either
        // A look claims nothing and still shows every item.
        CHECK(s->due_items(1000, 10).value().size() == 3);
    }

    SECTION("a claim takes at most its limit")
    {
        REQUIRE(s->enqueue({make_item(sid, 100), make_item(sid, 100), make_item(sid, 100)}));
        CHECK(s->claim_due(claim_for("a", 100, 1000, 2)).value().size() == 2);
        CHECK(s->claim_due(claim_for("b", 100, 1000, 2)).value().size() == 1);
    }

    SECTION("an expired lease makes the items due again, and the old holder can no longer ack")
    {
        auto ids = s->enqueue({make_item(sid, 100)});
        REQUIRE(ids);
        const auto id = ids->front();
        REQUIRE(s->claim_due(claim_for("a", 100, 50)).value().size() == 1);
        CHECK(s->claim_due(claim_for("b", 149, 50)).value().empty());
        auto taken = s->claim_due(claim_for("b", 150, 50));
        REQUIRE(taken);
        REQUIRE(taken->size() == 1);
        CHECK(taken->front().claimed_by == "b");
        CHECK(s->mark_delivered(id, "a").code() == errc::conflict);
        CHECK(s->mark_failed(id, "a", 999, "late").code() == errc::conflict);
        auto kept = s->due_items(1000, 10);
        REQUIRE(kept);
        REQUIRE(kept->size() == 1);
        CHECK(kept->front().attempts == 0);  // a's late outcome changed nothing
        CHECK(kept->front().claimed_by == "b");
        REQUIRE(s->mark_delivered(id, "b"));
        CHECK(s->depth().value() == 0);
    }

    SECTION("an expired lease the holder still answers for is still its own")
    {
        auto ids = s->enqueue({make_item(sid, 100)});
        REQUIRE(ids);
        REQUIRE(s->claim_due(claim_for("a", 100, 50)).value().size() == 1);
        CHECK(s->mark_delivered(ids->front(), "a"));  // nobody re-claimed it meanwhile
    }

    SECTION("an item nobody claimed is nobody's to ack")
    {
        auto ids = s->enqueue({make_item(sid, 100)});
        REQUIRE(ids);
        CHECK(s->mark_delivered(ids->front(), "a").code() == errc::conflict);
        CHECK(s->mark_failed(ids->front(), "a", 200, "x").code() == errc::conflict);
        CHECK(s->depth().value() == 1);
    }

    SECTION("release_claims hands back what one worker holds, and only that")
    {
        REQUIRE(s->enqueue({make_item(sid, 100), make_item(sid, 100), make_item(sid, 100)}));
        REQUIRE(s->claim_due(claim_for("a", 100, 1000, 2)).value().size() == 2);
        REQUIRE(s->claim_due(claim_for("b", 100, 1000, 2)).value().size() == 1);
        CHECK(s->release_claims("a").value() == 2);
        CHECK(s->release_claims("a").value() == 0);
        auto c = s->claim_due(claim_for("c", 101, 1000));
        REQUIRE(c);
        CHECK(c->size() == 2);
        for (const auto& item : *c) CHECK(item.attempts == 0);
    }

    SECTION("claims without a worker or a lease are refused")
    {
        auto ids = s->enqueue({make_item(sid, 100)});
        REQUIRE(ids);
        CHECK(s->claim_due(claim_for("", 100)).code() == errc::invalid_parameter);
        CHECK(s->claim_due(claim_for("a", 100, 0)).code() == errc::invalid_parameter);
        CHECK(s->claim_due(claim_for("a", 100, -5)).code() == errc::invalid_parameter);
        CHECK(s->mark_delivered(ids->front(), "").code() == errc::invalid_parameter);
        CHECK(s->mark_failed(ids->front(), "", 1, "x").code() == errc::invalid_parameter);
        CHECK(s->release_claims("").code() == errc::invalid_parameter);
        CHECK(s->depth().value() == 1);
    }

    SECTION("workers claiming at the same time never get the same item")
    {
        constexpr int items = 60;
        std::vector<outbox_item> batch;
        for (int i = 0; i < items; ++i) batch.push_back(make_item(sid, 100));
        REQUIRE(s->enqueue(batch));
        std::mutex mutex;
        std::multiset<std::int64_t> seen;
        std::atomic<int> failures{0};
        std::vector<std::thread> workers;
        for (int w = 0; w < 4; ++w)
            workers.emplace_back([&, w] {
                const std::string name = "worker-" + std::to_string(w);
                for (int round = 0; round < 10; ++round) {
                    auto got = s->claim_due(claim_for(name, 100, 60000, 3));
                    if (!got) {
                        ++failures;
                        continue;
                    }
                    const std::lock_guard lock(mutex);
                    for (const auto& item : *got) seen.insert(item.id);
                }
            });
        for (auto& t : workers) t.join();
        CHECK(failures == 0);
        CHECK(seen.size() == items);
        CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == items);
    }
}

}  // namespace stirgate::test
