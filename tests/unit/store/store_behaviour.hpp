#pragma once
// Behaviour every store implementation must show, run against each of them by
// memory_store_test.cpp, sqlite_store_test.cpp and postgres_store_test.cpp (one factory each;
// the outbox's part is in outbox_behaviour.hpp). Each function is the body
// of one TEST_CASE: Catch2 re-enters it once per SECTION, so every SECTION gets a fresh store.

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "store/store.hpp"

namespace stirgate::test {

using store_factory = std::function<std::unique_ptr<store::store>()>;

// "CA" + 32 hex digits ending in n: distinct, valid, and ordered like n.
inline std::string make_sid(const char* prefix, unsigned n)
{
    char buf[35];
    std::snprintf(buf, sizeof buf, "%s%032x", prefix, n);
    return buf;
}

inline const std::string account_a = make_sid("AC", 0xa);
inline const std::string account_b = make_sid("AC", 0xb);

inline store::call_record make_call(unsigned n, const std::string& account = account_a,
                                    std::int64_t created = 1767225600)
{
    store::call_record c;
    c.sid = make_sid("CA", n);
    c.account_sid = account;
    c.direction = store::call_direction::outbound_api;
    c.from = "+13105550100";
    c.to = "+16505550102";
    c.status = store::call_status::queued;
    c.date_created = created;
    c.date_updated = created;
    c.url = "https://app.example.test/twiml";
    return c;
}

inline store::outbox_item make_item(std::string call_sid, std::int64_t next_ms,
                                    std::string key = {})
{
    store::outbox_item item;
    item.kind = store::outbox_kind::status_callback;
    item.call_sid = std::move(call_sid);
    item.target_url = "https://app.example.test/status";
    item.params = {{"CallSid", item.call_sid}, {"CallStatus", "ringing"}};
    item.next_attempt_at_ms = next_ms;
    item.created_at_ms = 1767225600000;
    item.idempotency_key = std::move(key);
    return item;
}

// g++ 12 warns (-Wmissing-field-initializers) on designated initialisers that leave members
// out, so updates and filters are built by these helpers.
inline store::call_update status_update(store::call_status status, std::int64_t at = 0,
                                        std::vector<store::call_status> only_from = {})
{
    store::call_update u;
    u.status = status;
    u.date_updated = at;
    u.only_from = std::move(only_from);
    return u;
}

inline store::insert_limits leg_limit(std::size_t max_legs_per_parent)
{
    store::insert_limits limits;
    limits.max_legs_per_parent = max_legs_per_parent;
    return limits;
}

inline store::call_filter filter_to(std::string to)
{
    store::call_filter f;
    f.to = std::move(to);
    return f;
}

inline store::call_filter filter_from(std::string from)
{
    store::call_filter f;
    f.from = std::move(from);
    return f;
}

inline void store_calls_behaviour(const store_factory& make)
{
    using namespace stirgate::store;
    auto s = make();

    SECTION("a call reads back with every field as it was stored")
    {
        call_record c = make_call(1);
        c.parent_call_sid = make_sid("CA", 0xfff);
        c.direction = call_direction::inbound;
        c.status = call_status::completed;
        c.date_updated = c.date_created + 40;
        c.start_time = c.date_created + 5;
        c.end_time = c.date_created + 40;
        c.duration = 35;
        c.method = "GET";
        c.fallback_url = "https://app.example.test/fallback";
        c.fallback_method = "GET";
        c.status_callback = "https://app.example.test/status";
        c.status_callback_method = "GET";
        c.status_callback_events = {"initiated", "ringing", "answered", "completed"};
        c.identity_headers = {"eyJ.a.b;info=<https://cert.example/a.pem>;alg=ES256;ppt=shaken",
                              "eyJ.c.d;info=<https://cert.example/b.pem>;ppt=\"div\""};
        c.attestation = core::attestation::B;
        c.stir_verstat = "TN-Validation-Passed-B-Diverted";
        c.calltoken = R"({"callSid":"CA...","from":"+13105550100","iat":"1767225600"})";
        c.forwarded_from = "+14155550101";
        REQUIRE(s->insert_call(c));

        auto got = s->get_call(account_a, c.sid);
        REQUIRE(got);
        REQUIRE(got->has_value());
        CHECK(**got == c);
        auto found = s->find_call(c.sid);
        REQUIRE(found);
        REQUIRE(found->has_value());
        CHECK(**found == c);
    }

    SECTION("optional fields stay unset")
    {
        const call_record c = make_call(2);
        REQUIRE(s->insert_call(c));
        auto got = s->find_call(c.sid);
        REQUIRE(got);
        REQUIRE(got->has_value());
        CHECK(**got == c);
        CHECK_FALSE((*got)->duration);
        CHECK_FALSE((*got)->attestation);
        CHECK((*got)->identity_headers.empty());
    }

    SECTION("a duplicate sid is a conflict, in any account, and keeps the first call")
    {
        REQUIRE(s->insert_call(make_call(3)));
        call_record again = make_call(3);
        again.to = "+19995550000";
        CHECK(s->insert_call(again).code() == errc::conflict);
        CHECK(s->insert_call(make_call(3, account_b)).code() == errc::conflict);
        auto got = s->find_call(make_sid("CA", 3));
        REQUIRE(got);
        CHECK((*got)->to == "+16505550102");
        CHECK((*got)->account_sid == account_a);
    }

    SECTION("malformed records are refused")
    {
        call_record bad = make_call(4);
        bad.sid = "CA123";
        CHECK(s->insert_call(bad).code() == errc::invalid_parameter);
        bad = make_call(4);
        bad.account_sid = "XX" + bad.account_sid.substr(2);
        CHECK(s->insert_call(bad).code() == errc::invalid_parameter);
        bad = make_call(4);
        bad.method = "PUT";
        CHECK(s->insert_call(bad).code() == errc::invalid_parameter);
        bad = make_call(4);
        bad.parent_call_sid = "nope";
        CHECK(s->insert_call(bad).code() == errc::invalid_parameter);
        auto got = s->find_call(make_sid("CA", 4));
        REQUIRE(got);
        CHECK_FALSE(got->has_value());
    }

    SECTION("get_call does not show another account's call; find_call does")
    {
        REQUIRE(s->insert_call(make_call(5, account_b)));
        auto other = s->get_call(account_a, make_sid("CA", 5));
        REQUIRE(other);
        CHECK_FALSE(other->has_value());
        auto own = s->get_call(account_b, make_sid("CA", 5));
        REQUIRE(own);
        CHECK(own->has_value());
        auto unknown = s->find_call(make_sid("CA", 6));
        REQUIRE(unknown);
        CHECK_FALSE(unknown->has_value());
    }

    SECTION("a status update sets status and the given times, keeping the others")
    {
        REQUIRE(s->insert_call(make_call(7)));
        auto ringing = s->update_call_status(make_sid("CA", 7),
                                             status_update(call_status::ringing, 1767225601));
        REQUIRE(ringing);
        CHECK(ringing->status == call_status::ringing);
        CHECK(ringing->date_updated == 1767225601);
        CHECK_FALSE(ringing->start_time);

        auto answered = s->update_call_status(make_sid("CA", 7), [] {
            auto u = status_update(call_status::in_progress, 1767225603);
            u.start_time = 1767225603;
            return u;
        }());
        REQUIRE(answered);
        auto done = s->update_call_status(make_sid("CA", 7), [] {
            auto u = status_update(call_status::completed, 1767225633);
            u.end_time = 1767225633;
            u.duration = 30;
            return u;
        }());
        REQUIRE(done);
        CHECK(done->status == call_status::completed);
        CHECK(done->start_time == 1767225603);
        CHECK(done->end_time == 1767225633);
        CHECK(done->duration == 30);
        CHECK(done->date_created == 1767225600);
        auto stored = s->find_call(make_sid("CA", 7));
        REQUIRE(stored);
        CHECK(**stored == *done);
    }

    SECTION("updating an unknown call is not_found")
    {
        auto r = s->update_call_status(make_sid("CA", 8), status_update(call_status::ringing));
        CHECK(r.code() == errc::not_found);
    }

    SECTION("only_from refuses a change from another status and changes nothing")
    {
        REQUIRE(s->insert_call(make_call(9)));
        REQUIRE(s->update_call_status(make_sid("CA", 9),
                                      status_update(call_status::in_progress, 1767225610)));
        auto cancel = s->update_call_status(
            make_sid("CA", 9), status_update(call_status::canceled, 1767225611,
                                             {call_status::queued, call_status::ringing}));
        CHECK(cancel.code() == errc::conflict);
        auto stored = s->find_call(make_sid("CA", 9));
        REQUIRE(stored);
        CHECK((*stored)->status == call_status::in_progress);
        CHECK((*stored)->date_updated == 1767225610);

        auto hangup = s->update_call_status(
            make_sid("CA", 9),
            status_update(call_status::completed, 1767225612, {call_status::in_progress}));
        CHECK(hangup);
    }

    SECTION("an update without a status changes the call's instructions, under only_from")
    {
        REQUIRE(s->insert_call(make_call(10)));
        call_update redirect;
        redirect.date_updated = 1767225620;
        redirect.url = "https://app.example.test/next";
        redirect.method = "GET";
        redirect.fallback_url = "https://app.example.test/fallback";
        redirect.fallback_method = "GET";
        redirect.status_callback = "https://app.example.test/status";
        redirect.status_callback_method = "GET";
        redirect.only_from = {call_status::queued};
        auto after = s->update_call_status(make_sid("CA", 10), redirect);
        REQUIRE(after);
        call_record expected = make_call(10);
        apply(expected, redirect);
        CHECK(*after == expected);
        CHECK(after->status == call_status::queued);
        CHECK(s->find_call(make_sid("CA", 10)).value().value() == expected);
        // A bad method is refused; another status than only_from allows changes nothing.
        call_update bad = redirect;
        bad.method = "PUT";
        CHECK(s->update_call_status(make_sid("CA", 10), bad).code() == errc::invalid_parameter);
        call_update late = redirect;
        late.url = "https://app.example.test/late";
        late.only_from = {call_status::in_progress};
        CHECK(s->update_call_status(make_sid("CA", 10), late).code() == errc::conflict);
        CHECK(s->find_call(make_sid("CA", 10)).value().value() == expected);
    }

    SECTION("only an ended call is deleted, and only by its account")
    {
        REQUIRE(s->insert_call(make_call(11)));
        const std::string sid = make_sid("CA", 11);
        const auto live = s->delete_call(account_a, sid);
        CHECK(live.code() == errc::conflict);
        CHECK(live.err().detail == "call " + sid + " is queued");
        REQUIRE(s->update_call_status(sid, status_update(call_status::completed, 1767225630)));
        CHECK(s->delete_call(account_b, sid).code() == errc::not_found);
        CHECK(s->find_call(sid).value().has_value());
        CHECK(s->delete_call(account_a, sid));
        CHECK_FALSE(s->find_call(sid).value().has_value());
        CHECK(s->delete_call(account_a, sid).code() == errc::not_found);
        // The sid is free again for nobody's sake: a new call with it is a new record.
        REQUIRE(s->insert_call(make_call(11)));
    }

    SECTION("a status update and its callbacks are stored together or not at all")
    {
        REQUIRE(s->insert_call(make_call(10)));
        auto bad = make_item({}, 100);
        bad.target_url.clear();
        auto refused = s->update_call_status_with_outbox(
            make_sid("CA", 10), status_update(call_status::ringing, 5), {make_item({}, 100), bad});
        CHECK(refused.code() == errc::invalid_parameter);
        auto stored = s->find_call(make_sid("CA", 10));
        REQUIRE(stored);
        CHECK((*stored)->status == call_status::queued);
        CHECK(s->depth().value() == 0);

        auto accepted = s->update_call_status_with_outbox(
            make_sid("CA", 10), status_update(call_status::ringing, 5), {make_item({}, 100)});
        REQUIRE(accepted);
        CHECK(accepted->status == call_status::ringing);
        auto due = s->due_items(100, 10);
        REQUIRE(due);
        REQUIRE(due->size() == 1);
        CHECK(due->front().call_sid == make_sid("CA", 10));  // filled in from the call
    }

    SECTION("the callback form reports through the callback")
    {
        // Callbacks may run on the store's thread, where Catch2 must not be called: record,
        // then check here. The read starts once the write reported (a read may overtake a
        // write still running on PostgreSQL's pool).
        result<void> inserted;
        result<std::optional<call_record>> seen;
        std::promise<void> written;
        std::promise<void> done;
        s->insert_call(make_call(11), [&](result<void> r) {
            inserted = std::move(r);
            written.set_value();
        });
        written.get_future().wait();
        s->find_call(make_sid("CA", 11), [&](result<std::optional<call_record>> r) {
            seen = std::move(r);
            done.set_value();
        });
        done.get_future().wait();
        CHECK(inserted);
        REQUIRE(seen);
        CHECK(seen->has_value());
    }
}

inline void store_list_behaviour(const store_factory& make)
{
    using namespace stirgate::store;
    auto s = make();

    // Seven calls of account A, with ties on date_created so the sid tie-break matters,
    // and two of account B.
    const std::vector<std::pair<unsigned, std::int64_t>> seeds{
        {1, 100}, {2, 100}, {3, 101}, {4, 102}, {5, 102}, {6, 102}, {7, 103}};
    for (const auto& [n, created] : seeds) {
        call_record c = make_call(n, account_a, created);
        c.to = n % 2 ? "+16505550001" : "+16505550002";
        c.from = n <= 3 ? "+13105550100" : "+13105550200";
        c.status = n == 4 ? call_status::completed : call_status::queued;
        if (n >= 6) c.parent_call_sid = make_sid("CA", 0xf00);
        REQUIRE(s->insert_call(c));
    }
    REQUIRE(s->insert_call(make_call(0x101, account_b, 104)));
    REQUIRE(s->insert_call(make_call(0x102, account_b, 99)));

    // Newest first: date_created DESC, sid DESC.
    const std::vector<unsigned> newest_first{7, 6, 5, 4, 3, 2, 1};
    const auto sids_of = [](const call_page& p) {
        std::vector<std::string> out;
        for (const auto& c : p.calls) out.push_back(c.sid);
        return out;
    };
    const auto expected = [](std::vector<unsigned> ns) {
        std::vector<std::string> out;
        for (unsigned n : ns) out.push_back(make_sid("CA", n));
        return out;
    };

    SECTION("paging 7 calls by 3 shows each exactly once, newest first")
    {
        std::vector<std::string> all;
        std::vector<std::size_t> sizes;
        std::string token;
        for (int guard = 0; guard < 10; ++guard) {
            auto page = s->list_calls(account_a, {}, 3, token);
            REQUIRE(page);
            sizes.push_back(page->calls.size());
            for (auto& sid : sids_of(*page)) all.push_back(sid);
            if (!page->next_page_token) break;
            CHECK(*page->next_page_token == "PA" + page->calls.back().sid);
            token = *page->next_page_token;
        }
        CHECK(sizes == std::vector<std::size_t>{3, 3, 1});
        CHECK(all == expected(newest_first));
    }

    SECTION("previous tokens page back newer-ward to the first page, filters kept")
    {
        std::vector<call_page> pages;
        std::string token;
        for (int guard = 0; guard < 10; ++guard) {
            auto page = s->list_calls(account_a, {}, 3, token);
            REQUIRE(page);
            pages.push_back(*page);
            if (!page->next_page_token) break;
            token = *page->next_page_token;
        }
        REQUIRE(pages.size() == 3);
        CHECK_FALSE(pages[0].previous_page_token);
        REQUIRE(pages[2].previous_page_token);
        CHECK(*pages[2].previous_page_token == "PB" + pages[2].calls.front().sid);
        auto back = s->list_calls(account_a, {}, 3, *pages[2].previous_page_token);
        REQUIRE(back);
        CHECK(sids_of(*back) == sids_of(pages[1]));
        CHECK(back->next_page_token == pages[1].next_page_token);
        REQUIRE(back->previous_page_token);
        auto first = s->list_calls(account_a, {}, 3, *back->previous_page_token);
        REQUIRE(first);
        CHECK(sids_of(*first) == sids_of(pages[0]));
        CHECK_FALSE(first->previous_page_token);  // nothing is newer than the newest call
        REQUIRE(first->next_page_token);
        // A partial page back: before call 2 (of 7..1) with room for 3 are 5, 4, 3.
        auto partial = s->list_calls(account_a, {}, 3, "PB" + make_sid("CA", 2));
        REQUIRE(partial);
        CHECK(sids_of(*partial) == expected({5, 4, 3}));
        CHECK(partial->previous_page_token == "PB" + make_sid("CA", 5));
        // With a filter: the To +16505550001 calls are 7, 5, 3, 1.
        auto filtered = s->list_calls(account_a, filter_to("+16505550001"), 2,
                                      "PB" + make_sid("CA", 1));
        REQUIRE(filtered);
        CHECK(sids_of(*filtered) == expected({5, 3}));
        CHECK(filtered->previous_page_token == "PB" + make_sid("CA", 5));
        CHECK(filtered->next_page_token == "PA" + make_sid("CA", 3));
        // Before the newest call there is nothing.
        auto none = s->list_calls(account_a, {}, 3, "PB" + make_sid("CA", 7));
        REQUIRE(none);
        CHECK(none->calls.empty());
        CHECK_FALSE(none->next_page_token);
        CHECK_FALSE(none->previous_page_token);
    }

    SECTION("a page that ends exactly at the last call has no next token")
    {
        auto page = s->list_calls(account_a, {}, 7, {});
        REQUIRE(page);
        CHECK(page->calls.size() == 7);
        CHECK_FALSE(page->next_page_token);
    }

    SECTION("calls inserted between pages neither repeat nor skip a listed call")
    {
        auto first = s->list_calls(account_a, {}, 3, {});
        REQUIRE(first);
        REQUIRE(s->insert_call(make_call(0x20, account_a, 200)));  // newer than the cursor
        REQUIRE(s->insert_call(make_call(0x21, account_a, 101)));  // older: listed later
        std::vector<std::string> all = sids_of(*first);
        std::string token = *first->next_page_token;
        for (int guard = 0; guard < 10 && !token.empty(); ++guard) {
            auto page = s->list_calls(account_a, {}, 3, token);
            REQUIRE(page);
            for (auto& sid : sids_of(*page)) all.push_back(sid);
            token = page->next_page_token.value_or("");
        }
        CHECK(all == expected({7, 6, 5, 4, 0x21, 3, 2, 1}));
    }

    SECTION("lists never show another account's calls")
    {
        auto b = s->list_calls(account_b, {}, 50, {});
        REQUIRE(b);
        CHECK(sids_of(*b) == expected({0x101, 0x102}));
        auto none = s->list_calls(make_sid("AC", 0xc), {}, 50, {});
        REQUIRE(none);
        CHECK(none->calls.empty());
        CHECK_FALSE(none->next_page_token);
    }

    SECTION("a page token from another account's list is refused")
    {
        auto b = s->list_calls(account_b, {}, 1, {});
        REQUIRE(b);
        REQUIRE(b->next_page_token);
        auto crossed = s->list_calls(account_a, {}, 3, *b->next_page_token);
        CHECK(crossed.code() == errc::invalid_parameter);
    }

    SECTION("malformed page tokens and page sizes are refused")
    {
        CHECK(s->list_calls(account_a, {}, 3, "PA").code() == errc::invalid_parameter);
        CHECK(s->list_calls(account_a, {}, 3, "XX" + make_sid("CA", 1)).code() ==
              errc::invalid_parameter);
        CHECK(s->list_calls(account_a, {}, 3, "PA" + make_sid("CA", 0x999)).code() ==
              errc::invalid_parameter);
        CHECK(s->list_calls(account_a, {}, 0, {}).code() == errc::invalid_parameter);
        CHECK(s->list_calls(account_a, {}, max_page_size + 1, {}).code() ==
              errc::invalid_parameter);
        CHECK(s->list_calls(account_a, {}, max_page_size, {}));
    }

    SECTION("each filter selects its calls, and filters combine")
    {
        auto to = s->list_calls(account_a, filter_to("+16505550001"), 50, {});
        REQUIRE(to);
        CHECK(sids_of(*to) == expected({7, 5, 3, 1}));
        auto from = s->list_calls(account_a, filter_from("+13105550100"), 50, {});
        REQUIRE(from);
        CHECK(sids_of(*from) == expected({3, 2, 1}));
        call_filter completed;
        completed.status = call_status::completed;
        auto status = s->list_calls(account_a, completed, 50, {});
        REQUIRE(status);
        CHECK(sids_of(*status) == expected({4}));
        call_filter children;
        children.parent_call_sid = make_sid("CA", 0xf00);
        auto parent = s->list_calls(account_a, children, 50, {});
        REQUIRE(parent);
        CHECK(sids_of(*parent) == expected({7, 6}));
        call_filter to_and_from = filter_to("+16505550002");
        to_and_from.from = "+13105550200";
        auto both = s->list_calls(account_a, to_and_from, 50, {});
        REQUIRE(both);
        CHECK(sids_of(*both) == expected({6, 4}));
        auto nothing = s->list_calls(account_b, filter_to("+16505550001"), 50, {});
        REQUIRE(nothing);
        CHECK(nothing->calls.empty());
    }

    SECTION("filtered lists page too")
    {
        auto first = s->list_calls(account_a, filter_to("+16505550001"), 3, {});
        REQUIRE(first);
        CHECK(sids_of(*first) == expected({7, 5, 3}));
        REQUIRE(first->next_page_token);
        auto second =
            s->list_calls(account_a, filter_to("+16505550001"), 3, *first->next_page_token);
        REQUIRE(second);
        CHECK(sids_of(*second) == expected({1}));
        CHECK_FALSE(second->next_page_token);
    }
}

inline void store_atomic_behaviour(const store_factory& make)
{
    using namespace stirgate::store;
    auto s = make();
    const call_record call = make_call(1);

    SECTION("a call and its outbox items are stored together")
    {
        outbox_item dial = make_item({}, 100, "dial:" + call.sid);
        dial.kind = outbox_kind::edge_dial;
        auto ids = s->insert_call_with_outbox(call, {dial, make_item({}, 100)});
        REQUIRE(ids);
        CHECK(ids->size() == 2);
        CHECK(s->depth().value() == 2);
        auto due = s->due_items(100, 10);
        REQUIRE(due);
        for (const auto& item : *due) CHECK(item.call_sid == call.sid);
        CHECK(due->front().kind == outbox_kind::edge_dial);
        auto stored = s->find_call(call.sid);
        REQUIRE(stored);
        CHECK(stored->has_value());
    }

    SECTION("when an outbox item fails the call is not stored either")
    {
        auto bad = make_item({}, 100);
        bad.target_url.clear();
        auto r = s->insert_call_with_outbox(call, {make_item({}, 100), bad});
        CHECK(r.code() == errc::invalid_parameter);
        auto stored = s->find_call(call.sid);
        REQUIRE(stored);
        CHECK_FALSE(stored->has_value());
        CHECK(s->depth().value() == 0);
        // Nothing half-stored blocks a retry.
        CHECK(s->insert_call_with_outbox(call, {make_item({}, 100)}));
        CHECK(s->depth().value() == 1);
    }

    SECTION("when the call is a duplicate no outbox item is stored")
    {
        REQUIRE(s->insert_call(call));
        auto r = s->insert_call_with_outbox(call, {make_item({}, 100)});
        CHECK(r.code() == errc::conflict);
        CHECK(s->depth().value() == 0);
    }

    SECTION("a known parent's legs stop at max_legs_per_parent, also when inserted concurrently")
    {
        REQUIRE(s->insert_call(call));
        const insert_limits limits = leg_limit(5);
        // Odd legs come with an outbox item, even ones without: both ways of inserting count.
        std::vector<std::future<result<std::vector<std::int64_t>>>> inserts;
        for (unsigned n = 0; n < 16; ++n) {
            call_record leg = make_call(100 + n);
            leg.parent_call_sid = call.sid;
            std::vector<outbox_item> items;
            if (n % 2 == 1) items.push_back(make_item({}, 100));
            inserts.push_back(std::async(std::launch::async, [&s, leg, items, limits] {
                return s->insert_call_with_outbox(leg, items, limits);
            }));
        }
        int stored = 0;
        std::size_t items_stored = 0;
        for (auto& f : inserts) {
            const auto r = f.get();
            if (r) {
                ++stored;
                items_stored += r->size();
            } else {
                CHECK(r.code() == errc::calltoken_leg_limit);
                CHECK(r.err().detail == "parent call " + call.sid + " already has 5 forwarded calls");
            }
        }
        CHECK(stored == 5);
        CHECK(s->depth().value() == items_stored);  // a refused leg leaves no outbox item behind
        call_filter children;
        children.parent_call_sid = call.sid;
        CHECK(s->list_calls(account_a, children, 100, "").value().calls.size() == 5);
        // Without the limit (0) the same parent takes more.
        call_record more = make_call(200);
        more.parent_call_sid = call.sid;
        CHECK(s->insert_call_with_outbox(more, {}, leg_limit(0)));
    }

    SECTION("a parent the store never saw is not limited")
    {
        for (unsigned n = 0; n < 3; ++n) {
            call_record leg = make_call(300 + n);
            leg.parent_call_sid = make_sid("CA", 0xf00);
            CHECK(s->insert_call_with_outbox(leg, {}, leg_limit(1)));
        }
    }

    SECTION("check_parent sees the stored parent; its refusal stores nothing")
    {
        call_record ended = call;
        ended.status = call_status::completed;
        REQUIRE(s->insert_call(ended));
        auto seen = std::make_shared<std::atomic<int>>(0);
        insert_limits limits;
        limits.check_parent = [seen](const call_record& parent) -> result<void> {
            ++*seen;
            if (parent.status == call_status::completed)
                return error{errc::calltoken_parent_ended, "parent call is completed"};
            return {};
        };
        for (const bool with_item : {false, true}) {
            call_record leg = make_call(with_item ? 401 : 400);
            leg.parent_call_sid = call.sid;
            std::vector<outbox_item> items;
            if (with_item) items.push_back(make_item({}, 100));
            const auto r = s->insert_call_with_outbox(leg, items, limits);
            CHECK(r.code() == errc::calltoken_parent_ended);
            CHECK(r.err().detail == "parent call is completed");
            CHECK_FALSE(s->find_call(leg.sid).value().has_value());
        }
        CHECK(seen->load() == 2);
        CHECK(s->depth().value() == 0);
        // A parent the store never saw is not handed to the check; the leg is stored.
        call_record foreign_leg = make_call(402);
        foreign_leg.parent_call_sid = make_sid("CA", 0xf01);
        CHECK(s->insert_call_with_outbox(foreign_leg, {make_item({}, 100)}, limits));
        CHECK(seen->load() == 2);
        CHECK(s->find_call(foreign_leg.sid).value().has_value());
        // The check passes for a live parent, and the leg is stored with its item.
        call_record live = make_call(403);
        REQUIRE(s->insert_call(live));
        call_record live_leg = make_call(404);
        live_leg.parent_call_sid = live.sid;
        CHECK(s->insert_call_with_outbox(live_leg, {make_item({}, 100)}, limits).value().size() == 1);
        CHECK(seen->load() == 3);
        CHECK(s->find_call(live_leg.sid).value().has_value());
    }
}

}  // namespace stirgate::test
