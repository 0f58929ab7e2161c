#include "api/conferences.hpp"

#include <utility>
#include <vector>

#include "api/call_json.hpp"
#include "api/conference_json.hpp"
#include "api/participants.hpp"
#include "core/form.hpp"
#include "core/sid.hpp"
#include "core/text.hpp"
#include "rest/async_calls.hpp"
#include "rest/twilio_request.hpp"

namespace stirgate::api {

// The request toolkit every handler shares (src/rest).
using namespace rest;
namespace http = boost::beast::http;

namespace {

using deps_ptr = std::shared_ptr<const calls_dependencies>;
constexpr std::size_t default_page_size = 50;

// A FriendlyName as Twilio's <Conference> takes it: not empty, at most 128 characters, no
// control characters (it is shown in JSON and sent to the edge in a form).
bool valid_friendly_name(const std::string& name)
{
    return !name.empty() && name.size() <= store::max_friendly_name &&
           core::has_no_control_characters(name);
}

net::awaitable<net::http_response> fetch_conference(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    conference_lookup found = co_await resolve_conference(deps, ctx, (*account)->sid, false);
    if (auto* refused = std::get_if<net::http_response>(&found)) co_return std::move(*refused);
    co_return json_reply(ctx, render_conference_json(std::get<store::conference_record>(found)));
}

net::awaitable<net::http_response> list_conferences(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    auto query = core::parse_form(ctx.query);
    if (!query) co_return twilio_fail(ctx, query.err());
    if (auto repeated =
            find_repeated(*query, {"FriendlyName", "Status", "PageSize", "Page", "PageToken"}))
        co_return twilio_fail(ctx, repeated->e, repeated->message);
    // Known Twilio filters not implemented: refused rather than ignored, so a client never
    // takes an unfiltered list for a filtered one.
    for (const auto& p : *query)
        if (p.name.rfind("DateCreated", 0) == 0 || p.name.rfind("DateUpdated", 0) == 0)
            co_return twilio_fail(ctx, error{errc::invalid_parameter, p.name},
                                  "DateCreated and DateUpdated filters are not supported");

    store::conference_filter filter;
    list_position at;
    at.account_sid = (*account)->sid;
    at.resource = "Conferences";
    if (auto name = value_of(*query, "FriendlyName")) {
        filter.friendly_name = *name;
        at.filters.emplace_back("FriendlyName", *name);
    }
    if (auto status = value_of(*query, "Status")) {
        auto s = store::parse_conference_status(*status);
        if (!s)
            co_return twilio_fail(ctx, error{errc::invalid_parameter, "Status"},
                                  "Status must be one of init, in-progress, completed");
        filter.status = *s;
        at.filters.emplace_back("Status", *status);
    }
    auto paged = parse_keyset_paging(*query, default_page_size);
    if (auto* bad = std::get_if<param_error>(&paged))
        co_return twilio_fail(ctx, bad->e, bad->message);
    const paging& where = std::get<paging>(paged);
    at.page_size = where.page_size;
    at.page = where.page;
    at.page_token = where.page_token;

    const async_calls calls{deps->calls};
    auto page =
        co_await calls.list_conferences(at.account_sid, filter, at.page_size, at.page_token);
    if (!page) co_return list_page_failure(ctx, page.err());
    at.next_page_token = page->next_page_token;
    at.previous_page_token = page->previous_page_token;
    std::vector<std::string> items;
    items.reserve(page->conferences.size());
    for (const auto& c : page->conferences) items.push_back(render_conference_json(c));
    co_return json_reply(ctx, render_list(at, "conferences", items));
}

}  // namespace

net::awaitable<conference_lookup> resolve_conference(deps_ptr deps, net::request_context& ctx,
                                                     const std::string& account_sid,
                                                     bool open_by_name)
{
    const std::string given(ctx.param("ConferenceSid"));
    const async_calls calls{deps->calls};
    if (core::is_conference_sid(given)) {
        auto found = co_await calls.get_conference(account_sid, given);
        if (!found) co_return twilio_fail(ctx, store_failure(found.err()));
        // Another account's conference is as unknown as one that never was.
        if (!*found) co_return twilio_fail(ctx, errc::not_found);
        co_return std::move(**found);
    }
    if (!open_by_name) co_return twilio_fail(ctx, errc::not_found);
    auto name = core::decode_uri_component(given);
    if (!name || !valid_friendly_name(*name))
        co_return twilio_fail(ctx, error{errc::invalid_parameter, "ConferenceSid"},
                              "A conference is named by its Sid or by a FriendlyName of 1 to "
                              "128 printable characters");
    auto opened = co_await calls.open_conference(account_sid, *name, deps->now(), deps->random);
    if (!opened) co_return twilio_fail(ctx, store_failure(opened.err()));
    co_return std::move(*opened);
}

void add_conference_routes(net::router& routes, deps_ptr deps)
{
    constexpr auto style = net::error_style::twilio;
    const std::string conferences = "/2010-04-01/Accounts/{AccountSid}/Conferences";
    const std::string one = conferences + "/{ConferenceSid}";
    const std::string participants = one + "/Participants";
    const auto route = [&](http::verb verb, const std::string& path, auto handler) {
        routes.add(verb, path, style,
                   [deps, handler](net::request_context& ctx) { return handler(deps, ctx); });
    };
    route(http::verb::get, conferences + ".json", list_conferences);
    route(http::verb::get, one + ".json", fetch_conference);
    route(http::verb::post, participants + ".json", create_participant);
    route(http::verb::get, participants + ".json", list_participants);
    route(http::verb::get, participants + "/{CallSid}.json", fetch_participant);
    route(http::verb::post, participants + "/{CallSid}.json", update_participant);
    route(http::verb::delete_, participants + "/{CallSid}.json", delete_participant);
}

}  // namespace stirgate::api
