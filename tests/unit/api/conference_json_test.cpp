// The Conference and Participant JSON, pinned as Twilio's helper libraries read them.

#include <catch2/catch.hpp>

#include "api/conference_json.hpp"

namespace {

using namespace stirgate;

constexpr const char* account = "AC0123456789abcdef0123456789abcdef";
constexpr const char* conference_sid = "CFaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

}  // namespace

TEST_CASE("a conference renders with Twilio's members in Twilio's order", "[api][conference]")
{
    store::conference_record c;
    c.sid = conference_sid;
    c.account_sid = account;
    c.friendly_name = "Room \"1\"";
    c.status = store::conference_status::completed;
    c.date_created = 1767225600;
    c.date_updated = 1767225660;
    c.reason_ended = "last-participant-left";
    c.call_sid_ending = "CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const std::string base =
        std::string("/2010-04-01/Accounts/") + account + "/Conferences/" + conference_sid;
    CHECK(api::render_conference_json(c) ==
          std::string(R"({"account_sid":")") + account +
              R"(","date_created":"Thu, 01 Jan 2026 00:00:00 +0000",)"
              R"("date_updated":"Thu, 01 Jan 2026 00:01:00 +0000","api_version":"2010-04-01",)"
              R"("friendly_name":"Room \"1\"","region":"us1","sid":")" +
              conference_sid + R"(","status":"completed","uri":")" + base +
              R"(.json","subresource_uris":{"participants":")" + base +
              R"(/Participants.json","recordings":")" + base +
              R"(/Recordings.json"},"reason_conference_ended":"last-participant-left",)"
              R"("call_sid_ending_conference":"CAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"})");
    c.status = store::conference_status::init;
    c.reason_ended.reset();
    c.call_sid_ending.reset();
    const std::string init = api::render_conference_json(c);
    CHECK(init.find(R"("status":"init")") != std::string::npos);
    CHECK(init.find(R"("reason_conference_ended":null,"call_sid_ending_conference":null})") !=
          std::string::npos);
}

TEST_CASE("a participant renders with Twilio's members, its status from its call's",
          "[api][conference]")
{
    store::call_record call;
    call.sid = "CAcccccccccccccccccccccccccccccccc";
    call.account_sid = account;
    call.status = store::call_status::in_progress;
    call.date_created = 1767225600;
    call.date_updated = 1767225605;
    store::participant_info p;
    p.conference_sid = conference_sid;
    p.muted = true;
    p.end_conference_on_exit = true;
    call.participant = p;
    CHECK(api::render_participant_json(call) ==
          std::string(R"({"account_sid":")") + account +
              R"(","call_sid":"CAcccccccccccccccccccccccccccccccc","label":null,)"
              R"("call_sid_to_coach":null,"coaching":false,"conference_sid":")" +
              conference_sid +
              R"(","date_created":"Thu, 01 Jan 2026 00:00:00 +0000",)"
              R"("date_updated":"Thu, 01 Jan 2026 00:00:05 +0000","end_conference_on_exit":true,)"
              R"("muted":true,"hold":false,"start_conference_on_enter":true,"status":"connected",)"
              R"("queue_time":"0","uri":"/2010-04-01/Accounts/)" +
              account + "/Conferences/" + conference_sid +
              R"(/Participants/CAcccccccccccccccccccccccccccccccc.json"})");

    using store::call_status;
    CHECK(api::participant_status(call_status::queued) == "queued");
    CHECK(api::participant_status(call_status::ringing) == "ringing");
    CHECK(api::participant_status(call_status::completed) == "complete");
    for (auto s :
         {call_status::busy, call_status::failed, call_status::no_answer, call_status::canceled})
        CHECK(api::participant_status(s) == "failed");
}
