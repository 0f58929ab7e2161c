#pragma once
// Twilio's JSON for the Conference and Participant resources (issue #14 item 2), members in
// Twilio's order as its helper libraries read them; pinned by golden strings in
// tests/unit/api/conference_json_test.cpp. Lists use render_list (api/call_json.hpp).

#include <string>
#include <string_view>

#include "store/store.hpp"

namespace stirgate::api {

// "/2010-04-01/Accounts/{account}/Conferences/{sid}.json"
std::string conference_uri(std::string_view account_sid, std::string_view conference_sid);
// "/2010-04-01/Accounts/{account}/Conferences/{conference}/Participants/{call}.json"
std::string participant_uri(std::string_view account_sid, std::string_view conference_sid,
                            std::string_view call_sid);

// {"account_sid","date_created","date_updated","api_version","friendly_name","region","sid",
//  "status","uri","subresource_uris":{"participants","recordings"},"reason_conference_ended",
//  "call_sid_ending_conference"}; region is "us1" (Twilio's default; this gateway has one).
std::string render_conference_json(const store::conference_record& conference);

// Twilio's participant status for a participant whose call is in `status`: queued, ringing,
// connected (answered), complete, failed (busy, no-answer, canceled or failed).
std::string_view participant_status(store::call_status status) noexcept;

// {"account_sid","call_sid","label","call_sid_to_coach","coaching","conference_sid",
//  "date_created","date_updated","end_conference_on_exit","muted","hold",
//  "start_conference_on_enter","status","queue_time","uri"}: the call must have a participant
// record. label null when empty; coaching false and call_sid_to_coach null (coaching is not
// supported); queue_time "0" (the edge dials at once, nothing is queued here).
std::string render_participant_json(const store::call_record& call);

}  // namespace stirgate::api
