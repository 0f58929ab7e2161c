// The pure builders of the incoming-call webhook, alone: what the edge's form yields, which
// CallToken a call gets, the record stored and the form the application receives.

#include "webhooks/incoming_call_builders.hpp"

#include <catch2/catch.hpp>

#include "core/calltoken.hpp"
#include "support/fixtures.hpp"

namespace {

using namespace stirgate;
using webhooks::calltoken_decision;
using webhooks::calltoken_keys;
using webhooks::inbound_request;

const std::string call_sid = "CA0123456789abcdef0123456789abcdef";
const std::string account_sid = "AC0123456789abcdef0123456789abcdef";

core::form_params edge_form()
{
    core::form_params f;
    f.add("CallSid", call_sid);
    f.add("From", "+13105550100");
    f.add("To", "+14155550101");
    f.add("SipDate", "Thu, 01 Jan 2026 00:00:00 GMT");
    f.add("Identity", "first;info=<https://a.example/x.pem>");
    f.add("Identity", "second;info=<https://b.example/y.pem>");
    return f;
}

inbound_request read(const core::form_params& f)
{
    auto r = webhooks::read_inbound_request(f);
    REQUIRE(r);
    return *r;
}

webhooks::stir_fields verified_a()
{
    webhooks::stir_fields v;
    v.stir_verstat = "TN-Validation-Passed-A";
    v.passport = "header.payload.signature";
    v.attest = core::attestation::A;
    return v;
}

}  // namespace

TEST_CASE("the edge's form is read into the call's fields, repeats and order kept", "[webhooks]")
{
    const inbound_request r = read(edge_form());
    CHECK(r.call_sid == call_sid);
    CHECK(r.from == "+13105550100");
    CHECK(r.to == "+14155550101");
    CHECK(r.to_number.digits() == "14155550101");
    CHECK(r.sip_date == 1767225600);
    REQUIRE(r.identities.size() == 2);
    CHECK(r.identities[0].rfind("first;", 0) == 0);
    CHECK_FALSE(r.forwarded_from);
    CHECK_FALSE(r.upstream_calltoken);

    const core::call_context call = webhooks::verification_context(r);
    CHECK(call.caller_tn == "13105550100");
    CHECK(call.to_tn == "14155550101");
    CHECK(call.request_uri_tn == "14155550101");
    CHECK(call.sip_date == 1767225600);
}

TEST_CASE("caller details the edge supplies reach the application's form unchanged, in order; "
          "malformed or oversized ones are refused",
          "[webhooks]")
{
    core::form_params f = edge_form();
    f.add("CallerName", "ALICE EXAMPLE");
    f.add("FromCity", "LOS ANGELES");
    f.add("FromState", "CA");
    f.add("FromZip", "90001");
    f.add("FromCountry", "US");
    f.add("CalledCountry", "");  // Twilio sends geo fields as empty strings when unknown
    f.add("SipHeader_X-Customer-Ref", "42");
    f.add("NotAField", "dropped");
    const inbound_request r = read(f);
    using field = std::pair<std::string, std::string>;
    CHECK(r.caller_details == std::vector<field>{{"CallerName", "ALICE EXAMPLE"},
                                              {"FromCity", "LOS ANGELES"},
                                              {"FromState", "CA"},
                                              {"FromZip", "90001"},
                                              {"FromCountry", "US"},
                                              {"CalledCountry", ""},
                                              {"SipHeader_X-Customer-Ref", "42"}});
    const core::form_params out = webhooks::app_webhook_form(r, account_sid, {});
    CHECK(out.get("CallerName") == "ALICE EXAMPLE");
    CHECK(out.get("FromZip") == "90001");
    CHECK(out.get("SipHeader_X-Customer-Ref") == "42");
    CHECK(out.get("CalledCountry") == "");
    CHECK_FALSE(out.get("NotAField"));

    const auto refused = [](const std::string& name, const std::string& value) {
        core::form_params bad = edge_form();
        bad.add(name, value);
        return webhooks::read_inbound_request(bad);
    };
    CHECK(refused("SipHeader_Authorization", "secret").code() == errc::invalid_parameter);
    CHECK(refused("SipHeader_X-Bad Name", "1").code() == errc::invalid_parameter);
    CHECK(refused("CallerName", std::string(1025, 'a')).code() == errc::invalid_parameter);
    CHECK(refused("CallerName", std::string(1024, 'a')));
    core::form_params many = edge_form();
    for (int i = 0; i <= 64; ++i) many.add("SipHeader_X-H" + std::to_string(i), "v");
    CHECK(webhooks::read_inbound_request(many).code() == errc::invalid_parameter);
}

