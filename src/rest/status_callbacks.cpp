#include "rest/status_callbacks.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include "core/dates.hpp"

namespace stirgate::rest {
namespace {

// TWILIO-API.md section 5: the StatusCallbackEvent that subscribes to a reported status, and
// the SequenceNumber of that event.
struct event_info {
    std::string_view event;  // "" = no event (a queued report)
    int sequence = 0;
};

event_info event_for(std::string_view reported, store::call_status stored)
{
    if (reported == "initiated") return {"initiated", 0};
    if (stored == store::call_status::ringing) return {"ringing", 1};
    if (stored == store::call_status::in_progress) return {"answered", 2};
    if (store::is_terminal(stored)) return {"completed", 3};
    return {};
}

}  // namespace

std::optional<store::outbox_item> status_callback_item(const store::call_record& call,
                                                       store::call_status previous,
                                                       const status_report& report,
                                                       std::int64_t now)
{
    if (call.status_callback.empty()) return std::nullopt;
    const event_info ev = event_for(report.call_status, call.status);
    if (ev.event.empty()) return std::nullopt;
    // Twilio's default subscription is the completed event alone.
    const std::vector<std::string> defaults{"completed"};
    const auto& events =
        call.status_callback_events.empty() ? defaults : call.status_callback_events;
    if (std::find(events.begin(), events.end(), ev.event) == events.end()) return std::nullopt;
    if (call.status == store::call_status::canceled && previous == store::call_status::queued)
        return std::nullopt;  // TWILIO-API.md section 5: no callback for a call never placed

    store::outbox_item item;
    item.kind = store::outbox_kind::status_callback;
    item.call_sid = call.sid;
    item.target_url = call.status_callback;
    item.method = call.status_callback_method;
    item.idempotency_key = call.sid + ":" + report.call_status;
    item.created_at_ms = now * 1000;
    item.next_attempt_at_ms = now * 1000;
    auto& f = item.params;
    f.emplace_back("CallSid", call.sid);
    f.emplace_back("AccountSid", call.account_sid);  // the outbox signs with this account's token
    f.emplace_back("From", call.from);
    f.emplace_back("To", call.to);
    f.emplace_back("Caller", call.from);
    f.emplace_back("Called", call.to);
    f.emplace_back("CallStatus", report.call_status);
    f.emplace_back("ApiVersion", "2010-04-01");
    f.emplace_back("Direction", std::string(store::to_string(call.direction)));
    if (call.parent_call_sid) f.emplace_back("ParentCallSid", *call.parent_call_sid);
    f.emplace_back("Timestamp", core::format_rfc2822(now));
    f.emplace_back("CallbackSource", "call-progress-events");
    f.emplace_back("SequenceNumber", std::to_string(ev.sequence));
    if (store::is_terminal(call.status)) {
        const std::int64_t seconds = call.duration.value_or(0);
        f.emplace_back("CallDuration", std::to_string(seconds));
        // Billed minutes: every minute begun counts (TWILIO-API.md section 5).
        f.emplace_back("Duration", std::to_string((seconds + 59) / 60));
        if (report.sip_response_code) f.emplace_back("SipResponseCode", *report.sip_response_code);
    }
    // The bare attestation letter (DESIGN.md "Twilio API details"), not a verstat string.
    if ((call.status == store::call_status::ringing ||
         call.status == store::call_status::in_progress) &&
        call.attestation)
        f.emplace_back("StirStatus", std::string(core::to_string(*call.attestation)));
    return item;
}

}  // namespace stirgate::rest
