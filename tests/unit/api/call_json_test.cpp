// Twilio's Call JSON, list envelope and dates, pinned with golden strings (TWILIO-API.md s.3).

#include <catch2/catch.hpp>

#include "api/call_json.hpp"

namespace {

using stirgate::api::call_list_page;
using stirgate::store::call_record;

constexpr const char* account = "AC0123456789abcdef0123456789abcdef";

call_record spec_example()
{
    call_record c;
    c.sid = "CA1a2b3c4d5e6f708192a3b4c5d6e7f809";
    c.account_sid = account;
    c.parent_call_sid = "CAfedcba9876543210fedcba9876543210";
    c.date_created = 1767225607;
    c.date_updated = 1767225607;
    c.to = "+16505550102";
    c.from = "+13105550100";
    return c;
}

}  // namespace

TEST_CASE("NANP numbers are formatted as (NPA) NXX-XXXX and others are left alone", "[api][calls]")
{
    using stirgate::api::format_phone_number;
    CHECK(format_phone_number("+14155550101") == "(415) 555-0101");
    CHECK(format_phone_number("+442071234567") == "+442071234567");
    CHECK(format_phone_number("+1415555010") == "+1415555010");
    CHECK(format_phone_number("client:alice") == "client:alice");
}

TEST_CASE("the Call JSON matches the spec example member for member", "[api][calls]")
{
    const std::string expected =
        R"({"sid":"CA1a2b3c4d5e6f708192a3b4c5d6e7f809",)"
        R"("account_sid":"AC0123456789abcdef0123456789abcdef",)"
        R"("parent_call_sid":"CAfedcba9876543210fedcba9876543210",)"
        R"("date_created":"Thu, 01 Jan 2026 00:00:07 +0000",)"
        R"("date_updated":"Thu, 01 Jan 2026 00:00:07 +0000",)"
        R"("to":"+16505550102","to_formatted":"(650) 555-0102",)"
        R"("from":"+13105550100","from_formatted":"(310) 555-0100",)"
        R"("phone_number_sid":null,"status":"queued","start_time":null,"end_time":null,)"
        R"("duration":null,"price":null,"price_unit":"USD","direction":"outbound-api",)"
        R"("answered_by":null,"api_version":"2010-04-01","forwarded_from":null,)"
        R"("group_sid":null,"caller_name":null,"queue_time":"0","trunk_sid":null,)"
        R"("uri":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809.json",)"
        R"("subresource_uris":{)"
        R"("notifications":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/Notifications.json",)"
        R"("recordings":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/Recordings.json",)"
        R"("payments":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/Payments.json",)"
        R"("events":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/Events.json",)"
        R"("siprec":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/Siprec.json",)"
        R"("streams":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/Streams.json",)"
        R"("transcriptions":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/Transcriptions.json",)"
        R"("twiml_sessions":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/TwimlSessions.json",)"
        R"("user_defined_message_subscriptions":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/UserDefinedMessageSubscriptions.json",)"
        R"("user_defined_messages":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls/CA1a2b3c4d5e6f708192a3b4c5d6e7f809/UserDefinedMessages.json"}})";
    CHECK(stirgate::api::render_call_json(spec_example()) == expected);
}

TEST_CASE("a finished call shows its times, a string duration and no parent", "[api][calls]")
{
    call_record c = spec_example();
    c.parent_call_sid.reset();
    c.status = stirgate::store::call_status::no_answer;
    c.direction = stirgate::store::call_direction::inbound;
    c.start_time = 1767225610;
    c.end_time = 1767225625;
    c.duration = 15;
    c.forwarded_from = "+14155550101";
    const std::string json = stirgate::api::render_call_json(c);
    CHECK(json.find(R"("parent_call_sid":null,)") != std::string::npos);
    CHECK(json.find(R"("status":"no-answer","start_time":"Thu, 01 Jan 2026 00:00:10 +0000",)"
                    R"("end_time":"Thu, 01 Jan 2026 00:00:25 +0000","duration":"15",)") !=
          std::string::npos);
    CHECK(json.find(R"("direction":"inbound",)") != std::string::npos);
    CHECK(json.find(R"("forwarded_from":"+14155550101",)") != std::string::npos);
}

TEST_CASE("page URIs carry the filters percent-encoded, then PageSize, Page and PageToken",
          "[api][calls]")
{
    CHECK(stirgate::api::calls_page_uri(account, {{"To", "+14155550101"}}, 2, 1,
                                        "PACA1a2b3c4d5e6f708192a3b4c5d6e7f809") ==
          "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json?"
          "To=%2B14155550101&PageSize=2&Page=1&PageToken=PACA1a2b3c4d5e6f708192a3b4c5d6e7f809");
    CHECK(stirgate::api::calls_page_uri(account, {}, 50, 0, "") ==
          "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json?PageSize=50&Page=0");
}

TEST_CASE("the list envelope matches Twilio's shape on a first page with more to come",
          "[api][calls]")
{
    call_list_page p;
    p.account_sid = account;
    p.filters = {{"To", "+16505550102"}};
    p.page_size = 1;
    p.calls.push_back(spec_example());
    p.next_page_token = "PACA1a2b3c4d5e6f708192a3b4c5d6e7f809";
    const std::string base = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json";
    const std::string expected =
        R"({"calls":[)" + stirgate::api::render_call_json(spec_example()) +
        R"(],"end":0,"start":0,"page":0,"page_size":1,)"
        R"("first_page_uri":")" +
        base +
        R"(?To=%2B16505550102&PageSize=1&Page=0",)"
        R"("next_page_uri":")" +
        base +
        R"(?To=%2B16505550102&PageSize=1&Page=1&PageToken=PACA1a2b3c4d5e6f708192a3b4c5d6e7f809",)"
        R"("previous_page_uri":null,)"
        R"("uri":")" +
        base + R"(?To=%2B16505550102&PageSize=1&Page=0"})";
    CHECK(stirgate::api::render_call_list(p) == expected);
}

TEST_CASE("the last page has no next URI, and page 1 points back to the first", "[api][calls]")
{
    call_list_page p;
    p.account_sid = account;
    p.page_size = 3;
    p.page = 1;
    p.page_token = "PACA1a2b3c4d5e6f708192a3b4c5d6e7f809";
    p.previous_page_token = "";
    p.calls = {spec_example(), spec_example()};
    const std::string base = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Calls.json";
    const std::string json = stirgate::api::render_call_list(p);
    CHECK(json.find(R"("end":4,"start":3,"page":1,"page_size":3,)") != std::string::npos);
    CHECK(json.find(R"("next_page_uri":null,)") != std::string::npos);
    CHECK(json.find(R"("previous_page_uri":")" + base + R"(?PageSize=3&Page=0",)") !=
          std::string::npos);
    CHECK(json.find(R"("uri":")" + base +
                    R"(?PageSize=3&Page=1&PageToken=PACA1a2b3c4d5e6f708192a3b4c5d6e7f809"})") !=
          std::string::npos);

    call_list_page empty;
    empty.account_sid = account;
    const std::string e = stirgate::api::render_call_list(empty);
    CHECK(e.find(R"({"calls":[],"end":0,"start":0,"page":0,"page_size":50,)") == 0);
}
