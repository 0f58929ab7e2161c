#include "api/call_create.hpp"

#include <algorithm>
#include <utility>

#include "api/call_control.hpp"
#include "core/calltoken.hpp"
#include "core/sid.hpp"
#include "core/text.hpp"
#include "rest/async_calls.hpp"

namespace stirgate::api {

// The request toolkit every handler shares (src/rest).
using namespace rest;

namespace {

constexpr std::int64_t min_timeout_s = 1;
constexpr std::int64_t max_timeout_s = 600;

store::outbox_item edge_dial_item(const calls_dependencies& deps, const store::call_record& call,
                                  const leg_params& leg, const leg_instructions& run,
                                  std::int64_t now)
{
    // DESIGN.md "Edge interface": CallSid, AccountSid, ParentCallSid (forwarded legs), From,
    // To, Url, Method, then Identity repeated in chain order. Twiml (when no Url) and Timeout
    // extend it: the edge needs to know what to run and how long to ring. A participant leg
    // runs no TwiML (Url empty): Conference and ConferenceSid name what it joins, followed by
    // the participant's options.
    store::outbox_item item =
        edge_item(store::outbox_kind::edge_dial, deps.edge_dial_url, call, now);
    auto& f = item.params;
    if (call.parent_call_sid) f.emplace_back("ParentCallSid", *call.parent_call_sid);
    f.emplace_back("From", call.from);
    f.emplace_back("To", call.to);
    f.emplace_back("Url", call.url);
    f.emplace_back("Method", call.method);
    if (call.url.empty() && !run.participant) f.emplace_back("Twiml", run.twiml);
    f.emplace_back("Timeout", std::to_string(leg.timeout_s));
    if (run.participant) {
        f.emplace_back("Conference", run.conference_name);
        f.emplace_back("ConferenceSid", run.participant->conference_sid);
        for (const auto& option : run.conference_options) f.push_back(option);
    }
    for (const auto& option : leg.options) f.push_back(option);
    for (const auto& identity : call.identity_headers) f.emplace_back("Identity", identity);
    return item;
}

// 21210 with the defect named: checks beyond the token's own claims (its parent call) have no
// fixed message of their own.
net::http_response refuse_calltoken(net::request_context& ctx, const error& e)
{
    return twilio_fail(ctx, e, "Invalid CallToken: " + e.detail);
}

// The CallToken's checks against its parent call, run by the store inside the leg's insert
// (store::insert_limits): a parent this gateway (or its cluster) stored must match the token and
// be live, and has a bounded number of legs; a trusted foreign platform's call keeps the
// claim-only check. Copies what it needs: it runs on the store's thread.
store::insert_limits parent_checks(const core::calltoken& token, const std::string& account_sid,
                                   const calls_dependencies& deps)
{
    store::insert_limits limits;
    limits.max_legs_per_parent = deps.max_forwards_per_call;
    limits.check_parent = [token, account_sid](const store::call_record& known) {
        const core::known_parent_call facts{known.account_sid, known.from, known.to,
                                            store::to_string(known.status),
                                            !store::is_terminal(known.status)};
        return core::check_calltoken_parent(token, facts, account_sid);
    };
    return limits;
}

// A To or From that is no phone number keeps the table's text; a SIP or client address that
// breaks the grammar gets the fault named (core::parse_call_address never echoes the input).
param_error address_error(errc code, std::string_view name, const error& e)
{
    if (e.code == errc::tn_invalid) return param_error{{code, e.detail}, {}};
    return param_error{{code, e.detail}, std::string(name) + " is not a valid address: " + e.detail};
}

bool is_parent_refusal(errc code) noexcept
{
    return code == errc::calltoken_leg_limit || code == errc::calltoken_parent_mismatch ||
           code == errc::calltoken_parent_ended;
}

}  // namespace

std::variant<leg_params, param_error> parse_leg(const core::form_params& form,
                                                const net::http_client_policy& url_policy)
{
    if (auto repeated = find_repeated(
            form, {"To", "From", "StatusCallback", "StatusCallbackMethod", "Timeout", "CallToken"}))
        return *std::move(repeated);
    leg_params p;
    const auto to = value_of(form, "To");
    if (!to) return param_error{errc::to_missing, {}};
    const auto from = value_of(form, "From");
    if (!from) return param_error{errc::from_missing, {}};
    // Twilio: To is a phone number, a SIP address or a client identifier; From a phone number
    // or a client identifier, and a phone number when To is one.
    auto to_address = core::parse_call_address(*to, parse_phone_number);
    if (!to_address) return address_error(errc::to_invalid, "To", to_address.err());
    p.to = *std::move(to_address);
    auto from_address = core::parse_call_address(*from, parse_phone_number);
    if (!from_address) return address_error(errc::from_invalid, "From", from_address.err());
    p.from = *std::move(from_address);
    if (p.from.kind() == core::address_kind::sip)
        return param_error{{errc::from_invalid, "sip: From"},
                           "From must be a phone number or a client: identifier"};
    if (p.to.is_phone() && !p.from.is_phone())
        return param_error{{errc::from_invalid, "client: From to a phone number"},
                           "From must be a phone number when To is a phone number"};

    // ApplicationSid and what else this gateway cannot do are refused before Url is missed.
    auto options = parse_dial_options(form, url_policy, p.to.kind());
    if (auto* bad = std::get_if<param_error>(&options)) return *std::move(bad);
    p.options = std::get<dial_options>(std::move(options));

    const auto callback = value_of(form, "StatusCallback");
    if (auto bad = check_url("StatusCallback", callback, url_policy)) return *std::move(bad);
    p.status_callback = callback.value_or("");
    auto callback_method = parse_method(value_of(form, "StatusCallbackMethod"));
    if (!callback_method)
        return param_error{callback_method.err(), "StatusCallbackMethod must be GET or POST"};
    p.status_callback_method = *callback_method;
    for (const auto& event : list_values(form, "StatusCallbackEvent")) {
        if (event != "initiated" && event != "ringing" && event != "answered" &&
            event != "completed")
            return param_error{{errc::invalid_parameter, "StatusCallbackEvent"},
                               "StatusCallbackEvent must be initiated, ringing, answered "
                               "or completed"};
        if (std::find(p.status_callback_events.begin(), p.status_callback_events.end(), event) ==
            p.status_callback_events.end())
            p.status_callback_events.push_back(event);
    }
    // Twilio's default: only the completed event.
    if (!p.status_callback.empty() && p.status_callback_events.empty())
        p.status_callback_events.emplace_back("completed");

    if (const auto timeout = value_of(form, "Timeout")) {
        const auto t = core::parse_decimal(*timeout, max_timeout_s);
        if (!t || *t < min_timeout_s) return param_error{{errc::timeout_invalid, *timeout}, {}};
        p.timeout_s = *t;
    }
    p.calltoken = value_of(form, "CallToken");
    return p;
}

std::variant<prepared_leg, net::http_response> prepare_leg(const calls_dependencies& deps,
                                                           net::request_context& ctx,
                                                           const core::account_config& acct,
                                                           const leg_params& p)
{
    if (p.to.is_phone() && !deps.signing.key)
        return twilio_fail(ctx, error{errc::service_unavailable, "no [signing] configured"});
    const std::int64_t now = deps.now();

    // A client: From asserts no number (Twilio lets a call to a client or SIP address come
    // from one); a phone number must be the account's to present without a CallToken.
    if (!p.calltoken && p.from.is_phone() && !core::may_present_caller_id(acct, p.from.text()))
        return twilio_fail(ctx, error{errc::caller_id_unverified, p.from.text()},
                           "The source phone number provided, " + p.from.text() +
                               ", is not yet verified for your account. You may only make "
                               "calls from your account's numbers or its verified caller "
                               "IDs, or forward a call with its CallToken.");

    // Forwarded leg: the CallToken must be one we (or a trusted platform) issued, to this
    // account, recently, for this caller. Refused before anything is signed or stored.
    std::optional<core::calltoken> token;
    if (p.calltoken) {
        auto decoded = core::decode_calltoken(*p.calltoken);
        if (!decoded) return twilio_fail(ctx, decoded.err());
        if (auto ok = core::validate_calltoken(*decoded, deps.calltoken_trusted_keys, acct.sid,
                                               p.from.text(), now, deps.calltoken_max_age_s);
            !ok)
            return twilio_fail(ctx, ok.err());
        if (!core::is_call_sid(decoded->claims.call_sid))
            return twilio_fail(ctx, error{errc::calltoken_malformed, "callSid shape"});
        token = std::move(*decoded);
    }
    // Signed as Twilio signs: only a call to a phone number carries PASSporTs. A sip: or
    // client: leg gets neither SHAKEN nor a DIV (whose dest must be a TN), so no attestation,
    // even when a CallToken (validated above all the same) proves its caller.
    sti::outbound_identity identity;
    std::optional<core::attestation> attestation;
    if (p.to.is_phone()) {
        auto signed_set = token ? sti::sign_forwarded_call(deps.signing, acct.origid, *token,
                                                           p.from.number(), p.to.number(), now)
                                : sti::sign_originated_call(deps.signing, acct.origid,
                                                            acct.numbers, p.from.number(),
                                                            p.to.number(), now);
        if (!signed_set) {
            if (signed_set.code() == errc::tn_invalid)  // the token's `to` is not a number
                return twilio_fail(ctx, error{errc::calltoken_malformed, signed_set.err().detail});
            return twilio_fail(ctx, signed_set.err());
        }
        identity = *std::move(signed_set);
        attestation = identity.attestation;
    }

    prepared_leg leg;
    store::call_record& call = leg.call;
    call.account_sid = acct.sid;
    if (token) call.parent_call_sid = token->claims.call_sid;
    call.direction = store::call_direction::outbound_api;
    call.from = p.from.text();
    call.to = p.to.text();
    call.status = store::call_status::queued;
    call.date_created = now;
    call.date_updated = now;
    call.status_callback = p.status_callback;
    call.status_callback_method = p.status_callback_method;
    call.status_callback_events = p.status_callback_events;
    call.identity_headers = std::move(identity.identity_headers);
    call.attestation = attestation;
    if (token) leg.limits = parent_checks(*token, acct.sid, deps);
    return leg;
}

net::awaitable<placed_leg> store_leg(std::shared_ptr<const calls_dependencies> deps,
                                     net::request_context& ctx, prepared_leg leg,
                                     const leg_params& p, const leg_instructions& run)
{
    store::call_record& call = leg.call;
    call.url = run.url;
    call.method = run.method;
    call.fallback_url = run.fallback_url;
    call.fallback_method = run.fallback_method;
    call.participant = run.participant;

    // A SID collision (128 random bits) means a broken random source; try a fresh one a few
    // times rather than fail the request on a fluke.
    const async_calls calls{deps->calls};
    result<std::vector<std::int64_t>> stored = error{errc::internal, "not stored"};
    for (int attempt = 0; attempt < 3; ++attempt) {
        call.sid = core::new_call_sid(deps->random);
        std::vector<store::outbox_item> items;
        if (!deps->edge_dial_url.empty())
            items.push_back(edge_dial_item(*deps, call, p, run, call.date_created));
        stored = co_await calls.insert_with_outbox(call, std::move(items), leg.limits);
        if (stored || stored.code() != errc::conflict) break;
    }
    if (!stored && is_parent_refusal(stored.code())) co_return refuse_calltoken(ctx, stored.err());
    if (!stored) co_return twilio_fail(ctx, store_failure(stored.err()));
    ctx.call_sid = call.sid;  // the request's log line names the call it created
    if (!stored->empty() && deps->on_queued) deps->on_queued();
    co_return std::move(call);
}

}  // namespace stirgate::api
