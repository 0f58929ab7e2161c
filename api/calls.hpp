#pragma once
// Twilio's Calls API (spec/TWILIO-API.md sections 1-3 and 7; DESIGN.md "Forwarded and outbound
// calls"), so Twilio's helper libraries work against stirgate with only the base URL changed:
//   POST /2010-04-01/Accounts/{AccountSid}/Calls.json            create (201 + Call JSON)
//   GET  /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json  fetch
//   GET  /2010-04-01/Accounts/{AccountSid}/Calls.json            list (filters, paging)
//
// Every route takes HTTP Basic AccountSid:AuthToken (401 code 20003 "Authenticate" with
// WWW-Authenticate otherwise). A path AccountSid other than the authenticated account is
// refused with 403 code 20003 "Permission denied": stirgate has no subaccounts, so no
// credentials may act for another account, and the answer does not depend on whether that
// account exists.
//
// Create: To is a phone number (E.164 or national NANP), a sip: address or a client:
// identifier (core/call_address.hpp; 21211 otherwise); From a phone number, or a client:
// identifier when To is no phone number (21212 otherwise). Only a call to a phone number is
// signed (SHAKEN, or DIV with a CallToken), as on Twilio: a sip:/client: leg carries no
// PASSporT and no attestation, its To goes to the edge as given. One of Url / Twiml is
// required (ApplicationSid is not supported). With CallToken the call is a forwarded leg: the
// token is validated (core::validate_calltoken), whatever the To, and refused with Twilio's
// error shape before anything is signed or stored. The call and its hand-off to the edge (outbox item edge_dial to [edge] dial_url) are
// stored in one transaction and 201 is sent only after the store confirmed it. Without a
// dial_url the call is stored with no hand-off (nothing would dial it; useful for API-only
// deployments and tests).

#include "net/net.hpp"

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/accounts.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/sid.hpp"
#include "net/router.hpp"
#include "rest/twilio_request.hpp"
#include "sti/signer.hpp"
#include "store/store.hpp"

namespace stirgate::rest {
class auth_guard;  // rest/auth_guard.hpp
}  // namespace stirgate::rest

namespace stirgate::api {


struct calls_dependencies {
    const core::account_directory& accounts;  // outlives the router
    store::store& calls;                // outlives the router
    // STI-AS identity ([signing]); creating a call to a phone number answers 503 when the
    // key is empty.
    sti::signing_identity signing;
    // [calltoken]: keys any of which may have signed a parentCallInfoToken we accept.
    std::vector<core::es256_public_key> calltoken_trusted_keys;
    std::int64_t calltoken_max_age_s = 3600;
    std::string edge_dial_url;          // [edge] dial_url; "" = no hand-off
    core::clock_fn now;  // seconds since the epoch
    core::random_fn random = core::openssl_random_bytes;
    // Called after a call and its edge hand-off were stored (wakes the outbox worker so the
    // edge is dialled now rather than at its next poll). Optional; must be thread-safe.
    std::function<void()> on_queued;
    // Url, FallbackUrl and StatusCallback must pass this when given: the customer-webhook
    // client's policy ([network] allow_private_webhooks, allowed_addresses).
    net::http_client_policy customer_urls = rest::default_customer_url_policy();
    // [calltoken] max_forwards_per_call: calls one known parent may be forwarded into, so a
    // leaked token cannot be replayed into hundreds of attested legs (0 = no limit).
    std::size_t max_forwards_per_call = 10;
    // Failed-authentication limits (rest/auth_guard.hpp); outlives the router. nullptr = none
    // (handler tests).
    rest::auth_guard* auth = nullptr;
    // [edge] control_url: where call updates (hang up, redirect) go; "" = stored only.
    std::string edge_control_url = {};
};

// Registers the three routes (Twilio error style); the gateway's route table gives the
// /2010-04-01/ prefix its error style. The dependencies are copied into the handlers; the
// references in them must outlive the router.
void add_calls_routes(net::router& routes, const calls_dependencies& deps);

}  // namespace stirgate::api
