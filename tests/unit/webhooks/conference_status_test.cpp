// POST /webhooks/conference-status through the router with a memory_store: the edge's
// conference and participant events, signed as every edge request, move a conference forward
// and a participant in and out (issue #14 item 2).

#include "net/net.hpp"

#include <catch2/catch.hpp>

#include <optional>

#include <rapidjson/document.h>

#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "store/memory_store.hpp"
#include "support/handler_test.hpp"
#include "webhooks/conference_status.hpp"

namespace {

using namespace stirgate;

using test::account_sid;
constexpr const char* call_sid = "CA00000000000000000000000000000001";
constexpr const char* edge_token = "edge-secret-0123456789";
constexpr const char* host = "gw.example.test";
const std::string signed_url = std::string("http://") + host + "/webhooks/conference-status";
constexpr std::int64_t t0 = 1767225600;

struct fixture {
    store::memory_store db;
    net::router routes;
    std::int64_t now = t0;

    fixture()
    {
        store::call_record c;
        c.sid = call_sid;
        c.account_sid = account_sid;
        c.direction = store::call_direction::inbound;
        c.from = "+13105550100";
        c.to = "+14155550101";
        c.status = store::call_status::in_progress;
        c.date_created = t0;
        c.date_updated = t0;
        REQUIRE(db.insert_call(c));
        webhooks::add_conference_status_routes(
            routes,
            webhooks::call_status_dependencies{db, edge_token, {}, {}, [this] { return now; }, {}});
    }

    test::routed_reply report(const core::form_params& form,
                              std::optional<std::string> signature = std::nullopt)
    {
        if (!signature) signature = core::twilio_signature(edge_token, signed_url, form);
        auto ctx =
            test::form_post("/webhooks/conference-status", host, form, signature, "192.0.2.10");
        return test::parse_reply(test::dispatch(routes, ctx));
    }

    store::call_record call()
    {
        auto c = db.find_call(call_sid);
        REQUIRE(c);
        REQUIRE(*c);
        return **c;
    }
};

core::form_params by_name(std::string event, std::string name = "Lobby")
{
    core::form_params f;
    f.add("AccountSid", account_sid);
    f.add("FriendlyName", std::move(name));
    f.add("StatusCallbackEvent", std::move(event));
    return f;
}

core::form_params by_sid(const std::string& conference, std::string event,
                         std::optional<std::string> call = call_sid)
{
    core::form_params f;
    f.add("ConferenceSid", conference);
    f.add("StatusCallbackEvent", std::move(event));
    if (call) f.add("CallSid", *call);
    return f;
}

std::string sid_of(const test::routed_reply& r)
{
    INFO(r.body);
    REQUIRE(r.status == 200);
    REQUIRE(r.json.IsObject());
    REQUIRE(r.json.HasMember("conference_sid"));
    return r.json["conference_sid"].GetString();
}

int code_of(const test::routed_reply& r)
{
    REQUIRE(r.json.IsObject());
    REQUIRE(r.json.HasMember("code"));
    return r.json["code"].GetInt();
}

}  // namespace

