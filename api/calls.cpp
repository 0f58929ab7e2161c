#include "api/calls.hpp"

#include <memory>
#include <optional>
#include <variant>

#include "api/call_control.hpp"
#include "api/call_create.hpp"
#include "api/call_json.hpp"
#include "api/conferences.hpp"
#include "core/form.hpp"
#include "core/sid.hpp"
#include "core/tn.hpp"
#include "rest/async_calls.hpp"
#include "rest/twilio_request.hpp"

namespace stirgate::api {

// The request toolkit every handler shares (src/rest).
using namespace rest;
namespace http = boost::beast::http;

namespace {

using deps_ptr = std::shared_ptr<const calls_dependencies>;

constexpr std::size_t default_page_size = 50;

// What a Calls API leg runs once answered: Url (+ Method, FallbackUrl, FallbackMethod) or
// Twiml. Checked after the leg's own parameters (parse_leg), so ApplicationSid and the other
// refused options are named before a missing Url.
std::variant<leg_instructions, param_error> parse_instructions(
    const core::form_params& form, const net::http_client_policy& url_policy)
{
    if (auto repeated =
            find_repeated(form, {"Url", "Twiml", "Method", "FallbackUrl", "FallbackMethod"}))
        return *std::move(repeated);
    leg_instructions run;
    const auto url = value_of(form, "Url");
    const auto twiml = value_of(form, "Twiml");
    if (url) {
        // Twilio: Twiml is ignored when Url is also given.
        if (auto bad = check_url("Url", url, url_policy)) return *std::move(bad);
        run.url = *url;
    } else if (twiml) {
        if (auto bad = check_twiml(twiml)) return *std::move(bad);
        run.twiml = *twiml;
    } else {
        return param_error{{errc::url_invalid, "no Url or Twiml"},
                           "Either Url or Twiml is required"};
    }
    auto method = parse_method(value_of(form, "Method"));
    if (!method) return param_error{method.err(), {}};
    run.method = *method;

    const auto fallback = value_of(form, "FallbackUrl");
    if (auto bad = check_url("FallbackUrl", fallback, url_policy)) return *std::move(bad);
    run.fallback_url = fallback.value_or("");
    auto fallback_method = parse_method(value_of(form, "FallbackMethod"));
    if (!fallback_method)
        return param_error{fallback_method.err(), "FallbackMethod must be GET or POST"};
    run.fallback_method = *fallback_method;
    return run;
}

net::awaitable<net::http_response> create_call(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    if (auto ok = check_form_body(ctx.request); !ok) co_return twilio_fail(ctx, ok.err());
    auto form = core::parse_form(ctx.request.body());
    if (!form) co_return twilio_fail(ctx, form.err());
    auto leg = parse_leg(*form, deps->customer_urls);
    if (auto* bad = std::get_if<param_error>(&leg)) co_return twilio_fail(ctx, bad->e, bad->message);
    auto run = parse_instructions(*form, deps->customer_urls);
    if (auto* bad = std::get_if<param_error>(&run)) co_return twilio_fail(ctx, bad->e, bad->message);

    const leg_params& params = std::get<leg_params>(leg);
    auto prepared = prepare_leg(*deps, ctx, **account, params);
    if (auto* refused = std::get_if<net::http_response>(&prepared)) co_return std::move(*refused);
    const leg_instructions& instructions = std::get<leg_instructions>(run);
    placed_leg placed = co_await store_leg(deps, ctx, std::get<prepared_leg>(std::move(prepared)),
                                           params, instructions);
    if (auto* refused = std::get_if<net::http_response>(&placed)) co_return std::move(*refused);
    co_return json_reply(ctx, render_call_json(std::get<store::call_record>(placed)),
                         http::status::created);
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
    co_return json_reply(ctx, render_call_json(**found));
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
    auto paged = parse_keyset_paging(query, default_page_size);
    if (auto* bad = std::get_if<param_error>(&paged)) return *std::move(bad);
    const paging& at = std::get<paging>(paged);
    r.page_size = at.page_size;
    r.page = at.page;
    r.page_token = at.page_token;
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
    if (!page) co_return list_page_failure(ctx, page.err());

    call_list_page out;
    out.account_sid = (*account)->sid;
    out.filters = r.echoed;
    out.page_size = r.page_size;
    out.page = r.page;
    out.page_token = r.page_token;
    out.calls = std::move(page->calls);
    out.next_page_token = std::move(page->next_page_token);
    out.previous_page_token = std::move(page->previous_page_token);
    co_return json_reply(ctx, render_call_list(out));
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
    add_conference_routes(routes, shared);
}

}  // namespace stirgate::api
