#pragma once
// Twilio's OutgoingCallerIds, read-only from the config (issue #14 item 3): the verified caller
// IDs of an account ([[accounts]] verified_caller_ids, reloaded with SIGHUP) as Twilio lists them.
//   GET /2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds.json           list
//       (filters PhoneNumber, FriendlyName; PageSize 1..1000, Page with its PageToken)
//   GET /2010-04-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}.json     fetch
// A caller ID's sid is "PN" + the first 32 hex digits of SHA-256("account:number"), the same on
// every instance and after every restart. friendly_name is Twilio's default, the number
// formatted; date_created and date_updated are null (the config has no dates). Adding, renaming
// or removing one is done in the config: POST and DELETE answer 405.

#include <string>
#include <string_view>

#include "core/accounts.hpp"
#include "net/router.hpp"

namespace stirgate::rest {
class auth_guard;  // rest/auth_guard.hpp
}  // namespace stirgate::rest

namespace stirgate::api {

struct outgoing_caller_ids_dependencies {
    const core::account_directory& accounts;  // outlives the router
    rest::auth_guard* auth = nullptr;         // outlives the router; nullptr = no limits
};

// "PN" + 32 hex digits, derived from the account and the E.164 number.
std::string outgoing_caller_id_sid(std::string_view account_sid, std::string_view number);

void add_outgoing_caller_id_routes(net::router& routes,
                                   const outgoing_caller_ids_dependencies& deps);

}  // namespace stirgate::api
