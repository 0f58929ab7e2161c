#include "webhooks/incoming_call_builders.hpp"

#include <utility>

#include "rest/twilio_request.hpp"
#include "core/calltoken.hpp"
#include "core/sid.hpp"
#include "webhooks/edge_request.hpp"
#include "webhooks/incoming_call.hpp"

namespace stirgate::webhooks {

using rest::value_of;

namespace {

// TWILIO-API.md section 4: what Twilio's own webhook carries beside the call's identity.
constexpr std::string_view caller_detail_names[] = {
    "CallerName", "FromCity",   "FromState",   "FromZip",     "FromCountry", "ToCity",
    "ToState",    "ToZip",      "ToCountry",   "CallerCity",  "CallerState", "CallerZip",
    "CallerCountry", "CalledCity", "CalledState", "CalledZip", "CalledCountry", "CalledVia",
    "SipCallId",  "SipSourceIp", "SipDomain"};

bool is_sip_header_field(std::string_view name) noexcept
{
    constexpr std::string_view prefix = "SipHeader_X-";
    if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return false;
    for (const char c : name.substr(prefix.size()))
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    return true;
}

bool is_caller_detail(std::string_view name) noexcept
{
    for (const auto known : caller_detail_names)
        if (name == known) return true;
    return name.rfind("SipHeader_", 0) == 0;
}

result<std::vector<std::pair<std::string, std::string>>> read_caller_details(
    const core::form_params& form)
{
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& p : form) {
        if (!is_caller_detail(p.name)) continue;
        if (p.name.rfind("SipHeader_", 0) == 0 && !is_sip_header_field(p.name))
            return error{errc::invalid_parameter, p.name + ": only SipHeader_X-<name> fields"};
        if (p.value.size() > max_caller_detail_value)
            return error{errc::invalid_parameter, p.name + " longer than 1024 bytes"};
        if (out.size() == max_caller_details)
            return error{errc::invalid_parameter, "more than 64 caller detail fields"};
        out.emplace_back(p.name, p.value);
    }
    return out;
}

}  // namespace

result<inbound_request> read_inbound_request(const core::form_params& form)
{
    inbound_request r;
    r.call_sid = value_of(form, "CallSid").value_or("");
    if (!r.call_sid.empty() && !core::is_call_sid(r.call_sid))
        return error{errc::invalid_parameter, "CallSid"};
    auto from = value_of(form, "From");
    if (!from) return error{errc::from_missing};
    r.from = std::move(*from);
    auto to = value_of(form, "To");
    if (!to) return error{errc::to_missing};
    r.to = std::move(*to);
    auto to_number = core::e164_number::parse(r.to);
    if (!to_number) return error{errc::to_invalid, to_number.err().detail};
    r.to_number = std::move(*to_number);
    if (const auto d = value_of(form, "SipDate")) {
        auto parsed = parse_sip_date(*d);
        if (!parsed) return parsed.err();
        r.sip_date = *parsed;
    }
    r.identities = form.all("Identity");
    r.forwarded_from = value_of(form, "ForwardedFrom");
    r.upstream_verstat = value_of(form, "StirVerstat");
    r.upstream_calltoken = value_of(form, "CallToken");
    r.upstream_passport = value_of(form, "StirPassportToken");
    auto details = read_caller_details(form);
    if (!details) return details.err();
    r.caller_details = std::move(*details);
    if (const auto p = value_of(form, "StirPassthrough")) {
        if (*p != "true" && *p != "false") return error{errc::invalid_parameter, "StirPassthrough"};
        r.passthrough = *p == "true";
    }
    return r;
}

core::call_context verification_context(const inbound_request& request)
{
    core::call_context call;
    auto caller = core::canonicalize_tn(request.from);
    call.caller_tn = caller ? *caller : std::string();
    call.to_tn = request.to_number.digits();
    call.request_uri_tn = request.to_number.digits();
    call.sip_date = request.sip_date;
    return call;
}

stir_fields stir_fields_from(const core::verification_outcome& outcome, bool passthrough)
{
    stir_fields v;
    core::stir_verstat twilio = outcome.twilio;
    twilio.passthrough = passthrough;
    v.stir_verstat = core::to_string(twilio);
    if (!outcome.shaken_passport.empty()) v.passport = outcome.shaken_passport;
    v.attest = outcome.attest;
    return v;
}

result<calltoken_decision> decide_calltoken(const inbound_request& request,
                                            const std::optional<store::call_record>& existing,
                                            std::string_view account_sid, stir_fields verified,
                                            const calltoken_keys& keys, std::int64_t first_seen)
{
    calltoken_decision d;
    d.stir = std::move(verified);
    if (request.upstream_verstat && request.upstream_calltoken) {
        auto token = core::decode_calltoken(*request.upstream_calltoken);
        if (!token) return token.err();
        if (auto ok =
                core::check_calltoken_call(*token, request.call_sid, request.from, request.to);
            !ok)
            return ok.err();
        if (auto ok = core::verify_calltoken_signature(*token, keys.trusted); !ok) return ok.err();
        d.calltoken = *request.upstream_calltoken;
        d.stir.stir_verstat = *request.upstream_verstat;
        if (request.upstream_passport) d.stir.passport = *request.upstream_passport;
    } else if (existing && existing->calltoken) {
        d.calltoken = existing->calltoken;  // a retried webhook: the same token
    } else if (keys.mint) {
        core::calltoken_mint_params p;
        p.call_sid = request.call_sid;
        p.from = request.from;
        p.to = request.to;
        p.account_sid = std::string(account_sid);
        auto minted = core::mint_calltoken(p, request.identities, keys.mint, first_seen);
        if (!minted) return minted.err();
        d.calltoken = std::move(*minted);
    }
    return d;
}

store::call_record inbound_call_record(const inbound_request& request, std::string_view account_sid,
                                       const std::string& status_callback,
                                       const calltoken_decision& decision, std::int64_t now)
{
    store::call_record rec;
    rec.sid = request.call_sid;
    rec.account_sid = std::string(account_sid);
    rec.direction = store::call_direction::inbound;
    rec.from = request.from;
    rec.to = request.to;
    rec.status = store::call_status::ringing;
    rec.date_created = rec.date_updated = now;
    rec.identity_headers = request.identities;
    rec.attestation = decision.stir.attest;
    rec.stir_verstat = decision.stir.stir_verstat;
    rec.calltoken = decision.calltoken;
    rec.forwarded_from = request.forwarded_from;
    rec.status_callback = status_callback;
    return rec;
}

core::form_params app_webhook_form(const inbound_request& request, std::string_view account_sid,
                                   const calltoken_decision& decision)
{
    core::form_params out;
    out.add("CallSid", request.call_sid);
    out.add("AccountSid", std::string(account_sid));
    out.add("From", request.from);
    out.add("To", request.to);
    out.add("Caller", request.from);
    out.add("Called", request.to);
    out.add("CallStatus", "ringing");
    out.add("ApiVersion", "2010-04-01");
    out.add("Direction", "inbound");
    if (request.forwarded_from) out.add("ForwardedFrom", *request.forwarded_from);
    for (const auto& [name, value] : request.caller_details) out.add(name, value);
    if (decision.stir.stir_verstat) out.add("StirVerstat", *decision.stir.stir_verstat);
    if (decision.stir.passport) out.add("StirPassportToken", *decision.stir.passport);
    if (decision.calltoken) out.add("CallToken", *decision.calltoken);
    return out;
}

}  // namespace stirgate::webhooks
