#pragma once
// Conferences and participants (issue #14 item 2), the same on every store: run by
// memory_store_test.cpp, sqlite_store_test.cpp and postgres_store_test.cpp. Each function is the
// body of one TEST_CASE; every SECTION gets a fresh store.

#include <future>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "store/store.hpp"
#include "unit/store/store_behaviour.hpp"

namespace stirgate::test {

inline store::conference_record make_conference(unsigned n, std::string name,
                                                const std::string& account = account_a,
                                                std::int64_t created = 1767225600)
{
    store::conference_record c;
    c.sid = make_sid("CF", n);
    c.account_sid = account;
    c.friendly_name = std::move(name);
    c.date_created = created;
    c.date_updated = created;
    return c;
}

inline store::participant_info make_participant(unsigned conference, std::string label = {})
{
    store::participant_info p;
    p.conference_sid = make_sid("CF", conference);
    p.label = std::move(label);
    return p;
}

inline store::conference_update conference_report(store::conference_status status, std::int64_t at)
{
    store::conference_update u;
    u.status = status;
    u.date_updated = at;
    return u;
}

inline std::vector<std::string> sids_of(const std::vector<store::call_record>& calls)
{
    std::vector<std::string> out;
    for (const auto& c : calls) out.push_back(c.sid);
    return out;
}

inline void store_conference_behaviour(const store_factory& make)
{
    using namespace stirgate::store;
    auto s = make();

    SECTION("a participant record is stored with its call, changed and removed by updates")
    {
        call_record c = make_call(1);
        participant_info p = make_participant(7, "customer");
        p.muted = true;
        p.start_conference_on_enter = false;
        p.end_conference_on_exit = true;
        c.participant = p;
        REQUIRE(s->insert_call(c));
        auto got = s->get_call(account_a, c.sid);
        REQUIRE(got);
        REQUIRE(*got == c);

        call_update hold;
        hold.date_updated = c.date_created + 5;
        p.hold = true;
        p.muted = false;
        hold.participant = p;
        auto held = s->update_call_status(c.sid, hold);
        REQUIRE(held);
        REQUIRE(held->participant == p);
        REQUIRE(held->status == call_status::queued);  // the status stays

        call_update other;  // an update that does not name the participant keeps it
        other.status = call_status::in_progress;
        other.date_updated = c.date_created + 6;
        auto answered = s->update_call_status(c.sid, other);
        REQUIRE(answered);
        REQUIRE(answered->participant == p);

        call_update leave;
        leave.date_updated = c.date_created + 9;
        leave.participant = std::optional<participant_info>();
        auto left = s->update_call_status(c.sid, leave);
        REQUIRE(left);
        REQUIRE_FALSE(left->participant);
        auto reread = s->get_call(account_a, c.sid);
        REQUIRE(reread);
        REQUIRE_FALSE((*reread)->participant);
    }

    SECTION("a conference's participants are its live calls, newest first and paged")
    {
        for (unsigned n = 1; n <= 4; ++n) {
            call_record c = make_call(n, account_a, 1767225600 + n);
            c.participant = make_participant(7);
            REQUIRE(s->insert_call(c));
        }
        call_record elsewhere = make_call(5);
        elsewhere.participant = make_participant(8);
        REQUIRE(s->insert_call(elsewhere));
        REQUIRE(s->insert_call(make_call(6)));  // in no conference
        REQUIRE(s->update_call_status(make_sid("CA", 2), status_update(call_status::completed)));

        call_filter f;
        f.conference_sid = make_sid("CF", 7);
        f.live_only = true;
        auto first = s->list_calls(account_a, f, 2, "");
        REQUIRE(first);
        REQUIRE(sids_of(first->calls) == std::vector{make_sid("CA", 4), make_sid("CA", 3)});
        REQUIRE(first->next_page_token);
        auto second = s->list_calls(account_a, f, 2, *first->next_page_token);
        REQUIRE(second);
        REQUIRE(sids_of(second->calls) == std::vector{make_sid("CA", 1)});
        REQUIRE_FALSE(second->next_page_token);

        auto other_account = s->list_calls(account_b, f, 10, "");
        REQUIRE(other_account);
        REQUIRE(other_account->calls.empty());
    }

    SECTION("open_conference stores a new one, then gives the live one of that name")
    {
        auto opened = s->open_conference(make_conference(1, "Room 1"));
        REQUIRE(opened);
        REQUIRE(opened->sid == make_sid("CF", 1));
        REQUIRE(opened->status == conference_status::init);

        auto again = s->open_conference(make_conference(2, "Room 1", account_a, 1767225700));
        REQUIRE(again);
        REQUIRE(*again == *opened);
        REQUIRE_FALSE(*s->get_conference(account_a, make_sid("CF", 2)));

        auto other_account = s->open_conference(make_conference(3, "Room 1", account_b));
        REQUIRE(other_account);
        REQUIRE(other_account->sid == make_sid("CF", 3));

        // Completed, the name opens a new conference.
        REQUIRE(s->update_conference(opened->sid,
                                     conference_report(conference_status::completed, 1767225650)));
        auto next = s->open_conference(make_conference(4, "Room 1", account_a, 1767225800));
        REQUIRE(next);
        REQUIRE(next->sid == make_sid("CF", 4));
    }

    SECTION("open_conference refuses a bad record and a sid that exists")
    {
        auto unnamed = s->open_conference(make_conference(1, ""));
        REQUIRE_FALSE(unnamed);
        REQUIRE(unnamed.code() == errc::invalid_parameter);
        auto long_name = s->open_conference(make_conference(1, std::string(129, 'r')));
        REQUIRE(long_name.code() == errc::invalid_parameter);
        conference_record bad_sid = make_conference(1, "Room");
        bad_sid.sid = make_sid("CA", 1);
        REQUIRE(s->open_conference(bad_sid).code() == errc::invalid_parameter);

        REQUIRE(s->open_conference(make_conference(1, "Room A")));
        auto taken = s->open_conference(make_conference(1, "Room B"));
        REQUIRE_FALSE(taken);
        REQUIRE(taken.code() == errc::conflict);
        REQUIRE(s->list_conferences(account_a, {}, 10, "")->conferences.size() == 1);
    }

    SECTION("first participants racing open one conference")
    {
        std::vector<std::future<result<conference_record>>> racers;
        for (unsigned n = 1; n <= 8; ++n)
            racers.push_back(std::async(std::launch::async, [&s, n] {
                return s->open_conference(make_conference(n, "Busy room"));
            }));
        std::string sid;
        for (auto& r : racers) {
            auto opened = r.get();
            REQUIRE(opened);
            if (sid.empty()) sid = opened->sid;
            REQUIRE(opened->sid == sid);
        }
        REQUIRE(s->list_conferences(account_a, {}, 10, "")->conferences.size() == 1);
    }

    SECTION("a conference is read only by its account")
    {
        REQUIRE(s->open_conference(make_conference(1, "Room")));
        REQUIRE(s->get_conference(account_a, make_sid("CF", 1))->has_value());
        REQUIRE_FALSE(s->get_conference(account_b, make_sid("CF", 1))->has_value());
        REQUIRE(s->get_conference(std::nullopt, make_sid("CF", 1))->has_value());
        REQUIRE_FALSE(s->get_conference(account_a, make_sid("CF", 2))->has_value());
    }

    SECTION("the edge's reports move a conference forward only; completed is final")
    {
        const std::string sid = make_sid("CF", 1);
        REQUIRE(s->open_conference(make_conference(1, "Room")));
        auto started = s->update_conference(
            sid, conference_report(conference_status::in_progress, 1767225610));
        REQUIRE(started);
        REQUIRE(started->status == conference_status::in_progress);
        REQUIRE(started->date_updated == 1767225610);

        auto late =
            s->update_conference(sid, conference_report(conference_status::init, 1767225620));
        REQUIRE(late);
        REQUIRE(late->status == conference_status::in_progress);
        REQUIRE(late->date_updated == 1767225610);

        conference_update end = conference_report(conference_status::completed, 1767225630);
        end.reason_ended = "last-participant-left";
        end.call_sid_ending = make_sid("CA", 9);
        auto ended = s->update_conference(sid, end);
        REQUIRE(ended);
        REQUIRE(ended->status == conference_status::completed);
        REQUIRE(ended->reason_ended == "last-participant-left");
        REQUIRE(ended->call_sid_ending == make_sid("CA", 9));

        conference_update again = conference_report(conference_status::completed, 1767225640);
        again.reason_ended = "conference-ended-via-api";
        auto repeated = s->update_conference(sid, again);
        REQUIRE(repeated);
        REQUIRE(*repeated == *ended);
        REQUIRE(**s->get_conference(account_a, sid) == *ended);

        auto unknown = s->update_conference(make_sid("CF", 2), again);
        REQUIRE_FALSE(unknown);
        REQUIRE(unknown.code() == errc::not_found);
    }

    SECTION("conference lists are newest first, filtered, and paged both ways")
    {
        for (unsigned n = 1; n <= 5; ++n)
            REQUIRE(s->open_conference(
                make_conference(n, "Room " + std::to_string(n), account_a, 1767225600 + n)));
        REQUIRE(s->open_conference(make_conference(6, "Room 6", account_b, 1767225700)));
        for (unsigned n : {2u, 4u})
            REQUIRE(s->update_conference(
                make_sid("CF", n), conference_report(conference_status::completed, 1767225650)));
        const auto sids = [](const conference_page& page) {
            std::vector<std::string> out;
            for (const auto& c : page.conferences) out.push_back(c.sid);
            return out;
        };

        auto all = s->list_conferences(account_a, {}, 10, "");
        REQUIRE(all);
        REQUIRE(sids(*all) == std::vector{make_sid("CF", 5), make_sid("CF", 4), make_sid("CF", 3),
                                          make_sid("CF", 2), make_sid("CF", 1)});
        conference_filter completed;
        completed.status = conference_status::completed;
        REQUIRE(sids(*s->list_conferences(account_a, completed, 10, "")) ==
                std::vector{make_sid("CF", 4), make_sid("CF", 2)});
        conference_filter named;
        named.friendly_name = "Room 3";
        REQUIRE(sids(*s->list_conferences(account_a, named, 10, "")) ==
                std::vector{make_sid("CF", 3)});

        auto first = s->list_conferences(account_a, {}, 2, "");
        REQUIRE(first);
        REQUIRE_FALSE(first->previous_page_token);
        REQUIRE(first->next_page_token == "PA" + make_sid("CF", 4));
        auto second = s->list_conferences(account_a, {}, 2, *first->next_page_token);
        REQUIRE(second);
        REQUIRE(sids(*second) == std::vector{make_sid("CF", 3), make_sid("CF", 2)});
        REQUIRE(second->previous_page_token);
        auto back = s->list_conferences(account_a, {}, 2, *second->previous_page_token);
        REQUIRE(back);
        REQUIRE(sids(*back) == sids(*first));

        // A call's token, another account's conference and garbage are all refused.
        REQUIRE(s->list_conferences(account_a, {}, 2, "PA" + make_sid("CA", 1)).code() ==
                errc::invalid_parameter);
        REQUIRE(s->list_conferences(account_a, {}, 2, "PA" + make_sid("CF", 6)).code() ==
                errc::invalid_parameter);
        REQUIRE(s->list_conferences(account_a, {}, 0, "").code() == errc::invalid_parameter);
    }
}

}  // namespace stirgate::test
