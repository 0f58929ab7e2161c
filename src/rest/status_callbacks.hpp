#pragma once
// The application's StatusCallback for a change of a call's status (spec/TWILIO-API.md section
// 5), built once for both places a call's status changes: the edge's report
// (webhooks/call_status) and the Calls API's update (Status=completed or canceled).

#include <cstdint>
#include <optional>
#include <string>

#include "store/store.hpp"

namespace stirgate::rest {

// What one status change reports (an edge report, or the Calls API ending a call).
struct status_report {
    std::string call_sid;
    std::string call_status;  // Twilio spelling as received ("initiated", "no-answer", ...)
    std::optional<std::int64_t> call_duration;  // seconds
    std::optional<std::string> sip_response_code;
};

// The StatusCallback owed for `report` on `call` (the call as stored after the update; its
// status before was `previous`), or none when the call has no StatusCallback, did not subscribe
// to the event, or was canceled while still queued (TWILIO-API.md section 5).
// idempotency_key = CallSid:CallStatus, so a duplicate carries the same
// I-Twilio-Idempotency-Token and is not enqueued twice.
std::optional<store::outbox_item> status_callback_item(const store::call_record& call,
                                                       store::call_status previous,
                                                       const status_report& report,
                                                       std::int64_t now);

}  // namespace stirgate::rest
