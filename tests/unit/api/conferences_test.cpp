// Conferences and Conference Participants through the router with a memory_store (issue #14
// item 2): a participant added with a CallToken is the Calls API's forward (SHAKEN + DIV, the
// same refusals) joining a conference opened by FriendlyName; fetch, list, update and kick.

#include "unit/api/calls_fixture.hpp"

namespace {

const std::string account_base = std::string("/2010-04-01/Accounts/") + account_sid;
const std::string conferences_path = account_base + "/Conferences.json";

std::string participants_path(const std::string& conference)
{
    return account_base + "/Conferences/" + conference + "/Participants.json";
}

std::string participant_path(const std::string& conference, const std::string& call)
{
    return account_base + "/Conferences/" + conference + "/Participants/" + call + ".json";
}

core::form_params participant(std::string from = "+14155550101", std::string to = "+16505550102")
{
    core::form_params f;
    f.add("From", std::move(from));
    f.add("To", std::move(to));
    return f;
}

core::form_params forwarded_participant(std::string token)
{
    core::form_params f = participant("+13105550100");
    f.add("CallToken", std::move(token));
    return f;
}

std::vector<store::outbox_item> items_of_kind(fixture& f, store::outbox_kind kind)
{
    auto items = f.db.due_items(f.now * 1000 + 1, 100);
    REQUIRE(items);
    std::vector<store::outbox_item> out;
    for (auto& i : *items)
        if (i.kind == kind) out.push_back(i);
    return out;
}

std::string param(const store::outbox_item& item, std::string_view name)
{
    const auto values = params_named(item, name);
    REQUIRE(values.size() == 1);
    return values.front();
}

bool flag(const rapidjson::Value& obj, const char* name)
{
    REQUIRE(obj.HasMember(name));
    REQUIRE(obj[name].IsBool());
    return obj[name].GetBool();
}

store::call_update test_status(store::call_status status)
{
    store::call_update u;
    u.status = status;
    return u;
}

std::size_t conferences_stored(fixture& f)
{
    auto page = f.db.list_conferences(account_sid, {}, store::max_page_size, "");
    REQUIRE(page);
    return page->conferences.size();
}

}  // namespace

