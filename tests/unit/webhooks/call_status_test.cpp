// POST /webhooks/call-status through the router with a memory_store: signature checks (over the
// rebuilt public URL), status transitions that only move forward, and the StatusCallback items
// enqueued with the update (TWILIO-API.md section 5).

#include "net/net.hpp"

#include <catch2/catch.hpp>

#include <optional>

#include <rapidjson/document.h>

#include "core/form.hpp"
#include "core/twilio_signature.hpp"
#include "store/memory_store.hpp"
#include "support/handler_test.hpp"
#include "support/test_tls.hpp"
#include "webhooks/call_status.hpp"

namespace {

using namespace stirgate;

using test::account_sid;
constexpr const char* call_sid = "CA00000000000000000000000000000001";
constexpr const char* parent_sid = "CAfedcba9876543210fedcba9876543210";
constexpr const char* edge_token = "edge-secret-0123456789";
constexpr const char* callback_url = "https://app.example.test/status";
constexpr const char* host = "gw.example.test";
const std::string signed_url = std::string("http://") + host + "/webhooks/call-status";
constexpr std::int64_t t0 = 1767225600;  // Thu, 01 Jan 2026 00:00:00 +0000

using reply = test::routed_reply;

store::call_record make_call(std::vector<std::string> events = {"initiated", "ringing",
                                                                 "answered", "completed"})
{
    store::call_record c;
    c.sid = call_sid;
    c.account_sid = account_sid;
    c.parent_call_sid = parent_sid;
    c.direction = store::call_direction::outbound_api;
    c.from = "+14155550101";
    c.to = "+16505550102";
    c.status = store::call_status::queued;
    c.date_created = t0;
    c.date_updated = t0;
    c.url = "https://app.example.test/twiml";
    c.status_callback = callback_url;
    c.status_callback_method = "POST";
    c.status_callback_events = std::move(events);
    c.attestation = core::attestation::A;
    return c;
}

struct fixture {
    store::memory_store db;
    net::router routes;
    std::int64_t now = t0;
    int queued = 0;

    explicit fixture(std::optional<store::call_record> call = make_call(),
                     std::string token = edge_token, std::string public_url = {},
                     std::vector<std::string> trusted = {})
    {
        if (call) REQUIRE(db.insert_call(*call));
        std::vector<net::cidr_block> proxies;
        for (const auto& t : trusted) {
            auto block = net::parse_cidr(t);
            REQUIRE(block);
            proxies.push_back(*block);
        }
        webhooks::add_call_status_routes(
            routes, webhooks::call_status_dependencies{db, std::move(token), std::move(public_url),
                                                       std::move(proxies), [this] { return now; },
                                                       [this] { ++queued; }});
    }

    std::string last_call_sid;  // ctx.call_sid of the last request (logged by the server)

    reply send(const core::form_params& form, std::optional<std::string> signature,
               std::string peer = "192.0.2.10",
               std::vector<std::pair<std::string, std::string>> headers = {})
    {
        auto ctx = test::form_post("/webhooks/call-status", host, form, signature, peer, headers);
        auto res = test::dispatch(routes, ctx);
        last_call_sid = ctx.call_sid;
        return test::parse_reply(std::move(res));
    }

    // A report signed as the edge signs it, over the URL it requested.
    reply report(const core::form_params& form, const std::string& url = signed_url)
    {
        return send(form, core::twilio_signature(edge_token, url, form));
    }

    store::call_record call()
    {
        auto c = db.find_call(call_sid);
        REQUIRE(c);
        REQUIRE(*c);
        return **c;
    }

    std::vector<store::outbox_item> items()
    {
        auto due = db.due_items(std::int64_t{1} << 50, 100);
        REQUIRE(due);
        return *due;
    }
};

core::form_params status_form(std::string status, std::string sid = call_sid)
{
    core::form_params f;
    f.add("CallSid", std::move(sid));
    f.add("CallStatus", std::move(status));
    return f;
}

std::optional<std::string> param(const store::outbox_item& item, std::string_view name)
{
    for (const auto& [n, v] : item.params)
        if (n == name) return v;
    return std::nullopt;
}

int twilio_code(const reply& r)
{
    REQUIRE(r.json.IsObject());
    REQUIRE(r.json.HasMember("code"));
    REQUIRE(r.json["code"].IsInt());
    return r.json["code"].GetInt();
}

}  // namespace

