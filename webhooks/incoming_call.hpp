#pragma once
// POST /webhooks/incoming-call (DESIGN.md "Inbound call" and "Edge interface";
// spec/TWILIO-API.md sections 4, 6, 7, 8). The SIP edge posts a Twilio voice-webhook form plus
// one Identity field per SIP Identity header, signed with X-Twilio-Signature and [edge]
// auth_token. The gateway checks that signature over the public URL the edge used, verifies the
// Identity values (STI-VS), mints or validates the CallToken, stores the inbound call and posts
// the enriched webhook to the number's voice_url (fallback: voice_fallback_url), signed with the
// account's auth token, relaying the application's TwiML back to the edge.
//
// Errors use Twilio's shape: 403 20003 bad/missing signature (also whenever no edge token is
// configured), 400 for a malformed form or an invalid upstream CallToken, 404 20404 when no
// account owns To, 502 when neither application URL answered (the call stays stored).

#include "net/net.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/accounts.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/sid.hpp"
#include "core/verifier.hpp"
#include "net/cidr.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "sti/call_verifier.hpp"
#include "store/store.hpp"

namespace stirgate::webhooks {

struct incoming_call_dependencies {
    // The account one of whose [[accounts.numbers]] is this E.164 number ("+14155550101"), or
    // nullptr. A function so that SIGHUP reloads are seen.
    std::function<core::account_ptr(std::string_view e164)> account_for_number;
    store::store& calls;                // outlives the router
    const sti::call_verifier& verifier; // outlives the router
    net::http_client& app_client;       // customer webhooks (15 s timeout); outlives the router
    std::string edge_auth_token;        // [edge] auth_token; "" = every request is refused
    std::string public_url;             // [server] public_url; "" = rebuild from headers
    std::vector<net::cidr_block> trusted_proxies;  // [server] trusted_proxies
    core::es256_private_key calltoken_key;         // [calltoken]; empty = no CallToken minted
    // Keys accepted for a CallToken an upstream platform already attached.
    std::vector<core::es256_public_key> calltoken_trusted_keys;
    core::clock_fn now;  // seconds since the epoch
    core::random_fn random = core::openssl_random_bytes;  // CallSid when the edge sent none
};

// Registers POST /webhooks/incoming-call (Twilio error style). The dependencies are copied into
// the handler; the references in them must outlive the router.
void add_incoming_call_routes(net::router& routes, const incoming_call_dependencies& deps);

// An RFC 1123 / IMF-fixdate SIP Date ("Thu, 01 Jan 2026 00:00:00 GMT", RFC 3261 section
// 20.17) as seconds since the epoch; errc::invalid_parameter when malformed.
[[nodiscard]] result<std::int64_t> parse_sip_date(std::string_view text);

}  // namespace stirgate::webhooks
