#pragma once
// What Calls create and Conference Participants create share (issue #14 item 2: one code path,
// not a copy): the leg's parameters (To, From, CallToken, StatusCallback*, Timeout, the dial
// options of api/call_options.hpp) and placing it: Twilio's caller-ID rule, the CallToken's
// checks (its own claims, then its parent call inside the insert), SHAKEN or DIV signing, and
// the call stored with its edge dial hand-off in one transaction.

#include "net/net.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/call_options.hpp"
#include "api/calls.hpp"
#include "core/accounts.hpp"
#include "core/call_address.hpp"
#include "core/form.hpp"
#include "core/tn.hpp"
#include "rest/twilio_request.hpp"
#include "store/store.hpp"

namespace stirgate::api {

struct leg_params {
    core::call_address to;    // a phone number, or a sip:/client: address (never signed)
    core::call_address from;  // a phone number, or a client: identifier for a sip:/client: To
    std::string status_callback;
    std::string status_callback_method = "POST";
    std::vector<std::string> status_callback_events;
    std::int64_t timeout_s = 60;
    std::optional<std::string> calltoken;
    dial_options options;  // passed to the edge as they are
};

// To, From, the dial options, StatusCallback, StatusCallbackMethod, StatusCallbackEvent,
// Timeout and CallToken, in Twilio's order of importance (the numbers first).
std::variant<leg_params, rest::param_error> parse_leg(const core::form_params& form,
                                                      const net::http_client_policy& url_policy);

// What the answered call runs: TwiML (Calls API: url or twiml) or a conference (Participants
// API: participant set, the dial form naming the conference).
struct leg_instructions {
    std::string url;
    std::string twiml;
    std::string method = "POST";
    std::string fallback_url;
    std::string fallback_method = "POST";
    std::optional<store::participant_info> participant;
    std::string conference_name;      // the dial form's Conference (participant legs)
    dial_options conference_options;  // participant options, after ConferenceSid
};

// A leg checked and signed, not yet stored: Twilio's caller-ID rule and the CallToken's own
// claims passed, the SHAKEN (or DIV) PASSporT signed into call.identity_headers, for a phone
// number To only: a sip:/client: leg is signed as Twilio signs it, not at all (no attestation). call.sid is
// set when it is stored; limits carry the checks against the token's parent call, which run
// inside the insert.
struct prepared_leg {
    store::call_record call;
    store::insert_limits limits;
};
// The prepared leg, or the Twilio error response (nothing signed or stored for a refusal).
std::variant<prepared_leg, net::http_response> prepare_leg(const calls_dependencies& deps,
                                                           net::request_context& ctx,
                                                           const core::account_config& account,
                                                           const leg_params& leg);

// Stores the prepared leg with what it runs and, in the same transaction, its edge dial
// hand-off. The stored call on success (the caller answers 201 with its own JSON); otherwise
// the Twilio error response (a refused parent call: 21210).
using placed_leg = std::variant<store::call_record, net::http_response>;
net::awaitable<placed_leg> store_leg(std::shared_ptr<const calls_dependencies> deps,
                                     net::request_context& ctx, prepared_leg leg,
                                     const leg_params& params, const leg_instructions& run);

}  // namespace stirgate::api