TEST_CASE("A signed ringing report updates the call and enqueues a ringing callback with StirStatus",
          "[webhooks][status]")
{
    fixture f;
    f.now = t0 + 5;
    const auto r = f.report(status_form("ringing"));
    REQUIRE(r.status == 200);
    CHECK(r.body == "{}");
    CHECK(f.last_call_sid == call_sid);  // the request's log line names the call
    const auto c = f.call();
    CHECK(c.status == store::call_status::ringing);
    CHECK(c.date_updated == t0 + 5);
    CHECK_FALSE(c.start_time);
    CHECK(f.queued == 1);

    const auto items = f.items();
    REQUIRE(items.size() == 1);
    const auto& item = items[0];
    CHECK(item.kind == store::outbox_kind::status_callback);
    CHECK(item.call_sid == call_sid);
    CHECK(item.target_url == callback_url);
    CHECK(item.method == "POST");
    CHECK(item.idempotency_key == std::string(call_sid) + ":ringing");
    const std::vector<store::name_value> expected{
        {"CallSid", call_sid},
        {"AccountSid", account_sid},
        {"From", "+14155550101"},
        {"To", "+16505550102"},
        {"Caller", "+14155550101"},
        {"Called", "+16505550102"},
        {"CallStatus", "ringing"},
        {"ApiVersion", "2010-04-01"},
        {"Direction", "outbound-api"},
        {"ParentCallSid", parent_sid},
        {"Timestamp", "Thu, 01 Jan 2026 00:00:05 +0000"},
        {"CallbackSource", "call-progress-events"},
        {"SequenceNumber", "1"},
        {"StirStatus", "A"},
    };
    CHECK(item.params == expected);
}

TEST_CASE("Answered then completed: start, end and duration stored; the completed callback carries "
          "CallDuration and SipResponseCode but no StirStatus",
          "[webhooks][status]")
{
    fixture f;
    f.now = t0 + 10;
    REQUIRE(f.report(status_form("in-progress")).status == 200);
    auto c = f.call();
    CHECK(c.status == store::call_status::in_progress);
    REQUIRE(c.start_time);
    CHECK(*c.start_time == t0 + 10);
    auto items = f.items();
    REQUIRE(items.size() == 1);
    CHECK(param(items[0], "CallStatus") == "in-progress");
    CHECK(param(items[0], "SequenceNumber") == "2");
    CHECK(param(items[0], "StirStatus") == "A");
    CHECK_FALSE(param(items[0], "CallDuration"));

    f.now = t0 + 52;
    auto form = status_form("completed");
    form.add("CallDuration", "41");
    form.add("SipResponseCode", "200");
    REQUIRE(f.report(form).status == 200);
    c = f.call();
    CHECK(c.status == store::call_status::completed);
    CHECK(c.start_time == t0 + 10);
    CHECK(c.end_time == t0 + 52);
    CHECK(c.duration == 41);
    items = f.items();
    REQUIRE(items.size() == 2);
    const auto& done = items[1];
    CHECK(done.idempotency_key == std::string(call_sid) + ":completed");
    CHECK(param(done, "CallStatus") == "completed");
    CHECK(param(done, "SequenceNumber") == "3");
    CHECK(param(done, "CallDuration") == "41");
    CHECK(param(done, "Duration") == "1");  // billed minutes: 41 s is one begun minute
    CHECK(param(done, "SipResponseCode") == "200");
    CHECK(param(done, "Timestamp") == "Thu, 01 Jan 2026 00:00:52 +0000");
    CHECK_FALSE(param(done, "StirStatus"));
    CHECK(f.queued == 2);
}

TEST_CASE("Without CallDuration a terminal report measures from the start time; unanswered is 0 s",
          "[webhooks][status]")
{
    SECTION("answered")
    {
        fixture f;
        f.now = t0 + 10;
        REQUIRE(f.report(status_form("in-progress")).status == 200);
        f.now = t0 + 25;
        REQUIRE(f.report(status_form("completed")).status == 200);
        CHECK(f.call().duration == 15);
    }
    SECTION("busy")
    {
        fixture f;
        f.now = t0 + 3;
        auto form = status_form("busy");
        form.add("SipResponseCode", "486");
        REQUIRE(f.report(form).status == 200);
        const auto c = f.call();
        CHECK(c.status == store::call_status::busy);
        CHECK(c.duration == 0);
        CHECK(c.end_time == t0 + 3);
        const auto items = f.items();
        REQUIRE(items.size() == 1);
        CHECK(param(items[0], "CallStatus") == "busy");
        CHECK(param(items[0], "CallDuration") == "0");
        CHECK(param(items[0], "Duration") == "0");
        CHECK(param(items[0], "SipResponseCode") == "486");
    }
}

