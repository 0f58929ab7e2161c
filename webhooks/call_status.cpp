#include "webhooks/call_status.hpp"

#include "webhooks/edge_request.hpp"

#include <algorithm>
#include <memory>
#include <string_view>

#include "rest/async_calls.hpp"
#include "rest/twilio_request.hpp"
#include "core/dates.hpp"
#include "core/error_table.hpp"
#include "core/form.hpp"
#include "core/sid.hpp"
#include "core/text.hpp"

namespace stirgate::webhooks {
namespace http = boost::beast::http;

namespace {

using rest::store_failure;
using rest::twilio_fail;
using rest::value_of;

using deps_ptr = std::shared_ptr<const call_status_dependencies>;
using store::call_status;


// "initiated" is a Twilio callback status but not a Call resource status: the call stays queued.
result<call_status> stored_status(std::string_view reported)
{
    if (reported == "initiated") return call_status::queued;
    return store::parse_call_status(reported);
}

// Progress order; a report may only move a call forward (edge reports can arrive late or be
// retried, and a finished call must stay finished).
int rank(call_status s) noexcept
{
    if (store::is_terminal(s)) return 3;
    switch (s) {
    case call_status::queued: return 0;
    case call_status::ringing: return 1;
    case call_status::in_progress: return 2;
    default: return 3;
    }
}

// The statuses the call may be in for `to` to apply. queued/initiated keep a queued call
// queued (so its "initiated" callback is owed once); everything else must move forward.
std::vector<call_status> allowed_from(call_status to)
{
    constexpr call_status all[] = {call_status::queued, call_status::ringing,
                                   call_status::in_progress};
    std::vector<call_status> out;
    for (call_status s : all)
        if (rank(s) < rank(to) || (to == call_status::queued && s == call_status::queued))
            out.push_back(s);
    return out;
}

net::http_response stored_ok(const net::request_context& ctx)
{
    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = "{}";
    return res;
}

net::awaitable<net::http_response> call_status_handler(deps_ptr deps, net::request_context& ctx)
{
    // 1. The edge's signature, over the URL it signed. No token configured: nothing is trusted.
    auto form = authenticate_edge_request(
        edge_trust{deps->edge_auth_token, deps->public_url, deps->trusted_proxies}, ctx);
    if (!form) co_return twilio_fail(ctx, form.err());

    // 2. The report's fields.
    status_report report;
    const auto sid = value_of(*form, "CallSid");
    if (!sid)
        co_return twilio_fail(ctx, error{errc::invalid_parameter, "CallSid"},
                              "CallSid is required");
    report.call_sid = *sid;
    report.call_status = value_of(*form, "CallStatus").value_or("");
    auto status = stored_status(report.call_status);
    if (!status)
        co_return twilio_fail(ctx, error{errc::invalid_parameter, "CallStatus"},
                       "CallStatus must be one of queued, initiated, ringing, in-progress, "
                       "completed, busy, failed, no-answer, canceled");
    if (const auto d = value_of(*form, "CallDuration")) {
        report.call_duration = core::parse_decimal(*d, 1'000'000'000);
        if (!report.call_duration)
            co_return twilio_fail(ctx, error{errc::invalid_parameter, "CallDuration"},
                           "CallDuration must be a non-negative integer");
    }
    if (const auto code = value_of(*form, "SipResponseCode")) {
        const auto n = core::parse_decimal(*code, 699);
        if (!n || *n < 100 || code->size() != 3)
            co_return twilio_fail(ctx, error{errc::invalid_parameter, "SipResponseCode"},
                           "SipResponseCode must be a SIP status code");
        report.sip_response_code = *code;
    }
    if (!core::is_call_sid(report.call_sid)) co_return twilio_fail(ctx, errc::not_found);
    ctx.call_sid = report.call_sid;  // the request's log line names the call

    // 3. The call as it is now: its start time gives the duration, its status decides whether
    // a "canceled" callback is owed.
    const rest::async_calls calls{deps->calls};
    auto found = co_await calls.find(report.call_sid);
    if (!found) co_return twilio_fail(ctx, store_failure(found.err()));
    if (!*found) co_return twilio_fail(ctx, errc::not_found);
    const store::call_record& before = **found;

    const std::int64_t now = deps->now();
    store::call_update update;
    update.status = *status;
    update.date_updated = now;
    update.only_from = allowed_from(*status);
    if (*status == call_status::in_progress) update.start_time = now;
    if (store::is_terminal(*status)) {
        update.end_time = now;
        // The edge knows best (it saw the answer); otherwise measure from our start time. A call
        // never answered lasted 0 s.
        if (report.call_duration)
            update.duration = report.call_duration;
        else
            update.duration = before.start_time ? std::max<std::int64_t>(0, now - *before.start_time)
                                                : 0;
    }

    // 4. The callback is built from the call as it will be stored, then stored with it.
    store::call_record after = before;
    store::apply(after, update);
    std::vector<store::outbox_item> items;
    if (auto item = status_callback_item(after, before.status, report, now))
        items.push_back(std::move(*item));
    const bool queues = !items.empty();

    auto updated =
        co_await calls.update_status(report.call_sid, std::move(update), std::move(items));
    if (!updated) {
        // Stale, out of order or a retry of what is stored: acknowledged so the edge stops.
        if (updated.code() == errc::conflict) co_return stored_ok(ctx);
        if (updated.code() == errc::not_found) co_return twilio_fail(ctx, errc::not_found);
        co_return twilio_fail(ctx, store_failure(updated.err()));
    }
    if (queues && deps->on_queued) deps->on_queued();
    co_return stored_ok(ctx);
}

}  // namespace

void add_call_status_routes(net::router& routes, const call_status_dependencies& deps)
{
    auto shared = std::make_shared<const call_status_dependencies>(deps);
    auto handler = [shared](net::request_context& ctx) { return call_status_handler(shared, ctx); };
    routes.add(http::verb::post, "/webhooks/call-status", net::error_style::twilio, handler);
}

}  // namespace stirgate::webhooks