TEST_CASE("a participant added with a CallToken is a forward into a conference opened by name",
          "[api][conference]")
{
    fixture f;
    const auto platform = test::vector_private_key("pki/platform-calltoken.key.pem");
    const auto inbound = g1_identities();
    f.now = test::vectors_verify_at + 20;
    auto form = forwarded_participant(mint(platform, inbound, test::vectors_verify_at));
    form.add("Label", "agent");
    form.add("Beep", "onEnter");
    form.add("EndConferenceOnExit", "true");
    form.add("StatusCallback", "https://app.example.test/participant-status");
    const auto r =
        f.send(http::verb::post, participants_path("Support%20Room"), core::format_form(form));
    INFO(r.body);
    REQUIRE(r.status == 201);
    const std::string call_sid = str(r.json, "call_sid");
    const std::string conference_sid = str(r.json, "conference_sid");
    CHECK(core::is_call_sid(call_sid));
    CHECK(core::is_conference_sid(conference_sid));
    CHECK(str(r.json, "account_sid") == account_sid);
    CHECK(str(r.json, "label") == "agent");
    CHECK(str(r.json, "status") == "queued");
    CHECK(flag(r.json, "end_conference_on_exit"));
    CHECK(flag(r.json, "start_conference_on_enter"));
    CHECK_FALSE(flag(r.json, "muted"));
    CHECK_FALSE(flag(r.json, "hold"));
    CHECK_FALSE(flag(r.json, "coaching"));
    CHECK(r.json["call_sid_to_coach"].IsNull());
    CHECK(str(r.json, "uri") == participant_path(conference_sid, call_sid));

    // The conference exists by that name, not yet started.
    auto conference = f.db.get_conference(account_sid, conference_sid);
    REQUIRE(conference);
    REQUIRE(*conference);
    CHECK((*conference)->friendly_name == "Support Room");
    CHECK((*conference)->status == store::conference_status::init);

    // The leg is the Calls API's forward: parent, SHAKEN then DIV, verifiable downstream.
    auto stored = f.db.get_call(account_sid, call_sid);
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK((*stored)->parent_call_sid == std::optional<std::string>(parent_sid));
    CHECK((*stored)->status_callback == "https://app.example.test/participant-status");
    REQUIRE((*stored)->participant);
    CHECK((*stored)->participant->conference_sid == conference_sid);

    const auto dials = items_of_kind(f, store::outbox_kind::edge_dial);
    REQUIRE(dials.size() == 1);
    const auto& dial = dials.front();
    CHECK(param(dial, "ParentCallSid") == parent_sid);
    CHECK(param(dial, "Conference") == "Support Room");
    CHECK(param(dial, "ConferenceSid") == conference_sid);
    CHECK(param(dial, "Beep") == "onEnter");
    CHECK(param(dial, "EndConferenceOnExit") == "true");
    CHECK(param(dial, "Muted") == "false");
    CHECK(param(dial, "Label") == "agent");
    CHECK(params_named(dial, "Twiml").empty());
    const auto identities = params_named(dial, "Identity");
    REQUIRE(identities.size() == 2);
    CHECK(identities[0] == inbound[0]);
    CHECK(decoded(identities[1]).header.ppt == core::passport_type::div);
    const auto outcome = verify_outbound(identities, f.now);
    INFO(outcome.reason);
    CHECK(outcome.valid);
    CHECK(core::to_string(outcome.twilio) == "TN-Validation-Passed-A-Diverted");

    // A second participant by the same name joins the same conference; so does one by its sid.
    const auto second = f.send(http::verb::post, participants_path("Support%20Room"),
                               core::format_form(participant()));
    REQUIRE(second.status == 201);
    CHECK(str(second.json, "conference_sid") == conference_sid);
    const auto third = f.send(http::verb::post, participants_path(conference_sid),
                              core::format_form(participant("+14155550102")));
    REQUIRE(third.status == 201);
    CHECK(str(third.json, "conference_sid") == conference_sid);
    CHECK(conferences_stored(f) == 1);
}