TEST_CASE("a bad edge form names its first defect", "[webhooks]")
{
    const auto without = [](std::string_view name, const std::string& value = {}) {
        core::form_params f;
        for (const auto& p : edge_form())
            if (p.name != name) f.add(p.name, p.value);
        if (!value.empty()) f.add(std::string(name), value);
        return webhooks::read_inbound_request(f);
    };
    CHECK(without("CallSid", "CA123").code() == errc::invalid_parameter);
    CHECK(without("From").code() == errc::from_missing);
    CHECK(without("To").code() == errc::to_missing);
    CHECK(without("To", "sip:alice@example.com").code() == errc::to_invalid);
    CHECK(without("SipDate", "yesterday").code() == errc::invalid_parameter);
    CHECK(without("StirPassthrough", "yes").code() == errc::invalid_parameter);
    // An empty CallSid is absent: the handler assigns one.
    auto no_sid = without("CallSid");
    REQUIRE(no_sid);
    CHECK(no_sid->call_sid.empty());
}

TEST_CASE(
    "the CallToken is minted once, reused on a retry and relayed from upstream only when "
    "it checks",
    "[webhooks]")
{
    const inbound_request r = read(edge_form());
    const core::es256_private_key key = test::vector_private_key("pki/platform-calltoken.key.pem");
    const std::vector<core::es256_public_key> trusted{key.public_key()};
    const calltoken_keys keys{key, trusted};

    auto minted =
        webhooks::decide_calltoken(r, std::nullopt, account_sid, verified_a(), keys, 1767225600);
    REQUIRE(minted);
    REQUIRE(minted->calltoken);
    CHECK(minted->stir.stir_verstat == "TN-Validation-Passed-A");
    auto decoded = core::decode_calltoken(*minted->calltoken);
    REQUIRE(decoded);
    CHECK(core::check_calltoken_call(*decoded, call_sid, r.from, r.to));

    SECTION("a retried webhook gets the stored token, not a new one")
    {
        store::call_record stored;
        stored.calltoken = "the-stored-token";
        auto again = webhooks::decide_calltoken(r, stored, account_sid, verified_a(), keys, 1);
        REQUIRE(again);
        CHECK(again->calltoken == "the-stored-token");
    }
    SECTION("no platform key: no CallToken")
    {
        const core::es256_private_key none;
        auto d = webhooks::decide_calltoken(r, std::nullopt, account_sid, verified_a(),
                                            calltoken_keys{none, trusted}, 1767225600);
        REQUIRE(d);
        CHECK_FALSE(d->calltoken);
    }
    SECTION("an upstream token for this call is relayed with its verstat and PASSporT")
    {
        inbound_request forwarded = r;
        forwarded.upstream_calltoken = *minted->calltoken;
        forwarded.upstream_verstat = "TN-Validation-Passed-B";
        forwarded.upstream_passport = "upstream.passport.jws";
        auto d = webhooks::decide_calltoken(forwarded, std::nullopt, account_sid, verified_a(),
                                            keys, 1767225600);
        REQUIRE(d);
        CHECK(d->calltoken == *minted->calltoken);
        CHECK(d->stir.stir_verstat == "TN-Validation-Passed-B");
        CHECK(d->stir.passport == "upstream.passport.jws");
        CHECK(d->stir.attest == core::attestation::A);
    }
    SECTION("an upstream token for another call, or from an untrusted key, is refused")
    {
        inbound_request other = r;
        other.call_sid = "CA0123456789abcdef0123456789abcdee";
        other.upstream_calltoken = *minted->calltoken;
        other.upstream_verstat = "TN-Validation-Passed-A";
        CHECK_FALSE(webhooks::decide_calltoken(other, std::nullopt, account_sid, verified_a(), keys,
                                               1767225600));
        inbound_request untrusted = r;
        untrusted.upstream_calltoken = *minted->calltoken;
        untrusted.upstream_verstat = "TN-Validation-Passed-A";
        const std::vector<core::es256_public_key> nobody;
        CHECK(webhooks::decide_calltoken(untrusted, std::nullopt, account_sid, verified_a(),
                                         calltoken_keys{key, nobody}, 1767225600)
                  .code() == errc::calltoken_bad_signature);
    }
}

