#include "api/participants.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "api/call_control.hpp"
#include "api/call_create.hpp"
#include "api/call_json.hpp"
#include "api/call_options.hpp"
#include "api/conference_json.hpp"
#include "api/conferences.hpp"
#include "core/form.hpp"
#include "core/sid.hpp"
#include "rest/async_calls.hpp"
#include "rest/twilio_request.hpp"

namespace stirgate::api {

// The request toolkit every handler shares (src/rest).
using namespace rest;
namespace http = boost::beast::http;

namespace {

using deps_ptr = participant_deps;

constexpr std::size_t default_page_size = 50;
// An update races the edge's reports (the call ends meanwhile): read again, this many times.
constexpr int max_update_attempts = 3;

// Twilio lists and fetches only current participants: the call live, in this conference, and
// the conference not completed.
bool is_current(const store::call_record& call, const store::conference_record& conference)
{
    return call.participant && call.participant->conference_sid == conference.sid &&
           !store::is_terminal(call.status) &&
           conference.status != store::conference_status::completed;
}

store::call_filter participants_of(const store::conference_record& conference)
{
    store::call_filter f;
    f.conference_sid = conference.sid;
    f.live_only = true;
    return f;
}

struct located {
    store::conference_record conference;
    store::call_record call;
};
using location = std::variant<located, net::http_response>;

// The conference (a CF sid) and its current participant the path's {CallSid} names: a CallSid,
// or a Label (Twilio's fetch, update and delete take either). 20404 otherwise.
net::awaitable<location> locate(deps_ptr deps, net::request_context& ctx,
                                const std::string& account_sid)
{
    conference_lookup found = co_await resolve_conference(deps, ctx, account_sid, false);
    if (auto* refused = std::get_if<net::http_response>(&found)) co_return std::move(*refused);
    located at{std::get<store::conference_record>(std::move(found)), {}};
    if (at.conference.status == store::conference_status::completed)
        co_return twilio_fail(ctx, errc::not_found);

    const std::string id(ctx.param("CallSid"));
    const async_calls calls{deps->calls};
    if (core::is_call_sid(id)) {
        auto call = co_await calls.get(account_sid, id);
        if (!call) co_return twilio_fail(ctx, store_failure(call.err()));
        if (!*call || !is_current(**call, at.conference))
            co_return twilio_fail(ctx, errc::not_found);
        at.call = std::move(**call);
        ctx.call_sid = id;
        co_return at;
    }
    auto label = core::decode_uri_component(id);
    if (!label) co_return twilio_fail(ctx, errc::not_found);
    // A conference holds at most 250 participants (MaxParticipants): one page has them all.
    auto page =
        co_await calls.list(account_sid, participants_of(at.conference), store::max_page_size, "");
    if (!page) co_return twilio_fail(ctx, store_failure(page.err()));
    const auto named = std::find_if(page->calls.begin(), page->calls.end(), [&](const auto& c) {
        return c.participant && c.participant->label == *label;
    });
    if (named == page->calls.end()) co_return twilio_fail(ctx, errc::not_found);
    at.call = std::move(*named);
    ctx.call_sid = at.call.sid;
    co_return at;
}

struct participant_change {
    std::optional<bool> muted;
    std::optional<bool> hold;
    std::optional<bool> end_conference_on_exit;
    std::vector<store::name_value> edge;  // the control form's fields after ConferenceSid
};

std::variant<participant_change, param_error> parse_change(const core::form_params& form,
                                                           const net::http_client_policy& urls)
{
    for (const std::string_view name : {"Coaching", "CallSidToCoach", "WaitUrl", "WaitMethod"})
        if (value_of(form, name))
            return refuse_parameter(std::string(name),
                          std::string(name) + " cannot be updated on this gateway");
    if (auto repeated =
            find_repeated(form, {"Muted", "Hold", "HoldUrl", "HoldMethod", "AnnounceUrl",
                                 "AnnounceMethod", "BeepOnExit", "EndConferenceOnExit"}))
        return *std::move(repeated);
    participant_change change;
    const auto flag = [&](std::string_view name,
                          std::optional<bool>& into) -> std::optional<param_error> {
        const auto v = value_of(form, name);
        if (!v) return std::nullopt;
        into = parse_boolean(*v);
        if (!into) return refuse_parameter(std::string(name), std::string(name) + " must be true or false");
        change.edge.emplace_back(std::string(name), *into ? "true" : "false");
        return std::nullopt;
    };
    if (auto bad = flag("Muted", change.muted)) return *std::move(bad);
    if (auto bad = flag("Hold", change.hold)) return *std::move(bad);
    if (auto bad = flag("EndConferenceOnExit", change.end_conference_on_exit))
        return *std::move(bad);
    std::optional<bool> beep_on_exit;
    if (auto bad = flag("BeepOnExit", beep_on_exit)) return *std::move(bad);
    for (const std::string_view name : {"HoldUrl", "AnnounceUrl"}) {
        const auto v = value_of(form, name);
        if (auto bad = check_url(name, v, urls)) return *std::move(bad);
        if (v) change.edge.emplace_back(std::string(name), *v);
    }
    for (const std::string_view name : {"HoldMethod", "AnnounceMethod"}) {
        const auto v = value_of(form, name);
        if (!v) continue;
        auto m = parse_method(v);
        if (!m) return param_error{m.err(), std::string(name) + " must be GET or POST"};
        change.edge.emplace_back(std::string(name), *m);
    }
    if (change.edge.empty())
        return param_error{{errc::missing_parameter, "Muted, Hold, AnnounceUrl"},
                           "Give Muted, Hold, HoldUrl, AnnounceUrl, BeepOnExit or "
                           "EndConferenceOnExit to update a participant"};
    return change;
}

// The edge's instruction about a participant, due now, beside its stored change.
store::outbox_item participant_control(const calls_dependencies& deps,
                                       const store::call_record& call,
                                       const store::conference_record& conference,
                                       std::string_view action,
                                       const std::vector<store::name_value>& fields,
                                       std::int64_t now)
{
    store::outbox_item item =
        edge_item(store::outbox_kind::edge_control, deps.edge_control_url, call, now);
    item.params.emplace_back("Action", std::string(action));
    item.params.emplace_back("ConferenceSid", conference.sid);
    for (const auto& f : fields) item.params.push_back(f);
    return item;
}

// Stores `change_of(call)` for the located participant with its edge instruction; the call is
// read again when its status moved meanwhile. The call as stored, or the error response.
template <class Change>
net::awaitable<std::variant<store::call_record, net::http_response>> apply_to_participant(
    deps_ptr deps, net::request_context& ctx, located at, std::string_view action,
    std::vector<store::name_value> edge_fields, Change change_of)
{
    const async_calls calls{deps->calls};
    for (int attempt = 0; attempt < max_update_attempts; ++attempt) {
        const std::int64_t now = deps->now();
        store::call_update u;
        u.date_updated = now;
        u.only_from = store::live_statuses();
        u.participant = change_of(*at.call.participant);
        std::vector<store::outbox_item> items;
        if (!deps->edge_control_url.empty())
            items.push_back(
                participant_control(*deps, at.call, at.conference, action, edge_fields, now));
        auto updated = co_await calls.update_status(at.call.sid, std::move(u), std::move(items));
        if (updated) {
            if (!deps->edge_control_url.empty() && deps->on_queued) deps->on_queued();
            co_return std::move(*updated);
        }
        if (updated.code() == errc::not_found) co_return twilio_fail(ctx, errc::not_found);
        if (updated.code() != errc::conflict)
            co_return twilio_fail(ctx, store_failure(updated.err()));
        // conflict: the call ended or changed since it was read.
        auto again = co_await calls.get(at.call.account_sid, at.call.sid);
        if (!again) co_return twilio_fail(ctx, store_failure(again.err()));
        if (!*again || !is_current(**again, at.conference))
            co_return twilio_fail(ctx, errc::not_found);
        at.call = std::move(**again);
    }
    co_return twilio_fail(ctx, error{errc::call_state_invalid, "call " + at.call.sid},
                          "Participant " + at.call.sid + " changed during the update; try again");
}

}  // namespace

net::awaitable<net::http_response> create_participant(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    if (auto ok = check_form_body(ctx.request); !ok) co_return twilio_fail(ctx, ok.err());
    auto form = core::parse_form(ctx.request.body());
    if (!form) co_return twilio_fail(ctx, form.err());
    auto leg = parse_leg(*form, deps->customer_urls);
    if (auto* bad = std::get_if<param_error>(&leg))
        co_return twilio_fail(ctx, bad->e, bad->message);
    auto options = parse_conference_options(*form, deps->customer_urls);
    if (auto* bad = std::get_if<param_error>(&options))
        co_return twilio_fail(ctx, bad->e, bad->message);
    const leg_params& params = std::get<leg_params>(leg);
    // Checked and signed before the conference is opened, so a refused request opens none.
    auto prepared = prepare_leg(*deps, ctx, **account, params);
    if (auto* refused = std::get_if<net::http_response>(&prepared)) co_return std::move(*refused);

    conference_lookup found = co_await resolve_conference(deps, ctx, (*account)->sid, true);
    if (auto* refused = std::get_if<net::http_response>(&found)) co_return std::move(*refused);
    const auto& conference = std::get<store::conference_record>(found);
    if (conference.status == store::conference_status::completed)
        co_return twilio_fail(ctx, error{errc::invalid_parameter, "ConferenceSid"},
                              "Conference " + conference.sid +
                                  " is completed: add participants by FriendlyName to open a "
                                  "new conference");

    const conference_options& joined = std::get<conference_options>(options);
    leg_instructions run;
    store::participant_info participant;
    participant.conference_sid = conference.sid;
    participant.label = joined.label;
    participant.muted = joined.muted;
    participant.start_conference_on_enter = joined.start_conference_on_enter;
    participant.end_conference_on_exit = joined.end_conference_on_exit;
    run.participant = std::move(participant);
    run.conference_name = conference.friendly_name;
    run.conference_options = joined.dial;
    // Twilio's participant defaults the edge needs to know explicitly.
    run.conference_options.emplace_back("Muted", joined.muted ? "true" : "false");
    run.conference_options.emplace_back("StartConferenceOnEnter",
                                        joined.start_conference_on_enter ? "true" : "false");
    run.conference_options.emplace_back("EndConferenceOnExit",
                                        joined.end_conference_on_exit ? "true" : "false");
    if (!joined.label.empty()) run.conference_options.emplace_back("Label", joined.label);

    placed_leg placed =
        co_await store_leg(deps, ctx, std::get<prepared_leg>(std::move(prepared)), params, run);
    if (auto* refused = std::get_if<net::http_response>(&placed)) co_return std::move(*refused);
    co_return json_reply(ctx, render_participant_json(std::get<store::call_record>(placed)),
                         http::status::created);
}

net::awaitable<net::http_response> list_participants(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    auto query = core::parse_form(ctx.query);
    if (!query) co_return twilio_fail(ctx, query.err());
    if (auto repeated = find_repeated(*query, {"PageSize", "Page", "PageToken"}))
        co_return twilio_fail(ctx, repeated->e, repeated->message);
    for (const std::string_view name : {"Muted", "Hold", "Coaching"})
        if (value_of(*query, name))
            co_return twilio_fail(ctx, error{errc::invalid_parameter, std::string(name)},
                                  "The Muted, Hold and Coaching filters are not supported");
    auto paged = parse_keyset_paging(*query, default_page_size);
    if (auto* bad = std::get_if<param_error>(&paged))
        co_return twilio_fail(ctx, bad->e, bad->message);
    const paging& where = std::get<paging>(paged);

    conference_lookup found = co_await resolve_conference(deps, ctx, (*account)->sid, false);
    if (auto* refused = std::get_if<net::http_response>(&found)) co_return std::move(*refused);
    const auto& conference = std::get<store::conference_record>(found);

    list_position at;
    at.account_sid = (*account)->sid;
    at.resource = "Conferences/" + conference.sid + "/Participants";
    at.page_size = where.page_size;
    at.page = where.page;
    at.page_token = where.page_token;
    std::vector<std::string> items;
    // A completed conference has no current participants (Twilio keeps no history here).
    if (conference.status != store::conference_status::completed) {
        const async_calls calls{deps->calls};
        auto page = co_await calls.list(at.account_sid, participants_of(conference), at.page_size,
                                        at.page_token);
        if (!page) co_return list_page_failure(ctx, page.err());
        at.next_page_token = page->next_page_token;
        at.previous_page_token = page->previous_page_token;
        for (const auto& c : page->calls) items.push_back(render_participant_json(c));
    }
    co_return json_reply(ctx, render_list(at, "participants", items));
}

net::awaitable<net::http_response> fetch_participant(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    location found = co_await locate(deps, ctx, (*account)->sid);
    if (auto* refused = std::get_if<net::http_response>(&found)) co_return std::move(*refused);
    co_return json_reply(ctx, render_participant_json(std::get<located>(found).call));
}

net::awaitable<net::http_response> update_participant(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    if (auto ok = check_form_body(ctx.request); !ok) co_return twilio_fail(ctx, ok.err());
    auto form = core::parse_form(ctx.request.body());
    if (!form) co_return twilio_fail(ctx, form.err());
    auto parsed = parse_change(*form, deps->customer_urls);
    if (auto* bad = std::get_if<param_error>(&parsed))
        co_return twilio_fail(ctx, bad->e, bad->message);
    const participant_change change = std::get<participant_change>(std::move(parsed));

    location found = co_await locate(deps, ctx, (*account)->sid);
    if (auto* refused = std::get_if<net::http_response>(&found)) co_return std::move(*refused);
    // Named locals, not temporaries in the co_await expression (STYLE.md section 3: g++ 12).
    located at = std::get<located>(std::move(found));
    std::vector<store::name_value> fields = change.edge;
    auto change_of = [change](store::participant_info p) {
        if (change.muted) p.muted = *change.muted;
        if (change.hold) p.hold = *change.hold;
        if (change.end_conference_on_exit)
            p.end_conference_on_exit = *change.end_conference_on_exit;
        return std::optional<store::participant_info>(std::move(p));
    };
    auto updated = co_await apply_to_participant(deps, ctx, std::move(at), "participant",
                                                 std::move(fields), change_of);
    if (auto* refused = std::get_if<net::http_response>(&updated)) co_return std::move(*refused);
    co_return json_reply(ctx, render_participant_json(std::get<store::call_record>(updated)));
}

net::awaitable<net::http_response> delete_participant(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    location found = co_await locate(deps, ctx, (*account)->sid);
    if (auto* refused = std::get_if<net::http_response>(&found)) co_return std::move(*refused);
    located at = std::get<located>(std::move(found));
    std::vector<store::name_value> no_fields;
    auto leave = [](const store::participant_info&) {
        return std::optional<store::participant_info>();
    };
    auto removed = co_await apply_to_participant(deps, ctx, std::move(at), "kick",
                                                 std::move(no_fields), leave);
    if (auto* refused = std::get_if<net::http_response>(&removed)) co_return std::move(*refused);
    co_return net::http_response{http::status::no_content, ctx.request.version()};
}

}  // namespace stirgate::api