TEST_CASE("a refused participant is Twilio's error, and opens no conference", "[api][conference]")
{
    fixture f;
    const auto platform = test::vector_private_key("pki/platform-calltoken.key.pem");
    f.now = test::vectors_verify_at + 20;

    SECTION("a CallToken for another caller: 21210")
    {
        core::form_params form = participant("+13105550111");
        form.add("CallToken", mint(platform, g1_identities(), test::vectors_verify_at));
        check_twilio_error(
            f.send(http::verb::post, participants_path("Room"), core::format_form(form)), 400,
            21210);
    }
    SECTION("a stale CallToken: 21210")
    {
        f.now = test::vectors_verify_at + 7200;
        check_twilio_error(f.send(http::verb::post, participants_path("Room"),
                                  core::format_form(forwarded_participant(
                                      mint(platform, g1_identities(), test::vectors_verify_at)))),
                           400, 21210);
    }
    SECTION("no CallToken and a From that is not the account's: 21210")
    {
        check_twilio_error(f.send(http::verb::post, participants_path("Room"),
                                  core::format_form(participant("+13105550111"))),
                           400, 21210);
    }
    SECTION("To or From missing or bad: 21201, 21213, 21211")
    {
        core::form_params no_to;
        no_to.add("From", "+14155550101");
        check_twilio_error(
            f.send(http::verb::post, participants_path("Room"), core::format_form(no_to)), 400,
            21201);
        core::form_params no_from;
        no_from.add("To", "+16505550102");
        check_twilio_error(
            f.send(http::verb::post, participants_path("Room"), core::format_form(no_from)), 400,
            21213);
        check_twilio_error(f.send(http::verb::post, participants_path("Room"),
                                  core::format_form(participant("+14155550101", "12"))),
                           400, 21211);
    }
    SECTION("participant options outside Twilio's values, or not supported: 20001")
    {
        for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
                 {"Beep", "loud"},
                 {"Muted", "yes"},
                 {"MaxParticipants", "1"},
                 {"MaxParticipants", "251"},
                 {"ConferenceRecord", "always"},
                 {"JitterBufferSize", "huge"},
                 {"Label", std::string(129, 'a')},
                 {"ConferenceStatusCallback", "https://app.example.test/conference"},
                 {"ConferenceStatusCallbackEvent", "start"},
                 {"Coaching", "true"},
                 {"CallSidToCoach", parent_sid},
                 {"Region", "ie1"}}) {
            INFO(name << "=" << value);
            auto form = participant();
            form.add(name, value);
            const auto r =
                f.send(http::verb::post, participants_path("Room"), core::format_form(form));
            check_twilio_error(r, 400, 20001);
            CHECK(str(r.json, "message").find(name) != std::string::npos);
        }
        auto form = participant();
        form.add("WaitUrl", "http://169.254.169.254/latest");
        check_twilio_error(
            f.send(http::verb::post, participants_path("Room"), core::format_form(form)), 400,
            21205);
    }
    SECTION("a conference name that is not one: 20001; an unknown or foreign sid: 20404")
    {
        check_twilio_error(f.send(http::verb::post, participants_path("bad%01name"),
                                  core::format_form(participant())),
                           400, 20001);
        check_twilio_error(f.send(http::verb::post, participants_path(std::string(129, 'r')),
                                  core::format_form(participant())),
                           400, 20001);
        check_twilio_error(
            f.send(http::verb::post, participants_path("CF0123456789abcdef0123456789abcdef"),
                   core::format_form(participant())),
            404, 20404);
        store::conference_record foreign;
        foreign.sid = "CFfedcba9876543210fedcba9876543210";
        foreign.account_sid = other_sid;
        foreign.friendly_name = "Theirs";
        REQUIRE(f.db.open_conference(foreign));
        check_twilio_error(f.send(http::verb::post, participants_path(foreign.sid),
                                  core::format_form(participant())),
                           404, 20404);
    }
    CHECK(conferences_stored(f) == 0);
    CHECK(f.calls_stored() == 0);
    CHECK(f.outbox_depth() == 0);
}

TEST_CASE("a completed conference takes no participants and lists none", "[api][conference]")
{
    fixture f;
    const auto r =
        f.send(http::verb::post, participants_path("Standup"), core::format_form(participant()));
    REQUIRE(r.status == 201);
    const std::string conference_sid = str(r.json, "conference_sid");
    store::conference_update end;
    end.status = store::conference_status::completed;
    end.date_updated = f.now + 30;
    end.reason_ended = "last-participant-left";
    REQUIRE(f.db.update_conference(conference_sid, end));

    const auto late = f.send(http::verb::post, participants_path(conference_sid),
                             core::format_form(participant()));
    check_twilio_error(late, 400, 20001);
    const auto listed = f.send(http::verb::get, participants_path(conference_sid));
    REQUIRE(listed.status == 200);
    CHECK(listed.json["participants"].Size() == 0);
    check_twilio_error(
        f.send(http::verb::get, participant_path(conference_sid, str(r.json, "call_sid"))), 404,
        20404);

    // The name opens a new conference now.
    const auto again =
        f.send(http::verb::post, participants_path("Standup"), core::format_form(participant()));
    REQUIRE(again.status == 201);
    CHECK(str(again.json, "conference_sid") != conference_sid);

    const auto fetched =
        f.send(http::verb::get, account_base + "/Conferences/" + conference_sid + ".json");
    REQUIRE(fetched.status == 200);
    CHECK(str(fetched.json, "status") == "completed");
    CHECK(str(fetched.json, "reason_conference_ended") == "last-participant-left");
}

