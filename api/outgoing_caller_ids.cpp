#include "api/outgoing_caller_ids.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/call_json.hpp"
#include "core/crypto.hpp"
#include "core/text.hpp"
#include "rest/twilio_request.hpp"

namespace stirgate::api {
namespace http = boost::beast::http;

// The request toolkit every handler shares (src/rest).
using namespace rest;

namespace {

using deps_ptr = std::shared_ptr<const outgoing_caller_ids_dependencies>;
constexpr std::size_t default_page_size = 50;

struct caller_id {
    std::string sid;
    std::string number;
    std::string friendly_name;
};

// The account's caller IDs in a fixed order (by number), so pages hold still between requests.
std::vector<caller_id> caller_ids_of(const core::account_config& account)
{
    std::vector<caller_id> out;
    for (const auto& number : account.verified_caller_ids)
        out.push_back(
            {outgoing_caller_id_sid(account.sid, number), number, format_phone_number(number)});
    std::sort(out.begin(), out.end(),
              [](const caller_id& a, const caller_id& b) { return a.number < b.number; });
    return out;
}

std::string caller_id_uri(std::string_view account_sid, std::string_view sid)
{
    return "/2010-04-01/Accounts/" + std::string(account_sid) + "/OutgoingCallerIds/" +
           std::string(sid) + ".json";
}

std::string render_caller_id(std::string_view account_sid, const caller_id& c)
{
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    const auto field = [&w](const char* key, std::string_view value) {
        w.Key(key);
        w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
    };
    w.StartObject();
    field("account_sid", account_sid);
    w.Key("date_created");
    w.Null();
    w.Key("date_updated");
    w.Null();
    field("friendly_name", c.friendly_name);
    field("phone_number", c.number);
    field("sid", c.sid);
    field("uri", caller_id_uri(account_sid, c.sid));
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

net::awaitable<net::http_response> fetch(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    const std::string_view sid = ctx.param("Sid");
    for (const auto& c : caller_ids_of(**account))
        if (c.sid == sid) co_return json_reply(ctx, render_caller_id((*account)->sid, c));
    co_return twilio_fail(ctx, errc::not_found);
}

net::awaitable<net::http_response> list(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    auto query = core::parse_form(ctx.query);
    if (!query) co_return twilio_fail(ctx, query.err());
    if (auto repeated =
            find_repeated(*query, {"PhoneNumber", "FriendlyName", "PageSize", "Page", "PageToken"}))
        co_return twilio_fail(ctx, repeated->e, repeated->message);

    auto paged = parse_paging(*query, default_page_size, 1'000'000);
    if (auto* bad = std::get_if<param_error>(&paged))
        co_return twilio_fail(ctx, bad->e, bad->message);
    list_position at;
    at.account_sid = (*account)->sid;
    at.resource = "OutgoingCallerIds";
    at.page_size = std::get<paging>(paged).page_size;
    at.page = std::get<paging>(paged).page;
    at.page_token = std::get<paging>(paged).page_token;
    const auto phone = value_of(*query, "PhoneNumber");
    const auto name = value_of(*query, "FriendlyName");
    if (phone) at.filters.emplace_back("PhoneNumber", *phone);
    if (name) at.filters.emplace_back("FriendlyName", *name);
    // The token is "PA" + the page number it opens, checked against Page: a list this short is
    // paged by position, and a token cannot point anywhere the page number does not.
    if (at.page > 0 && at.page_token != "PA" + std::to_string(at.page))
        co_return twilio_fail(ctx, error{errc::invalid_parameter, "PageToken"},
                              "PageToken is not valid for this Page: follow next_page_uri or "
                              "previous_page_uri");

    std::vector<caller_id> matches;
    for (auto& c : caller_ids_of(**account)) {
        // Twilio matches PhoneNumber exactly (E.164) and FriendlyName exactly.
        if (phone && c.number != *phone) continue;
        if (name && c.friendly_name != *name) continue;
        matches.push_back(std::move(c));
    }
    const std::size_t first = std::min(matches.size(), at.page * at.page_size);
    const std::size_t last = std::min(matches.size(), first + at.page_size);
    std::vector<std::string> items;
    for (std::size_t i = first; i < last; ++i)
        items.push_back(render_caller_id(at.account_sid, matches[i]));
    if (last < matches.size()) at.next_page_token = "PA" + std::to_string(at.page + 1);
    if (at.page > 0)
        at.previous_page_token = at.page == 1 ? "" : "PA" + std::to_string(at.page - 1);
    co_return json_reply(ctx, render_list(at, "outgoing_caller_ids", items));
}

}  // namespace

std::string outgoing_caller_id_sid(std::string_view account_sid, std::string_view number)
{
    const auto digest = core::sha256(std::string(account_sid) + ":" + std::string(number));
    return "PN" + core::hex_lower(std::span(digest).first(16));
}

void add_outgoing_caller_id_routes(net::router& routes,
                                   const outgoing_caller_ids_dependencies& deps)
{
    auto shared = std::make_shared<const outgoing_caller_ids_dependencies>(deps);
    constexpr auto style = net::error_style::twilio;
    auto list_route = [shared](net::request_context& ctx) { return list(shared, ctx); };
    auto fetch_route = [shared](net::request_context& ctx) { return fetch(shared, ctx); };
    routes.add(http::verb::get, "/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds.json", style,
               list_route);
    routes.add(http::verb::get, "/2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}.json",
               style, fetch_route);
}

}  // namespace stirgate::api