TEST_CASE("a conference the edge starts by name is opened, joined, muted, left and ended",
          "[webhooks][conference]")
{
    fixture f;
    const std::string conference = sid_of(f.report(by_name("conference-start")));
    auto stored = f.db.get_conference(account_sid, conference);
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK((*stored)->friendly_name == "Lobby");
    CHECK((*stored)->status == store::conference_status::in_progress);

    // The same name while it lives is the same conference.
    auto join = by_name("participant-join");
    join.add("CallSid", call_sid);
    join.add("Label", "customer");
    join.add("EndConferenceOnExit", "true");
    CHECK(sid_of(f.report(join)) == conference);
    auto in = f.call().participant;
    REQUIRE(in);
    CHECK(in->conference_sid == conference);
    CHECK(in->label == "customer");
    CHECK(in->end_conference_on_exit);
    CHECK_FALSE(in->muted);

    CHECK(sid_of(f.report(by_sid(conference, "participant-mute"))) == conference);
    CHECK(f.call().participant->muted);
    CHECK(sid_of(f.report(by_sid(conference, "participant-hold"))) == conference);
    CHECK(f.call().participant->hold);
    CHECK(sid_of(f.report(by_sid(conference, "participant-unmute"))) == conference);
    CHECK_FALSE(f.call().participant->muted);
    CHECK(sid_of(f.report(by_sid(conference, "participant-speech-start"))) == conference);

    CHECK(sid_of(f.report(by_sid(conference, "participant-leave"))) == conference);
    CHECK_FALSE(f.call().participant);
    // Leaving twice, or a mute after leaving, changes nothing.
    CHECK(sid_of(f.report(by_sid(conference, "participant-leave"))) == conference);
    CHECK(sid_of(f.report(by_sid(conference, "participant-mute"))) == conference);
    CHECK_FALSE(f.call().participant);

    auto end = by_sid(conference, "conference-end", std::nullopt);
    end.add("ReasonConferenceEnded", "last-participant-left");
    end.add("CallSidEndingConference", call_sid);
    f.now += 60;
    CHECK(sid_of(f.report(end)) == conference);
    stored = f.db.get_conference(account_sid, conference);
    CHECK((*stored)->status == store::conference_status::completed);
    CHECK((*stored)->reason_ended == "last-participant-left");
    CHECK((*stored)->call_sid_ending == std::optional<std::string>(call_sid));
    // A late start does not reopen it; the name now opens a new conference.
    CHECK(sid_of(f.report(by_sid(conference, "conference-start", std::nullopt))) == conference);
    CHECK(f.db.get_conference(account_sid, conference).value()->status ==
          store::conference_status::completed);
    CHECK(sid_of(f.report(by_name("conference-start"))) != conference);
}

TEST_CASE("a participant report about an ended call changes nothing", "[webhooks][conference]")
{
    fixture f;
    const std::string conference = sid_of(f.report(by_name("conference-start")));
    store::call_update ended;
    ended.status = store::call_status::completed;
    REQUIRE(f.db.update_call_status(call_sid, ended));
    CHECK(sid_of(f.report(by_sid(conference, "participant-join"))) == conference);
    CHECK_FALSE(f.call().participant);
}

TEST_CASE("conference reports that are not the edge's, or malformed, are refused",
          "[webhooks][conference]")
{
    fixture f;
    const std::string conference = sid_of(f.report(by_name("conference-start")));
    const auto form = by_sid(conference, "participant-join");

    CHECK(f.report(form, std::string("bad")).status == 403);
    CHECK(f.report(form, "").status == 403);
    const auto wrong_event = f.report(by_sid(conference, "participant-dance"));
    CHECK(wrong_event.status == 400);
    CHECK(code_of(wrong_event) == 20001);
    const auto no_call = f.report(by_sid(conference, "participant-join", std::nullopt));
    CHECK(no_call.status == 400);
    const auto unknown_call =
        f.report(by_sid(conference, "participant-join", "CA0000000000000000000000000000ffff"));
    CHECK(unknown_call.status == 404);
    CHECK(code_of(unknown_call) == 20404);
    CHECK(f.report(by_sid("CF0000000000000000000000000000ffff", "conference-start")).status == 404);
    auto bad_flag = by_sid(conference, "participant-join");
    bad_flag.add("Muted", "sometimes");
    CHECK(f.report(bad_flag).status == 400);
    core::form_params nameless;
    nameless.add("StatusCallbackEvent", "conference-start");
    CHECK(f.report(nameless).status == 400);
    CHECK(f.report(by_name("conference-start", std::string(129, 'x'))).status == 400);
    auto bad_ending = by_sid(conference, "conference-end", std::nullopt);
    bad_ending.add("CallSidEndingConference", "nope");
    CHECK(f.report(bad_ending).status == 400);
    CHECK_FALSE(f.call().participant);
    CHECK(f.db.get_conference(account_sid, conference).value()->status ==
          store::conference_status::in_progress);
}
