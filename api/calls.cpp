#include "api/calls.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <optional>
#include <variant>

#include "rest/async_calls.hpp"
#include "api/call_control.hpp"
#include "api/call_json.hpp"
#include "api/call_options.hpp"
#include "rest/twilio_request.hpp"
#include "core/call_address.hpp"
#include "core/calltoken.hpp"
#include "core/error_table.hpp"
#include "core/form.hpp"
#include "core/sid.hpp"
#include "core/text.hpp"
#include "core/tn.hpp"
#include "net/url.hpp"

namespace stirgate::api {

// The request toolkit every handler shares (src/rest).
using namespace rest;
namespace http = boost::beast::http;

namespace {

using deps_ptr = std::shared_ptr<const calls_dependencies>;

constexpr std::int64_t min_timeout_s = 1;
constexpr std::int64_t max_timeout_s = 600;
constexpr std::size_t default_page_size = 50;

struct create_params {
    core::call_address to;    // a phone number, or a sip:/client: address (never signed)
    core::call_address from;  // a phone number, or a client: identifier for a sip:/client: To
    std::string url;
    std::string twiml;
    std::string method;
    std::string fallback_url;
    std::string fallback_method;
    std::string status_callback;
    std::string status_callback_method;
    std::vector<std::string> status_callback_events;
    std::int64_t timeout_s = 60;
    std::optional<std::string> calltoken;
    dial_options options;  // passed to the edge as they are (api/call_options.hpp)
};

// A To or From that is no phone number keeps the table's text; a SIP or client address that
// breaks the grammar gets the fault named (core::parse_call_address never echoes the input).
param_error address_error(errc code, std::string_view name, const error& e)
{
    if (e.code == errc::tn_invalid) return param_error{{code, e.detail}, {}};
    return param_error{{code, e.detail}, std::string(name) + " is not a valid address: " + e.detail};
}

// Checks in Twilio's order of importance: the numbers, then what to run, then callbacks.
std::variant<create_params, param_error> parse_create(const core::form_params& form,
                                                      const net::http_client_policy& url_policy)
{
    if (auto repeated = find_repeated(form, {"To", "From", "Url", "Twiml", "Method", "FallbackUrl",
                                             "FallbackMethod", "StatusCallback",
                                             "StatusCallbackMethod", "Timeout", "CallToken"}))
        return *std::move(repeated);
    create_params p;
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

    const auto url = value_of(form, "Url");
    const auto twiml = value_of(form, "Twiml");
    if (url) {
        // Twilio: Twiml is ignored when Url is also given.
        if (auto bad = check_url("Url", url, url_policy)) return *std::move(bad);
        p.url = *url;
    } else if (twiml) {
        if (auto bad = check_twiml(twiml)) return *std::move(bad);
        p.twiml = *twiml;
    } else {
        return param_error{{errc::url_invalid, "no Url or Twiml"},
                           "Either Url or Twiml is required"};
    }
    auto method = parse_method(value_of(form, "Method"));
    if (!method) return param_error{method.err(), {}};
    p.method = *method;

    const auto fallback = value_of(form, "FallbackUrl");
    if (auto bad = check_url("FallbackUrl", fallback, url_policy)) return *std::move(bad);
    p.fallback_url = fallback.value_or("");
    auto fallback_method = parse_method(value_of(form, "FallbackMethod"));
    if (!fallback_method)
        return param_error{fallback_method.err(), "FallbackMethod must be GET or POST"};
    p.fallback_method = *fallback_method;

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

store::outbox_item edge_dial_item(const calls_dependencies& deps, const store::call_record& call,
                                  const create_params& p, std::int64_t now)
{
    // DESIGN.md "Edge interface": CallSid, AccountSid, ParentCallSid (forwarded legs), From,
    // To, Url, Method, then Identity repeated in chain order. Twiml (when no Url) and Timeout
    // extend it: the edge needs to know what to run and how long to ring.
    store::outbox_item item = edge_item(store::outbox_kind::edge_dial, deps.edge_dial_url, call, now);
    auto& f = item.params;
    if (call.parent_call_sid) f.emplace_back("ParentCallSid", *call.parent_call_sid);
    f.emplace_back("From", call.from);
    f.emplace_back("To", call.to);
    f.emplace_back("Url", call.url);
    f.emplace_back("Method", call.method);
    if (call.url.empty()) f.emplace_back("Twiml", p.twiml);
    f.emplace_back("Timeout", std::to_string(p.timeout_s));
    for (const auto& option : p.options) f.push_back(option);
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

bool is_parent_refusal(errc code) noexcept
{
    return code == errc::calltoken_leg_limit || code == errc::calltoken_parent_mismatch ||
           code == errc::calltoken_parent_ended;
}

net::awaitable<net::http_response> create_call(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    if (auto ok = check_form_body(ctx.request); !ok) co_return twilio_fail(ctx, ok.err());
    auto form = core::parse_form(ctx.request.body());
    if (!form) co_return twilio_fail(ctx, form.err());
    auto parsed = parse_create(*form, deps->customer_urls);
    if (auto* bad = std::get_if<param_error>(&parsed))
        co_return twilio_fail(ctx, bad->e, bad->message);
    const create_params& p = std::get<create_params>(parsed);
    if (p.to.is_phone() && !deps->signing.key)
        co_return twilio_fail(ctx, error{errc::service_unavailable, "no [signing] configured"});

    const std::int64_t now = deps->now();
    const core::account_config& acct = **account;

    // A client: From asserts no number (Twilio lets a call to a client or SIP address come
    // from one); a phone number must be the account's to present without a CallToken.
    if (!p.calltoken && p.from.is_phone() && !core::may_present_caller_id(acct, p.from.text()))
        co_return twilio_fail(ctx, error{errc::caller_id_unverified, p.from.text()},
                              "The source phone number provided, " + p.from.text() +
                                  ", is not yet verified for your account. You may only make "
                                  "calls from your account's numbers or its verified caller "
                                  "IDs, or forward a call with its CallToken.");

    // Forwarded leg: the CallToken must be one we (or a trusted platform) issued, to this
    // account, recently, for this caller. Refused before anything is signed or stored.
    std::optional<core::calltoken> token;
    if (p.calltoken) {
        auto decoded = core::decode_calltoken(*p.calltoken);
        if (!decoded) co_return twilio_fail(ctx, decoded.err());
        if (auto ok = core::validate_calltoken(*decoded, deps->calltoken_trusted_keys, acct.sid,
                                               p.from.text(), now, deps->calltoken_max_age_s);
            !ok)
            co_return twilio_fail(ctx, ok.err());
        if (!core::is_call_sid(decoded->claims.call_sid))
            co_return twilio_fail(ctx, error{errc::calltoken_malformed, "callSid shape"});
        token = std::move(*decoded);
    }
    // Signed as Twilio signs: only a call to a phone number carries PASSporTs. A sip: or
    // client: leg gets neither SHAKEN nor a DIV (whose dest must be a TN), so no attestation,
    // even when a CallToken (validated above all the same) proves its caller.
    sti::outbound_identity identity;
    std::optional<core::attestation> attestation;
    if (p.to.is_phone()) {
        auto signed_set = token ? sti::sign_forwarded_call(deps->signing, acct.origid, *token,
                                                           p.from.number(), p.to.number(), now)
                                : sti::sign_originated_call(deps->signing, acct.origid,
                                                            acct.numbers, p.from.number(),
                                                            p.to.number(), now);
        if (!signed_set) {
            if (signed_set.code() == errc::tn_invalid)  // the token's `to` is not a number
                co_return twilio_fail(ctx,
                                      error{errc::calltoken_malformed, signed_set.err().detail});
            co_return twilio_fail(ctx, signed_set.err());
        }
        identity = *std::move(signed_set);
        attestation = identity.attestation;
    }

    store::call_record call;
    call.account_sid = acct.sid;
    if (token) call.parent_call_sid = token->claims.call_sid;
    call.direction = store::call_direction::outbound_api;
    call.from = p.from.text();
    call.to = p.to.text();
    call.status = store::call_status::queued;
    call.date_created = now;
    call.date_updated = now;
    call.url = p.url;
    call.method = p.method;
    call.fallback_url = p.fallback_url;
    call.fallback_method = p.fallback_method;
    call.status_callback = p.status_callback;
    call.status_callback_method = p.status_callback_method;
    call.status_callback_events = p.status_callback_events;
    call.identity_headers = std::move(identity.identity_headers);
    call.attestation = attestation;

    // A SID collision (128 random bits) means a broken random source; try a fresh one a few
    // times rather than fail the request on a fluke.
    const async_calls calls{deps->calls};
    const store::insert_limits limits = token ? parent_checks(*token, acct.sid, *deps)
                                              : store::insert_limits{};
    result<std::vector<std::int64_t>> stored = error{errc::internal, "not stored"};
    for (int attempt = 0; attempt < 3; ++attempt) {
        call.sid = core::new_call_sid(deps->random);
        std::vector<store::outbox_item> items;
        if (!deps->edge_dial_url.empty()) items.push_back(edge_dial_item(*deps, call, p, now));
        stored = co_await calls.insert_with_outbox(call, std::move(items), limits);
        if (stored || stored.code() != errc::conflict) break;
    }
    if (!stored && is_parent_refusal(stored.code())) co_return refuse_calltoken(ctx, stored.err());
    if (!stored) co_return twilio_fail(ctx, store_failure(stored.err()));
    ctx.call_sid = call.sid;  // the request's log line names the call it created
    if (!stored->empty() && deps->on_queued) deps->on_queued();

    net::http_response res{http::status::created, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = render_call_json(call);
    co_return res;
}

net::awaitable<net::http_response> fetch_call(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    const std::string sid(ctx.param("CallSid"));
    if (!core::is_call_sid(sid)) co_return twilio_fail(ctx, errc::not_found);
    const async_calls calls{deps->calls};
    auto found = co_await calls.get((*account)->sid, sid);
    if (!found) co_return twilio_fail(ctx, store_failure(found.err()));
    // Another account's call is as unknown as a call that never was.
    if (!*found) co_return twilio_fail(ctx, errc::not_found);
    ctx.call_sid = sid;
    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = render_call_json(**found);
    co_return res;
}

struct list_request {
    store::call_filter filter;
    query_params echoed;  // filters as they appear in the page URIs
    std::size_t page_size = default_page_size;
    std::size_t page = 0;
    std::string page_token;
};

std::variant<list_request, param_error> parse_list(const core::form_params& query)
{
    if (auto repeated = find_repeated(query, {"To", "From", "ParentCallSid", "Status", "PageSize",
                                              "Page", "PageToken"}))
        return *std::move(repeated);
    list_request r;
    // Phone numbers are matched in the E.164 form calls are stored in; sip: and client:
    // addresses as given, as they are stored.
    auto number = [](const std::string& v) {
        auto n = core::e164_number::parse(v);
        return n ? n->e164() : v;
    };
    if (auto to = value_of(query, "To")) {
        r.filter.to = number(*to);
        r.echoed.emplace_back("To", *r.filter.to);
    }
    if (auto from = value_of(query, "From")) {
        r.filter.from = number(*from);
        r.echoed.emplace_back("From", *r.filter.from);
    }
    if (auto parent = value_of(query, "ParentCallSid")) {
        r.filter.parent_call_sid = *parent;
        r.echoed.emplace_back("ParentCallSid", *parent);
    }
    if (auto status = value_of(query, "Status")) {
        auto s = store::parse_call_status(*status);
        if (!s)
            return param_error{{errc::invalid_parameter, "Status"},
                               "Status must be one of queued, ringing, in-progress, canceled, "
                               "completed, busy, no-answer, failed"};
        r.filter.status = *s;
        r.echoed.emplace_back("Status", *status);
    }
    // Known Twilio filters this gateway does not implement: refused rather than ignored, so a
    // client never takes an unfiltered list for a filtered one.
    for (const auto& p : query)
        if (p.name.rfind("StartTime", 0) == 0 || p.name.rfind("EndTime", 0) == 0)
            return param_error{{errc::invalid_parameter, p.name},
                               "StartTime and EndTime filters are not supported"};
    auto paged = parse_paging(query, default_page_size, 1'000'000'000);
    if (auto* bad = std::get_if<param_error>(&paged)) return *std::move(bad);
    const paging& at = std::get<paging>(paged);
    r.page_size = at.page_size;
    r.page = at.page;
    r.page_token = at.page_token;
    // Keyset pages are reached by their token, not computed: a page number alone names nothing.
    if (r.page > 0 && r.page_token.empty())
        return param_error{{errc::invalid_parameter, "Page"},
                           "Page greater than 0 needs the PageToken of that page: follow "
                           "next_page_uri or previous_page_uri"};
    return r;
}

net::awaitable<net::http_response> list_calls(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    auto query = core::parse_form(ctx.query);
    if (!query) co_return twilio_fail(ctx, query.err());
    auto parsed = parse_list(*query);
    if (auto* bad = std::get_if<param_error>(&parsed))
        co_return twilio_fail(ctx, bad->e, bad->message);
    const list_request& r = std::get<list_request>(parsed);

    const async_calls calls{deps->calls};
    auto page = co_await calls.list((*account)->sid, r.filter, r.page_size, r.page_token);
    if (!page) {
        if (page.code() == errc::invalid_parameter)  // a PageToken that is not ours
            co_return twilio_fail(ctx, page.err(), "PageToken is not valid");
        co_return twilio_fail(ctx, store_failure(page.err()));
    }

    call_list_page out;
    out.account_sid = (*account)->sid;
    out.filters = r.echoed;
    out.page_size = r.page_size;
    out.page = r.page;
    out.page_token = r.page_token;
    out.calls = std::move(page->calls);
    out.next_page_token = std::move(page->next_page_token);
    out.previous_page_token = std::move(page->previous_page_token);
    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = render_call_list(out);
    co_return res;
}

}  // namespace

void add_calls_routes(net::router& routes, const calls_dependencies& deps)
{
    auto shared = std::make_shared<const calls_dependencies>(deps);
    constexpr auto style = net::error_style::twilio;
    auto create = [shared](net::request_context& ctx) { return create_call(shared, ctx); };
    auto list = [shared](net::request_context& ctx) { return list_calls(shared, ctx); };
    auto fetch = [shared](net::request_context& ctx) { return fetch_call(shared, ctx); };
    auto update = [shared](net::request_context& ctx) { return update_call(shared, ctx); };
    auto remove = [shared](net::request_context& ctx) { return delete_call(shared, ctx); };
    routes.add(http::verb::post, "/2010-04-01/Accounts/{AccountSid}/Calls.json", style, create);
    routes.add(http::verb::get, "/2010-04-01/Accounts/{AccountSid}/Calls.json", style, list);
    routes.add(http::verb::get, "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json", style,
               fetch);
    routes.add(http::verb::post, "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json", style,
               update);
    routes.add(http::verb::delete_, "/2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json",
               style, remove);
}

}  // namespace stirgate::api
