#pragma once
// The Conference Participant handlers (routes and rules: api/conferences.hpp).

#include "net/net.hpp"

#include <memory>

#include "api/calls.hpp"
#include "net/router.hpp"

namespace stirgate::api {

using participant_deps = std::shared_ptr<const calls_dependencies>;

net::awaitable<net::http_response> create_participant(participant_deps deps,
                                                      net::request_context& ctx);
net::awaitable<net::http_response> list_participants(participant_deps deps,
                                                     net::request_context& ctx);
net::awaitable<net::http_response> fetch_participant(participant_deps deps,
                                                     net::request_context& ctx);
// Muted, Hold (+ HoldUrl, HoldMethod), AnnounceUrl (+ AnnounceMethod), BeepOnExit and
// EndConferenceOnExit: stored, and handed to the edge as one signed POST to [edge] control_url
// (Action=participant), in one transaction. Coaching, CallSidToCoach, WaitUrl, WaitMethod: 20001.
net::awaitable<net::http_response> update_participant(participant_deps deps,
                                                      net::request_context& ctx);
// Removes the participant (its call's record stays) and hands the edge Action=kick: 204.
net::awaitable<net::http_response> delete_participant(participant_deps deps,
                                                      net::request_context& ctx);

}  // namespace stirgate::api
