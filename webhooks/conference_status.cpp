#include "webhooks/conference_status.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/sid.hpp"
#include "rest/async_calls.hpp"
#include "rest/twilio_request.hpp"
#include "webhooks/edge_request.hpp"

namespace stirgate::webhooks {
namespace http = boost::beast::http;

namespace {

using rest::store_failure;
using rest::twilio_fail;
using rest::value_of;
using deps_ptr = std::shared_ptr<const call_status_dependencies>;

constexpr std::array<std::string_view, 5> acknowledged_only{
    "participant-modify", "participant-speech-start", "participant-speech-stop", "announcement-end",
    "announcement-fail"};

error bad_field(std::string name)
{
    return error{errc::invalid_parameter, std::move(name)};
}

std::optional<bool> boolean(const core::form_params& form, std::string_view name, bool& bad)
{
    const auto v = value_of(form, name);
    if (!v) return std::nullopt;
    const auto b = rest::parse_boolean(*v);
    if (!b) bad = true;
    return b;
}

net::http_response answer(const net::request_context& ctx, const std::string& conference_sid)
{
    return rest::json_reply(ctx, "{\"conference_sid\":\"" + conference_sid + "\"}");
}

using conference_found = std::variant<store::conference_record, net::http_response>;

// The conference the report names: its sid, or AccountSid + FriendlyName (opened by name).
net::awaitable<conference_found> reported_conference(deps_ptr deps, net::request_context& ctx,
                                                     const core::form_params& form)
{
    const rest::async_calls calls{deps->calls};
    if (const auto sid = value_of(form, "ConferenceSid")) {
        if (!core::is_conference_sid(*sid)) co_return twilio_fail(ctx, errc::not_found);
        auto found = co_await calls.get_conference(std::nullopt, *sid);
        if (!found) co_return twilio_fail(ctx, store_failure(found.err()));
        if (!*found) co_return twilio_fail(ctx, errc::not_found);
        co_return std::move(**found);
    }
    const auto account = value_of(form, "AccountSid");
    const auto name = value_of(form, "FriendlyName");
    if (!account || !core::is_account_sid(*account) || !name)
        co_return twilio_fail(ctx, bad_field("ConferenceSid"),
                              "ConferenceSid, or AccountSid and FriendlyName, are required");
    auto opened =
        co_await calls.open_conference(*account, *name, deps->now(), core::openssl_random_bytes);
    if (!opened) {
        if (opened.code() == errc::invalid_parameter)
            co_return twilio_fail(ctx, bad_field("FriendlyName"),
                                  "FriendlyName must be 1 to 128 characters");
        co_return twilio_fail(ctx, store_failure(opened.err()));
    }
    co_return std::move(*opened);
}

net::awaitable<net::http_response> conference_status_handler(deps_ptr deps,
                                                             net::request_context& ctx)
{
    auto form = authenticate_edge_request(
        edge_trust{deps->edge_auth_token, deps->public_url, deps->trusted_proxies}, ctx);
    if (!form) co_return twilio_fail(ctx, form.err());

    const std::string event = value_of(*form, "StatusCallbackEvent").value_or("");
    const bool conference_event = event == "conference-start" || event == "conference-end";
    const bool participant_event = event == "participant-join" || event == "participant-leave" ||
                                   event == "participant-mute" || event == "participant-unmute" ||
                                   event == "participant-hold" || event == "participant-unhold";
    const bool ignored = std::find(acknowledged_only.begin(), acknowledged_only.end(), event) !=
                         acknowledged_only.end();
    if (!conference_event && !participant_event && !ignored)
        co_return twilio_fail(ctx, bad_field("StatusCallbackEvent"),
                              "StatusCallbackEvent must be a conference or participant event");
    bool bad = false;
    const auto muted = boolean(*form, "Muted", bad);
    const auto hold = boolean(*form, "Hold", bad);
    const auto start_on_enter = boolean(*form, "StartConferenceOnEnter", bad);
    const auto end_on_exit = boolean(*form, "EndConferenceOnExit", bad);
    if (bad)
        co_return twilio_fail(ctx, bad_field("Muted"),
                              "Muted, Hold, StartConferenceOnEnter and EndConferenceOnExit must "
                              "be true or false");
    const auto label = value_of(*form, "Label");
    if (label && label->size() > 128)
        co_return twilio_fail(ctx, bad_field("Label"), "Label must be at most 128 characters");
    const auto ending = value_of(*form, "CallSidEndingConference");
    if (ending && !core::is_call_sid(*ending))
        co_return twilio_fail(ctx, bad_field("CallSidEndingConference"),
                              "CallSidEndingConference must be a CallSid");
    const auto reason = value_of(*form, "ReasonConferenceEnded");
    if (reason && reason->size() > 128)
        co_return twilio_fail(ctx, bad_field("ReasonConferenceEnded"),
                              "ReasonConferenceEnded must be at most 128 characters");
    const auto call_sid = value_of(*form, "CallSid");
    if (participant_event && !call_sid)
        co_return twilio_fail(ctx, bad_field("CallSid"), "CallSid is required for " + event);

    conference_found found = co_await reported_conference(deps, ctx, *form);
    if (auto* refused = std::get_if<net::http_response>(&found)) co_return std::move(*refused);
    const store::conference_record conference = std::get<store::conference_record>(found);
    if (ignored) co_return answer(ctx, conference.sid);

    const rest::async_calls calls{deps->calls};
    const std::int64_t now = deps->now();
    if (conference_event) {
        store::conference_update u;
        u.status = event == "conference-start" ? store::conference_status::in_progress
                                               : store::conference_status::completed;
        u.date_updated = now;
        u.reason_ended = reason;
        u.call_sid_ending = ending;
        auto updated = co_await calls.update_conference(conference.sid, std::move(u));
        if (!updated) co_return twilio_fail(ctx, store_failure(updated.err()));
        co_return answer(ctx, conference.sid);
    }

    if (!core::is_call_sid(*call_sid)) co_return twilio_fail(ctx, errc::not_found);
    ctx.call_sid = *call_sid;
    auto call = co_await calls.get(conference.account_sid, *call_sid);
    if (!call) co_return twilio_fail(ctx, store_failure(call.err()));
    if (!*call) co_return twilio_fail(ctx, errc::not_found);
    const std::optional<store::participant_info>& current = (*call)->participant;
    const bool here = current && current->conference_sid == conference.sid;

    std::optional<store::participant_info> next;
    if (event == "participant-join") {
        next = here ? *current : store::participant_info{};
        next->conference_sid = conference.sid;
        if (label) next->label = *label;
        if (start_on_enter) next->start_conference_on_enter = *start_on_enter;
        if (end_on_exit) next->end_conference_on_exit = *end_on_exit;
    } else if (!here) {
        co_return answer(ctx, conference.sid);  // not (or no longer) in this conference
    } else if (event != "participant-leave") {
        next = *current;
        if (event == "participant-mute" || event == "participant-unmute")
            next->muted = event == "participant-mute";
        if (event == "participant-hold" || event == "participant-unhold")
            next->hold = event == "participant-hold";
    }
    if (next && muted) next->muted = *muted;
    if (next && hold) next->hold = *hold;

    store::call_update u;
    u.date_updated = now;
    u.participant = next;
    // Only a live call takes part: a report about an ended call changes nothing.
    u.only_from = store::live_statuses();
    auto updated = co_await calls.update_status(*call_sid, std::move(u));
    if (!updated && updated.code() != errc::conflict) {
        if (updated.code() == errc::not_found) co_return twilio_fail(ctx, errc::not_found);
        co_return twilio_fail(ctx, store_failure(updated.err()));
    }
    co_return answer(ctx, conference.sid);
}

}  // namespace

void add_conference_status_routes(net::router& routes, const call_status_dependencies& deps)
{
    auto shared = std::make_shared<const call_status_dependencies>(deps);
    auto handler = [shared](net::request_context& ctx) {
        return conference_status_handler(shared, ctx);
    };
    routes.add(http::verb::post, "/webhooks/conference-status", net::error_style::twilio, handler);
}

}  // namespace stirgate::webhooks
