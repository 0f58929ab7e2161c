#pragma once
// POST /webhooks/conference-status (issue #14 item 2; DESIGN.md "Edge interface" extended): the
// SIP edge reports what happens in a conference, as Twilio's conference StatusCallback names
// it, signed like every edge request (X-Twilio-Signature with [edge] auth_token):
//   StatusCallbackEvent  conference-start | conference-end | participant-join |
//                        participant-leave | participant-mute | participant-unmute |
//                        participant-hold | participant-unhold (participant-modify,
//                        participant-speech-start/-stop, announcement-end/-fail are
//                        acknowledged and change nothing)
//   ConferenceSid        the gateway's CF sid, or, for a conference the edge started from TwiML
//                        (<Dial><Conference>), AccountSid + FriendlyName: it is opened by name
//   CallSid              the participant's call (participant-* events), of the same account
//   ReasonConferenceEnded, CallSidEndingConference   with conference-end
//   Label, Muted, Hold, StartConferenceOnEnter, EndConferenceOnExit   optional, participant-join
// A conference's status only moves forward (init, in-progress, completed); a participant joins
// (the call's participant record is set), leaves (cleared), is muted or held.
//
// Answers (Twilio error shape): 403 20003 bad signature; 400 20001 a malformed field; 404 20404
// an unknown conference or call; 200 {"conference_sid":"CF..."} once stored, so the edge learns
// the sid of a conference it started by name. A report about a call that has ended, or that
// would move the conference backwards, is a 200 that changes nothing.

#include "net/router.hpp"
#include "webhooks/call_status.hpp"

namespace stirgate::webhooks {

// Registers POST /webhooks/conference-status with the call-status webhook's dependencies.
void add_conference_status_routes(net::router& routes, const call_status_dependencies& deps);

}  // namespace stirgate::webhooks