TEST_CASE(
    "participants are listed and fetched by CallSid or Label while they are in the "
    "conference",
    "[api][conference]")
{
    fixture f;
    std::vector<std::string> calls;
    std::string conference_sid;
    for (int i = 0; i < 3; ++i) {
        auto form = participant();
        form.add("Label", "caller-" + std::to_string(i));
        ++f.now;  // newest first, by creation
        const auto r =
            f.send(http::verb::post, participants_path("Sales"), core::format_form(form));
        REQUIRE(r.status == 201);
        calls.push_back(str(r.json, "call_sid"));
        conference_sid = str(r.json, "conference_sid");
    }
    // Answered, then ended: connected, then gone.
    REQUIRE(f.db.update_call_status(calls[1], test_status(store::call_status::in_progress)));
    const auto connected = f.send(http::verb::get, participant_path(conference_sid, calls[1]));
    REQUIRE(connected.status == 200);
    CHECK(str(connected.json, "status") == "connected");
    REQUIRE(f.db.update_call_status(calls[0], test_status(store::call_status::completed)));

    const auto first = f.send(http::verb::get, participants_path(conference_sid) + "?PageSize=1");
    INFO(first.body);
    REQUIRE(first.status == 200);
    REQUIRE(first.json["participants"].Size() == 1);
    CHECK(str(first.json["participants"][0], "call_sid") == calls[2]);
    const std::string next = str(first.json, "next_page_uri");
    CHECK(next.find("/Conferences/" + conference_sid + "/Participants.json?PageSize=1&Page=1") !=
          std::string::npos);
    const auto second = f.send(http::verb::get, next);
    REQUIRE(second.status == 200);
    REQUIRE(second.json["participants"].Size() == 1);
    CHECK(str(second.json["participants"][0], "call_sid") == calls[1]);
    CHECK(second.json["next_page_uri"].IsNull());

    const auto by_label = f.send(http::verb::get, participant_path(conference_sid, "caller-2"));
    REQUIRE(by_label.status == 200);
    CHECK(str(by_label.json, "call_sid") == calls[2]);
    check_twilio_error(f.send(http::verb::get, participant_path(conference_sid, calls[0])), 404,
                       20404);
    check_twilio_error(f.send(http::verb::get, participant_path(conference_sid, "caller-0")), 404,
                       20404);
    check_twilio_error(f.send(http::verb::get, participant_path(conference_sid, "nobody")), 404,
                       20404);
    // Another account sees neither the conference nor its participants.
    const std::string theirs = std::string("/2010-04-01/Accounts/") + other_sid + "/Conferences/" +
                               conference_sid + "/Participants/" + calls[2] + ".json";
    check_twilio_error(f.send(http::verb::get, theirs, {}, basic(other_sid, other_token)), 404,
                       20404);
    check_twilio_error(f.send(http::verb::get, participants_path(conference_sid) + "?Muted=true"),
                       400, 20001);
}

