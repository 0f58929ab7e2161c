#pragma once
// Twilio's Conference and Conference Participant resources (issue #14 item 2), registered by
// add_calls_routes with the Calls API's dependencies:
//   GET    .../Conferences.json                                    list (FriendlyName, Status)
//   GET    .../Conferences/{ConferenceSid}.json                     fetch
//   POST   .../Conferences/{ConferenceSid}/Participants.json        add a participant (201)
//   GET    .../Conferences/{ConferenceSid}/Participants.json        list the live participants
//   GET    .../Conferences/{ConferenceSid}/Participants/{CallSid}.json  fetch (CallSid or Label)
//   POST   .../Conferences/{ConferenceSid}/Participants/{CallSid}.json  update (Muted, Hold, ...)
//   DELETE .../Conferences/{ConferenceSid}/Participants/{CallSid}.json  kick (204)
//
// A conference comes into being by FriendlyName: adding a participant to a {ConferenceSid}
// that is not a CF sid opens the account's live conference of that name or a new one (status
// init), as Twilio's <Dial><Conference> does; the edge's conference-status webhook moves it to
// in-progress and completed (webhooks/conference_status.hpp). Adding a participant is the Calls
// API's create (api/call_create.hpp: the same CallToken checks, caller-ID rule and SHAKEN or
// DIV signing) with the conference named in the edge's dial form. A participant is listed and
// fetched while its call is live and in the conference (Twilio shows no historical
// participants); participants of a completed conference are gone.

#include "net/net.hpp"

#include <memory>
#include <string>
#include <variant>

#include "api/calls.hpp"
#include "net/router.hpp"
#include "store/store.hpp"

namespace stirgate::api {

void add_conference_routes(net::router& routes, std::shared_ptr<const calls_dependencies> deps);

// The account's conference a path's {ConferenceSid} names: a CF sid of the account (20404
// otherwise), or, when `open_by_name`, a FriendlyName (percent-decoded, 1..128 printable
// characters) opened with store::open_conference. Otherwise the Twilio error response.
using conference_lookup = std::variant<store::conference_record, net::http_response>;
net::awaitable<conference_lookup> resolve_conference(std::shared_ptr<const calls_dependencies> deps,
                                                     net::request_context& ctx,
                                                     const std::string& account_sid,
                                                     bool open_by_name);

}  // namespace stirgate::api
