#pragma once
// What an application does to a call after creating or receiving it (spec/TWILIO-API.md
// section 3.2; issue #14 item 1), registered by add_calls_routes beside create, fetch and list:
//   POST   /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  update (200 + Call JSON)
//   DELETE /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  delete (204, empty body)
//
// Update takes one of:
//   Status=completed  ends a live call: an answered (in-progress) call becomes completed with
//                     its duration, a queued or ringing one canceled (nothing was answered).
//   Status=canceled   ends a queued or ringing call; an answered call is 400 21220.
//   Url [+ Method] or Twiml  redirects a live call to new TwiML; FallbackUrl, FallbackMethod,
//                     StatusCallback and StatusCallbackMethod change with it (Twilio takes a
//                     new StatusCallback only together with new instructions).
// The change is stored and, in the same transaction, handed to the edge as one signed form
// POST to [edge] control_url (outbox kind edge_control: CallSid, AccountSid, Action=hangup with
// CallStatus, or Action=redirect with Url and Method or Twiml), plus the StatusCallback the end
// of the call owes the application. A call that has ended is 400 21220; an unknown call (or
// another account's) 404 20404. Delete removes an ended call's record; a live one is 400 21220.

#include <cstdint>
#include <memory>
#include <string>

#include "api/calls.hpp"
#include "net/router.hpp"

namespace stirgate::api {

// An outbox item for the edge about `call` (a dial, a hang-up, a redirect): a form POST to
// `target_url` opening with CallSid and AccountSid, due now.
store::outbox_item edge_item(store::outbox_kind kind, const std::string& target_url,
                             const store::call_record& call, std::int64_t now);

net::awaitable<net::http_response> update_call(std::shared_ptr<const calls_dependencies> deps,
                                               net::request_context& ctx);
net::awaitable<net::http_response> delete_call(std::shared_ptr<const calls_dependencies> deps,
                                               net::request_context& ctx);

}  // namespace stirgate::api