TEST_CASE("initiated keeps the call queued and sends an initiated callback with SequenceNumber 0",
          "[webhooks][status]")
{
    fixture f;
    REQUIRE(f.report(status_form("initiated")).status == 200);
    CHECK(f.call().status == store::call_status::queued);
    const auto items = f.items();
    REQUIRE(items.size() == 1);
    CHECK(param(items[0], "CallStatus") == "initiated");
    CHECK(param(items[0], "SequenceNumber") == "0");
    CHECK_FALSE(param(items[0], "StirStatus"));
}

TEST_CASE("Events the call did not subscribe to update the call but enqueue nothing",
          "[webhooks][status]")
{
    fixture f(make_call({"answered"}));
    REQUIRE(f.report(status_form("ringing")).status == 200);
    CHECK(f.call().status == store::call_status::ringing);
    CHECK(f.items().empty());
    CHECK(f.queued == 0);
    REQUIRE(f.report(status_form("completed")).status == 200);
    CHECK(f.call().status == store::call_status::completed);
    CHECK(f.items().empty());
}

TEST_CASE("With no events stored only the completed event is sent (Twilio's default)",
          "[webhooks][status]")
{
    fixture f(make_call({}));
    REQUIRE(f.report(status_form("ringing")).status == 200);
    REQUIRE(f.report(status_form("in-progress")).status == 200);
    CHECK(f.items().empty());
    REQUIRE(f.report(status_form("completed")).status == 200);
    const auto items = f.items();
    REQUIRE(items.size() == 1);
    CHECK(param(items[0], "CallStatus") == "completed");
}

TEST_CASE("A call without a StatusCallback gets no item", "[webhooks][status]")
{
    auto call = make_call();
    call.status_callback.clear();
    fixture f(call);
    REQUIRE(f.report(status_form("ringing")).status == 200);
    CHECK(f.call().status == store::call_status::ringing);
    CHECK(f.items().empty());
}

TEST_CASE("A call canceled while still queued gets no callback", "[webhooks][status]")
{
    fixture f;
    REQUIRE(f.report(status_form("canceled")).status == 200);
    CHECK(f.call().status == store::call_status::canceled);
    CHECK(f.items().empty());
}

TEST_CASE("A retried report is acknowledged and enqueues one item", "[webhooks][status]")
{
    fixture f;
    f.now = t0 + 5;
    REQUIRE(f.report(status_form("ringing")).status == 200);
    f.now = t0 + 6;
    const auto again = f.report(status_form("ringing"));
    CHECK(again.status == 200);
    CHECK(f.items().size() == 1);
    CHECK(f.call().date_updated == t0 + 5);
    CHECK(f.queued == 1);
}

TEST_CASE("Duplicate callbacks for one report carry the same idempotency key",
          "[webhooks][status]")
{
    auto call = make_call();
    call.status = store::call_status::ringing;
    webhooks::status_report report{call_sid, "ringing", {}, {}};
    const auto a = webhooks::status_callback_item(call, store::call_status::queued, report, t0);
    const auto b = webhooks::status_callback_item(call, store::call_status::queued, report, t0 + 9);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->idempotency_key == b->idempotency_key);
}

TEST_CASE("A terminal call does not go back, and late reports change nothing",
          "[webhooks][status]")
{
    fixture f;
    f.now = t0 + 10;
    REQUIRE(f.report(status_form("in-progress")).status == 200);
    f.now = t0 + 20;
    REQUIRE(f.report(status_form("completed")).status == 200);
    const auto before = f.call();
    const auto items_before = f.items();
    const int queued_before = f.queued;

    f.now = t0 + 30;
    for (const char* late : {"ringing", "in-progress", "busy", "initiated", "queued"}) {
        INFO(late);
        CHECK(f.report(status_form(late)).status == 200);
        CHECK(f.call() == before);
        CHECK(f.items() == items_before);
    }
    CHECK(f.queued == queued_before);
}