TEST_CASE("a participant is muted, held and kicked: stored, one control message to the edge each",
          "[api][conference]")
{
    fixture f;
    const auto r =
        f.send(http::verb::post, participants_path("Ops"), core::format_form(participant()));
    REQUIRE(r.status == 201);
    const std::string call_sid = str(r.json, "call_sid");
    const std::string conference_sid = str(r.json, "conference_sid");
    const std::string path = participant_path(conference_sid, call_sid);

    core::form_params mute;
    mute.add("Muted", "true");
    mute.add("Hold", "True");
    mute.add("HoldUrl", "https://app.example.test/hold-music");
    const auto muted = f.send(http::verb::post, path, core::format_form(mute));
    INFO(muted.body);
    REQUIRE(muted.status == 200);
    CHECK(flag(muted.json, "muted"));
    CHECK(flag(muted.json, "hold"));
    auto controls = items_of_kind(f, store::outbox_kind::edge_control);
    REQUIRE(controls.size() == 1);
    CHECK(controls[0].target_url == control_url);
    CHECK(param(controls[0], "CallSid") == call_sid);
    CHECK(param(controls[0], "Action") == "participant");
    CHECK(param(controls[0], "ConferenceSid") == conference_sid);
    CHECK(param(controls[0], "Muted") == "true");
    CHECK(param(controls[0], "Hold") == "true");
    CHECK(param(controls[0], "HoldUrl") == "https://app.example.test/hold-music");
    auto stored = f.db.get_call(account_sid, call_sid);
    REQUIRE(stored);
    REQUIRE((*stored)->participant);
    CHECK((*stored)->participant->muted);
    CHECK((*stored)->participant->hold);

    SECTION("bad updates change nothing")
    {
        core::form_params bad;
        bad.add("Muted", "maybe");
        check_twilio_error(f.send(http::verb::post, path, core::format_form(bad)), 400, 20001);
        check_twilio_error(f.send(http::verb::post, path, core::format_form({})), 400, 20001);
        core::form_params coach;
        coach.add("Coaching", "true");
        check_twilio_error(f.send(http::verb::post, path, core::format_form(coach)), 400, 20001);
        check_twilio_error(
            f.send(http::verb::post,
                   participant_path(conference_sid, "CA0123456789abcdef0123456789abcdef"),
                   core::format_form(mute)),
            404, 20404);
        CHECK(items_of_kind(f, store::outbox_kind::edge_control).size() == 1);
    }
    SECTION("kicked, the participant is gone and its call stays")
    {
        const auto kicked = f.send(http::verb::delete_, path);
        REQUIRE(kicked.status == 204);
        CHECK(kicked.body.empty());
        controls = items_of_kind(f, store::outbox_kind::edge_control);
        REQUIRE(controls.size() == 2);
        const auto& kick = controls[1].params == controls[0].params ? controls[0] : controls[1];
        CHECK(param(kick, "Action") == "kick");
        CHECK(param(kick, "ConferenceSid") == conference_sid);
        check_twilio_error(f.send(http::verb::get, path), 404, 20404);
        check_twilio_error(f.send(http::verb::delete_, path), 404, 20404);
        const auto listed = f.send(http::verb::get, participants_path(conference_sid));
        CHECK(listed.json["participants"].Size() == 0);
        auto call = f.db.get_call(account_sid, call_sid);
        REQUIRE(call);
        REQUIRE(*call);
        CHECK_FALSE((*call)->participant);
    }
    SECTION("redirected with new TwiML through the Calls API, the call leaves the conference")
    {
        core::form_params redirect;
        redirect.add("Twiml", "<Response><Say>bye</Say></Response>");
        const auto moved = f.send(http::verb::post, account_base + "/Calls/" + call_sid + ".json",
                                  core::format_form(redirect));
        REQUIRE(moved.status == 200);
        check_twilio_error(f.send(http::verb::get, path), 404, 20404);
    }
}

