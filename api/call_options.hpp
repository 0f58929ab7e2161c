#pragma once
// Twilio's Calls API create parameters beyond who, what and the callbacks (spec/TWILIO-API.md
// section 3.1; issue #14 item 5): none is dropped silently. Each is either checked and passed to
// the edge in the dial form, as the edge's to honour (recording, answering-machine detection,
// digits, time limit), or refused with 400 naming it (what this gateway cannot do: applications,
// SIP and client destinations, BYOC trunks).
//
// Passed through, checked as Twilio documents them:
//   SendDigits        0-9 * # w W, at most 32 characters
//   Record, AsyncAmd  true or false
//   RecordingChannels mono | dual;  RecordingTrack inbound | outbound | both
//   RecordingStatusCallback, AsyncAmdStatusCallback  URLs under the customer-URL policy
//   RecordingStatusCallbackMethod, AsyncAmdStatusCallbackMethod  GET | POST
//   RecordingStatusCallbackEvent  in-progress completed absent (repeated or space-separated)
//   Trim              trim-silence | do-not-trim
//   MachineDetection  Enable | DetectMessageEnd
//   MachineDetectionTimeout 3..59 s, MachineDetectionSpeechThreshold 1000..6000 ms,
//   MachineDetectionSpeechEndThreshold 500..5000 ms, MachineDetectionSilenceTimeout
//   2000..10000 ms, TimeLimit 1..86400 s, CallReason at most 255 characters
// Refused (20001, or 21218 for ApplicationSid): ApplicationSid, CallerId, SipAuthUsername,
// SipAuthPassword, Byoc.

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "rest/twilio_request.hpp"
#include "core/form.hpp"
#include "net/http_client.hpp"

namespace stirgate::api {

using dial_options = std::vector<std::pair<std::string, std::string>>;

// The options in the form, checked, as they go into the dial form (booleans lower-case,
// methods upper-case, events one field each), or the first refusal.
std::variant<dial_options, rest::param_error> parse_dial_options(const core::form_params& form,
                                                           const net::http_client_policy& urls);

}  // namespace stirgate::api
