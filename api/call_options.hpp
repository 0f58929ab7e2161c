#pragma once
// Twilio's Calls API create parameters beyond who, what and the callbacks (spec/TWILIO-API.md
// section 3.1; issue #14 item 5): none is dropped silently. Each is either checked and passed to
// the edge in the dial form, as the edge's to honour (recording, answering-machine detection,
// digits, time limit, SIP credentials), or refused with 400 naming it (what this gateway cannot
// do: applications, BYOC trunks).
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
// For sip: and client: To addresses only (20001 naming the parameter for a phone-number To,
// whose caller ID is From and signed): CallerId (a client:/sip: address or 1..255 of
// A-Z a-z 0-9 + - _ .); for sip: only, SipAuthUsername and SipAuthPassword, both or neither,
// each 1..255 printable characters without '"' or '\'. The password goes only into the dial
// form (stored in the outbox until delivered), never into a log line or an error message.
// Refused (20001, or 21218 for ApplicationSid): ApplicationSid, Byoc.

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "rest/twilio_request.hpp"
#include "core/call_address.hpp"
#include "core/form.hpp"
#include "net/http_client.hpp"

namespace stirgate::api {

using dial_options = std::vector<std::pair<std::string, std::string>>;

// The options in the form, checked, as they go into the dial form (booleans lower-case,
// methods upper-case, events one field each), or the first refusal. `to` is the kind of the
// call's To, which decides whether CallerId and SipAuth* apply.
std::variant<dial_options, rest::param_error> parse_dial_options(const core::form_params& form,
                                                                 const net::http_client_policy& urls,
                                                                 core::address_kind to);

// Conference Participants create (issue #14 item 2): what the participant is (kept on its call
// and shown in the Participant JSON) and how it joins (passed to the edge in the dial form).
//   Label                   at most 128 printable characters; Twilio's fetch/update/delete by
//                           label
//   Muted, StartConferenceOnEnter (default true), EndConferenceOnExit   true | false
// Passed to the edge: Beep true | false | onEnter | onExit, EarlyMedia true | false, WaitUrl
// (customer-URL policy), WaitMethod, MaxParticipants 2..250, ConferenceRecord true | false |
// record-from-start | do-not-record, ConferenceTrim trim-silence | do-not-trim,
// JitterBufferSize off | small | medium | large, AmdStatusCallback, AmdStatusCallbackMethod.
// Refused (20001, naming it): ConferenceStatusCallback*, ConferenceRecordingStatusCallback*
// (the conference's own callbacks are not delivered by this gateway), Coaching, CallSidToCoach,
// Region, ClientNotificationUrl.
struct conference_options {
    std::string label;
    bool muted = false;
    bool start_conference_on_enter = true;
    bool end_conference_on_exit = false;
    dial_options dial;
};
std::variant<conference_options, rest::param_error> parse_conference_options(
    const core::form_params& form, const net::http_client_policy& urls);

}  // namespace stirgate::api