TEST_CASE("the stored call and the application's form carry the decision", "[webhooks]")
{
    core::form_params f = edge_form();
    f.add("ForwardedFrom", "+16505550102");
    const inbound_request r = read(f);
    calltoken_decision d;
    d.calltoken = "tok";
    d.stir = verified_a();

    const store::call_record rec =
        webhooks::inbound_call_record(r, account_sid, "https://app.example/status", d, 1767225601);
    CHECK(rec.sid == call_sid);
    CHECK(rec.account_sid == account_sid);
    CHECK(rec.direction == store::call_direction::inbound);
    CHECK(rec.status == store::call_status::ringing);
    CHECK(rec.date_created == 1767225601);
    CHECK(rec.identity_headers == r.identities);
    CHECK(rec.attestation == core::attestation::A);
    CHECK(rec.stir_verstat == "TN-Validation-Passed-A");
    CHECK(rec.calltoken == "tok");
    CHECK(rec.forwarded_from == "+16505550102");
    CHECK(rec.status_callback == "https://app.example/status");
    CHECK(store::validate(rec));

    const core::form_params out = webhooks::app_webhook_form(r, account_sid, d);
    CHECK(out.get("CallSid") == call_sid);
    CHECK(out.get("AccountSid") == account_sid);
    CHECK(out.get("Caller") == "+13105550100");
    CHECK(out.get("Called") == "+14155550101");
    CHECK(out.get("CallStatus") == "ringing");
    CHECK(out.get("Direction") == "inbound");
    CHECK(out.get("ForwardedFrom") == "+16505550102");
    CHECK(out.get("StirVerstat") == "TN-Validation-Passed-A");
    CHECK(out.get("StirPassportToken") == "header.payload.signature");
    CHECK(out.get("CallToken") == "tok");
    CHECK_FALSE(out.get("Identity"));  // the app gets the verdict, not the raw headers

    // A call without Identity values: no STIR fields at all, as Twilio sends none.
    const core::form_params plain = webhooks::app_webhook_form(r, account_sid, {});
    CHECK_FALSE(plain.get("StirVerstat"));
    CHECK_FALSE(plain.get("StirPassportToken"));
    CHECK_FALSE(plain.get("CallToken"));
}

TEST_CASE("a call the edge marks StirPassthrough gets the -Passthrough StirVerstat values",
          "[webhooks]")
{
    CHECK_FALSE(read(edge_form()).passthrough);
    core::form_params f = edge_form();
    f.add("StirPassthrough", "true");
    CHECK(read(f).passthrough);

    core::verification_outcome outcome;
    outcome.twilio = {core::twilio_outcome::passed, core::attestation::B, false, false};
    CHECK(webhooks::stir_fields_from(outcome).stir_verstat == "TN-Validation-Passed-B");
    CHECK(webhooks::stir_fields_from(outcome, true).stir_verstat ==
          "TN-Validation-Passed-B-Passthrough");
    outcome.twilio = {core::twilio_outcome::failed, core::attestation::C, false, false};
    CHECK(webhooks::stir_fields_from(outcome, true).stir_verstat ==
          "TN-Validation-Failed-C-Passthrough");
    // Twilio has no value that is both: a diverted call stays -Diverted.
    outcome.twilio = {core::twilio_outcome::passed, core::attestation::A, true, false};
    CHECK(webhooks::stir_fields_from(outcome, true).stir_verstat ==
          "TN-Validation-Passed-A-Diverted");
    outcome.twilio = {core::twilio_outcome::not_validated, std::nullopt, false, false};
    CHECK(webhooks::stir_fields_from(outcome, true).stir_verstat == "No-TN-Validation");
}
