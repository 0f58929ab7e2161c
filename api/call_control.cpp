#include "api/call_control.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "rest/async_calls.hpp"
#include "api/call_json.hpp"
#include "rest/status_callbacks.hpp"
#include "rest/twilio_request.hpp"
#include "core/form.hpp"
#include "core/sid.hpp"

namespace stirgate::api {

// The request toolkit every handler shares (src/rest).
using namespace rest;
namespace http = boost::beast::http;

namespace {

using deps_ptr = std::shared_ptr<const calls_dependencies>;
using store::call_status;

// A status change can race the edge's own reports (the call is answered meanwhile): the call
// is read again and the change decided anew, this many times.
constexpr int max_update_attempts = 3;

struct update_params {
    std::optional<call_status> end;  // Status: completed or canceled, as asked
    std::optional<std::string> url;
    std::optional<std::string> twiml;
    std::string method = "POST";
    std::optional<std::string> fallback_url;
    std::optional<std::string> fallback_method;
    std::optional<std::string> status_callback;
    std::optional<std::string> status_callback_method;

    bool redirects() const noexcept { return url || twiml; }
};

// A method parameter when given (absent: the stored one stays).
std::optional<param_error> optional_method(const core::form_params& form, std::string_view name,
                                           std::optional<std::string>& out)
{
    const auto given = value_of(form, name);
    if (!given) return std::nullopt;
    auto method = parse_method(given);
    if (!method) return param_error{method.err(), std::string(name) + " must be GET or POST"};
    out = *method;
    return std::nullopt;
}

std::variant<update_params, param_error> parse_update(const core::form_params& form,
                                                      const net::http_client_policy& url_policy)
{
    if (auto repeated = find_repeated(
            form, {"Status", "Url", "Twiml", "Method", "FallbackUrl", "FallbackMethod",
                   "StatusCallback", "StatusCallbackMethod", "TimeLimit"}))
        return *std::move(repeated);
    update_params p;
    if (const auto status = value_of(form, "Status")) {
        if (*status == "completed")
            p.end = call_status::completed;
        else if (*status == "canceled")
            p.end = call_status::canceled;
        else
            return refuse_parameter("Status", "Status must be canceled or completed");
    }
    p.url = value_of(form, "Url");
    p.twiml = value_of(form, "Twiml");
    if (p.url && p.twiml) return refuse_parameter("Url", "Url and Twiml are mutually exclusive");
    if (auto bad = check_url("Url", p.url, url_policy)) return *std::move(bad);
    if (auto bad = check_twiml(p.twiml)) return *std::move(bad);
    auto method = parse_method(value_of(form, "Method"));
    if (!method) return param_error{method.err(), {}};
    p.method = *method;
    p.fallback_url = value_of(form, "FallbackUrl");
    if (auto bad = check_url("FallbackUrl", p.fallback_url, url_policy)) return *std::move(bad);
    if (auto bad = optional_method(form, "FallbackMethod", p.fallback_method))
        return *std::move(bad);
    p.status_callback = value_of(form, "StatusCallback");
    if (auto bad = check_url("StatusCallback", p.status_callback, url_policy))
        return *std::move(bad);
    if (auto bad = optional_method(form, "StatusCallbackMethod", p.status_callback_method))
        return *std::move(bad);
    if (value_of(form, "TimeLimit"))
        return refuse_parameter("TimeLimit", "TimeLimit is not supported: the edge enforces call limits");

    const bool callbacks =
        p.fallback_url || p.fallback_method || p.status_callback || p.status_callback_method;
    if (p.end && p.redirects())
        return refuse_parameter("Status", "Status cannot be combined with Url or Twiml");
    if (callbacks && !p.redirects())
        return refuse_parameter("StatusCallback",
                      "FallbackUrl, FallbackMethod, StatusCallback and StatusCallbackMethod can "
                      "be updated only together with Url or Twiml");
    if (!p.end && !p.redirects())
        return param_error{{errc::missing_parameter, "Status, Url or Twiml"},
                           "Give Status, Url or Twiml to update a call"};
    return p;
}

// The status `asked` (completed or canceled) moves a call that is `current` to, or none when
// the call may not be ended that way: an ended call cannot end again, and an answered call is
// hung up (completed), not canceled. A call not yet answered is canceled either way.
std::optional<call_status> ended_status(call_status asked, call_status current)
{
    if (store::is_terminal(current)) return std::nullopt;
    if (current == call_status::in_progress)
        return asked == call_status::completed ? std::optional(call_status::completed)
                                               : std::nullopt;
    return call_status::canceled;
}

std::string state_message(const store::call_record& call, std::string_view action)
{
    return "Call " + call.sid + " is " + std::string(store::to_string(call.status)) +
           " and cannot be " + std::string(action);
}

// The change for `call` as it is now; items: what it owes the edge and the application.
struct planned_update {
    store::call_update update;
    std::vector<store::outbox_item> items;
};

std::variant<planned_update, param_error> plan_update(const calls_dependencies& deps,
                                                      const update_params& p,
                                                      const store::call_record& call,
                                                      std::int64_t now)
{
    planned_update plan;
    store::call_update& u = plan.update;
    u.date_updated = now;
    std::vector<store::name_value> action;
    if (p.end) {
        const auto next = ended_status(*p.end, call.status);
        if (!next)
            return param_error{
                {errc::call_state_invalid, "call " + call.sid},
                state_message(call, *p.end == call_status::canceled ? "canceled" : "ended")};
        u.status = *next;
        u.only_from = call.status == call_status::in_progress
                          ? std::vector{call_status::in_progress}
                          : std::vector{call_status::queued, call_status::ringing};
        u.end_time = now;
        u.duration = *next == call_status::completed && call.start_time
                         ? std::max<std::int64_t>(0, now - *call.start_time)
                         : 0;
        action = {{"Action", "hangup"}, {"CallStatus", std::string(store::to_string(*next))}};
    } else {
        if (store::is_terminal(call.status))
            return param_error{{errc::call_state_invalid, "call " + call.sid},
                               state_message(call, "redirected")};
        u.only_from = store::live_statuses();
        if (p.url) {
            u.url = p.url;
            u.method = p.method;
            action = {{"Action", "redirect"}, {"Url", *p.url}, {"Method", p.method}};
        } else {
            action = {{"Action", "redirect"}, {"Twiml", *p.twiml}};
        }
        // Twilio: a participant whose call is given new TwiML leaves its conference.
        if (call.participant) u.participant = std::optional<store::participant_info>();
        u.fallback_url = p.fallback_url;
        u.fallback_method = p.fallback_method;
        u.status_callback = p.status_callback;
        u.status_callback_method = p.status_callback_method;
    }
    if (!deps.edge_control_url.empty()) {
        store::outbox_item control =
            edge_item(store::outbox_kind::edge_control, deps.edge_control_url, call, now);
        for (auto& field : action) control.params.push_back(std::move(field));
        plan.items.push_back(std::move(control));
    }
    if (u.status) {
        store::call_record after = call;
        store::apply(after, u);
        const status_report report{
            call.sid, std::string(store::to_string(*u.status)), u.duration, {}};
        if (auto callback = status_callback_item(after, call.status, report, now))
            plan.items.push_back(std::move(*callback));
    }
    return plan;
}

}  // namespace

store::outbox_item edge_item(store::outbox_kind kind, const std::string& target_url,
                             const store::call_record& call, std::int64_t now)
{
    store::outbox_item item;
    item.kind = kind;
    item.call_sid = call.sid;
    item.target_url = target_url;
    item.method = "POST";
    item.params.emplace_back("CallSid", call.sid);
    item.params.emplace_back("AccountSid", call.account_sid);
    item.created_at_ms = now * 1000;
    item.next_attempt_at_ms = now * 1000;
    return item;
}

net::awaitable<net::http_response> update_call(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    if (auto ok = check_form_body(ctx.request); !ok) co_return twilio_fail(ctx, ok.err());
    auto form = core::parse_form(ctx.request.body());
    if (!form) co_return twilio_fail(ctx, form.err());
    auto parsed = parse_update(*form, deps->customer_urls);
    if (auto* bad = std::get_if<param_error>(&parsed))
        co_return twilio_fail(ctx, bad->e, bad->message);
    const update_params& p = std::get<update_params>(parsed);
    const std::string sid(ctx.param("CallSid"));
    if (!core::is_call_sid(sid)) co_return twilio_fail(ctx, errc::not_found);
    ctx.call_sid = sid;

    const async_calls calls{deps->calls};
    const std::string account_sid = (*account)->sid;
    for (int attempt = 0; attempt < max_update_attempts; ++attempt) {
        auto found = co_await calls.get(account_sid, sid);
        if (!found) co_return twilio_fail(ctx, store_failure(found.err()));
        if (!*found) co_return twilio_fail(ctx, errc::not_found);
        auto planned = plan_update(*deps, p, **found, deps->now());
        if (auto* bad = std::get_if<param_error>(&planned))
            co_return twilio_fail(ctx, bad->e, bad->message);
        planned_update& plan = std::get<planned_update>(planned);
        const bool queues = !plan.items.empty();
        auto updated =
            co_await calls.update_status(sid, std::move(plan.update), std::move(plan.items));
        if (updated) {
            if (queues && deps->on_queued) deps->on_queued();
            co_return json_reply(ctx, render_call_json(*updated));
        }
        if (updated.code() == errc::not_found) co_return twilio_fail(ctx, errc::not_found);
        // conflict: the call's status changed since it was read; decide again.
        if (updated.code() != errc::conflict)
            co_return twilio_fail(ctx, store_failure(updated.err()));
    }
    co_return twilio_fail(ctx, error{errc::call_state_invalid, "call " + sid},
                          "Call " + sid + " changed state during the update; try again");
}

net::awaitable<net::http_response> delete_call(deps_ptr deps, net::request_context& ctx)
{
    auto account = authorize(deps->accounts, deps->auth, ctx);
    if (!account) co_return twilio_fail(ctx, account.err());
    const std::string sid(ctx.param("CallSid"));
    if (!core::is_call_sid(sid)) co_return twilio_fail(ctx, errc::not_found);
    ctx.call_sid = sid;
    const async_calls calls{deps->calls};
    auto removed = co_await calls.remove((*account)->sid, sid);
    if (!removed) {
        if (removed.code() == errc::not_found) co_return twilio_fail(ctx, errc::not_found);
        if (removed.code() == errc::conflict)
            co_return twilio_fail(ctx, error{errc::call_state_invalid, removed.err().detail},
                                  "Call " + sid +
                                      " has not ended: only a call that has ended can be "
                                      "deleted");
        co_return twilio_fail(ctx, store_failure(removed.err()));
    }
    net::http_response res{http::status::no_content, ctx.request.version()};
    co_return res;
}

}  // namespace stirgate::api