TEST_CASE("conferences are fetched and listed in Twilio's shape, filtered and paged",
          "[api][conference]")
{
    fixture f;
    std::vector<std::string> sids;
    for (const char* name : {"Alpha", "Beta", "Gamma"}) {
        ++f.now;
        const auto r =
            f.send(http::verb::post, participants_path(name), core::format_form(participant()));
        REQUIRE(r.status == 201);
        sids.push_back(str(r.json, "conference_sid"));
    }
    store::conference_update start;
    start.status = store::conference_status::in_progress;
    start.date_updated = f.now + 1;
    REQUIRE(f.db.update_conference(sids[1], start));

    const auto one = f.send(http::verb::get, account_base + "/Conferences/" + sids[1] + ".json");
    INFO(one.body);
    REQUIRE(one.status == 200);
    CHECK(str(one.json, "sid") == sids[1]);
    CHECK(str(one.json, "friendly_name") == "Beta");
    CHECK(str(one.json, "status") == "in-progress");
    CHECK(str(one.json, "api_version") == "2010-04-01");
    CHECK(str(one.json["subresource_uris"], "participants") ==
          account_base + "/Conferences/" + sids[1] + "/Participants.json");
    CHECK(one.json["reason_conference_ended"].IsNull());

    const auto page = f.send(http::verb::get, conferences_path + "?PageSize=2");
    REQUIRE(page.status == 200);
    REQUIRE(page.json["conferences"].Size() == 2);
    CHECK(str(page.json["conferences"][0], "sid") == sids[2]);
    const auto rest = f.send(http::verb::get, str(page.json, "next_page_uri"));
    REQUIRE(rest.status == 200);
    REQUIRE(rest.json["conferences"].Size() == 1);
    CHECK(str(rest.json["conferences"][0], "sid") == sids[0]);
    const auto back = f.send(http::verb::get, str(rest.json, "previous_page_uri"));
    REQUIRE(back.status == 200);
    CHECK(str(back.json["conferences"][0], "sid") == sids[2]);

    const auto live = f.send(http::verb::get, conferences_path + "?Status=in-progress");
    REQUIRE(live.json["conferences"].Size() == 1);
    CHECK(str(live.json["conferences"][0], "sid") == sids[1]);
    const auto named = f.send(http::verb::get, conferences_path + "?FriendlyName=Gamma");
    REQUIRE(named.json["conferences"].Size() == 1);
    CHECK(str(named.json["conferences"][0], "sid") == sids[2]);

    check_twilio_error(f.send(http::verb::get, conferences_path + "?Status=open"), 400, 20001);
    check_twilio_error(f.send(http::verb::get, conferences_path + "?DateCreated%3E=2026-01-01"),
                       400, 20001);
    check_twilio_error(f.send(http::verb::get, conferences_path + "?Page=2"), 400, 20001);
    check_twilio_error(f.send(http::verb::get, conferences_path + "?PageToken=PACA0123"), 400,
                       20001);
    check_twilio_error(f.send(http::verb::get, account_base + "/Conferences/Beta.json"), 404,
                       20404);
    check_twilio_error(f.send(http::verb::get, conferences_path, {}, std::nullopt), 401, 20003);
    const std::string theirs =
        std::string("/2010-04-01/Accounts/") + other_sid + "/Conferences/" + sids[0] + ".json";
    check_twilio_error(f.send(http::verb::get, theirs, {}, basic(other_sid, other_token)), 404,
                       20404);
}

TEST_CASE("a sip: or client: participant joins unsigned through the same path as a call",
          "[api][conference][address]")
{
    fixture f;
    auto form = participant("client:bob", "sip:agent@pbx.example.test");
    form.add("SipAuthUsername", "agent");
    form.add("SipAuthPassword", "pw");
    const auto r = f.send(http::verb::post, participants_path("Standup"), core::format_form(form));
    INFO(r.body);
    REQUIRE(r.status == 201);
    auto stored = f.db.get_call(account_sid, str(r.json, "call_sid"));
    REQUIRE(stored);
    REQUIRE(*stored);
    CHECK((*stored)->to == "sip:agent@pbx.example.test");
    CHECK((*stored)->identity_headers.empty());
    CHECK_FALSE((*stored)->attestation);
    const auto dials = items_of_kind(f, store::outbox_kind::edge_dial);
    REQUIRE(dials.size() == 1);
    CHECK(param(dials[0], "Conference") == "Standup");
    CHECK(param(dials[0], "SipAuthUsername") == "agent");
    CHECK(params_named(dials[0], "Identity").empty());

    // A client: From to a phone number is refused as for a call.
    check_twilio_error(f.send(http::verb::post, participants_path("Standup"),
                              core::format_form(participant("client:bob"))),
                       400, 21212);
}
