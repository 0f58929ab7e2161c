#pragma once
// POST /webhooks/call-status (DESIGN.md "Edge interface" and "Twilio API details";
// spec/TWILIO-API.md section 5). The SIP edge reports call progress as a form (CallSid,
// CallStatus in Twilio's spelling, optional CallDuration and SipResponseCode) signed with
// X-Twilio-Signature and [edge] auth_token over the public URL it used. The gateway updates the
// call and, in the same transaction, enqueues the application's StatusCallback when the call
// subscribed to that event; the outbox worker signs and delivers it.
//
// Answers (Twilio error shape): 403 20003 bad/missing signature, or no edge token configured;
// 400 20001 malformed form or field; 404 20404 unknown CallSid; 200 {} once stored. A report
// that would move the call backwards (anything after a terminal status, ringing after
// in-progress, a retry of a status already stored) is a 200 that changes nothing, so the edge
// stops retrying it.

#include "net/net.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "net/cidr.hpp"
#include "net/router.hpp"
#include "rest/status_callbacks.hpp"
#include "store/store.hpp"

namespace stirgate::webhooks {

struct call_status_dependencies {
    store::store& calls;             // outlives the router
    std::string edge_auth_token;     // [edge] auth_token; "" = every request is refused
    std::string public_url;          // [server] public_url; "" = rebuild from headers
    std::vector<net::cidr_block> trusted_proxies;  // [server] trusted_proxies
    core::clock_fn now;                            // seconds since the epoch
    // Called after a status callback was enqueued (wakes the outbox worker). Optional; must be
    // thread-safe.
    std::function<void()> on_queued;
};

// Registers POST /webhooks/call-status (Twilio error style). The dependencies are copied into
// the handler; the references in them must outlive the router.
void add_call_status_routes(net::router& routes, const call_status_dependencies& deps);

// The StatusCallback builder is shared with the Calls API (rest/status_callbacks.hpp).
using rest::status_callback_item;
using rest::status_report;

}  // namespace stirgate::webhooks