TEST_CASE("Ringing after in-progress is stale and ignored", "[webhooks][status]")
{
    fixture f;
    REQUIRE(f.report(status_form("in-progress")).status == 200);
    const auto before = f.call();
    CHECK(f.report(status_form("ringing")).status == 200);
    CHECK(f.call() == before);
    CHECK(f.items().size() == 1);
}

TEST_CASE("A bad or missing signature is refused with 403 and changes nothing",
          "[webhooks][status]")
{
    fixture f;
    const auto form = status_form("completed");
    SECTION("wrong token")
    {
        const auto r = f.send(form, core::twilio_signature("not-the-edge-token", signed_url, form));
        CHECK(r.status == 403);
        CHECK(twilio_code(r) == 20003);
    }
    SECTION("signature over other fields")
    {
        const auto r = f.send(form, core::twilio_signature(edge_token, signed_url,
                                                           status_form("ringing")));
        CHECK(r.status == 403);
        CHECK(twilio_code(r) == 20003);
    }
    SECTION("missing")
    {
        const auto r = f.send(form, std::nullopt);
        CHECK(r.status == 403);
        CHECK(twilio_code(r) == 20003);
    }
    CHECK(f.call() == make_call());
    CHECK(f.items().empty());
    CHECK(f.queued == 0);
}

TEST_CASE("No edge token configured refuses every report", "[webhooks][status]")
{
    fixture f(make_call(), "");
    const auto form = status_form("ringing");
    const auto r = f.send(form, core::twilio_signature("", signed_url, form));
    CHECK(r.status == 403);
    CHECK(twilio_code(r) == 20003);
    CHECK(f.call() == make_call());
}

TEST_CASE("X-Forwarded-Proto is honoured only from a trusted proxy", "[webhooks][status]")
{
    fixture f(make_call(), edge_token, "", {"10.0.0.0/8"});
    const auto form = status_form("ringing");
    const std::string https_url = std::string("https://") + host + "/webhooks/call-status";
    const auto sig = core::twilio_signature(edge_token, https_url, form);
    const std::vector<std::pair<std::string, std::string>> fwd{{"X-Forwarded-Proto", "https"}};

    const auto untrusted = f.send(form, sig, "203.0.113.9", fwd);
    CHECK(untrusted.status == 403);
    CHECK(f.call().status == store::call_status::queued);

    const auto trusted = f.send(form, sig, "10.1.2.3", fwd);
    CHECK(trusted.status == 200);
    CHECK(f.call().status == store::call_status::ringing);
}

TEST_CASE("A configured public_url is the URL the signature must cover", "[webhooks][status]")
{
    fixture f(make_call(), edge_token, "https://public.example.test/");
    const auto form = status_form("ringing");
    CHECK(f.report(form).status == 403);  // signed over the Host-based URL
    CHECK(f.report(form, "https://public.example.test/webhooks/call-status").status == 200);
    CHECK(f.call().status == store::call_status::ringing);
}

TEST_CASE("An unknown CallSid is 404 20404", "[webhooks][status]")
{
    fixture f;
    for (const char* sid : {"CA99999999999999999999999999999999", "not-a-sid"}) {
        INFO(sid);
        const auto r = f.report(status_form("ringing", sid));
        CHECK(r.status == 404);
        CHECK(twilio_code(r) == 20404);
    }
    CHECK(f.items().empty());
}

TEST_CASE("A bad CallStatus or field is 400 20001 and changes nothing", "[webhooks][status]")
{
    fixture f;
    SECTION("unknown status")
    {
        const auto r = f.report(status_form("answered"));
        CHECK(r.status == 400);
        CHECK(twilio_code(r) == 20001);
    }
    SECTION("missing status")
    {
        core::form_params form;
        form.add("CallSid", call_sid);
        const auto r = f.report(form);
        CHECK(r.status == 400);
        CHECK(twilio_code(r) == 20001);
    }
    SECTION("bad CallDuration")
    {
        auto form = status_form("completed");
        form.add("CallDuration", "-4");
        CHECK(f.report(form).status == 400);
    }
    SECTION("bad SipResponseCode")
    {
        auto form = status_form("failed");
        form.add("SipResponseCode", "99");
        CHECK(f.report(form).status == 400);
    }
    CHECK(f.call() == make_call());
    CHECK(f.items().empty());
}
