#pragma once
// ATIS-1000082 endpoints: POST /stir/v1/verification (STI-VS, STIR-SHAKEN.md section 12.3) and
// POST /stir/v1/signing (STI-AS, section 12.2).
// Requests are authenticated like the Twilio routes (Basic AccountSid:AuthToken); errors use ATIS
// requestError bodies.

#include "net/net.hpp"

#include <functional>
#include <string>

#include "core/accounts.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/passport.hpp"
#include "core/verifier.hpp"
#include "net/router.hpp"
#include "sti/call_verifier.hpp"

namespace stirgate::rest {
class auth_guard;  // rest/auth_guard.hpp
}  // namespace stirgate::rest

namespace stirgate::api {


struct atis_dependencies {
    const core::account_directory& accounts;  // outlives the router
    const sti::call_verifier& verifier;  // outlives the router
    core::clock_fn now;
    // STI-AS identity ([signing]); signing answers 503 when key is empty.
    core::es256_private_key signing_key;
    std::string signing_x5u;
    // Told of every PASSporT signed (stirgate_signatures_total); optional, thread-safe.
    std::function<void(core::passport_type)> on_signed = {};
    // Failed-authentication limits (rest/auth_guard.hpp); outlives the router. nullptr = none.
    rest::auth_guard* auth = nullptr;
};

// Registers the ATIS routes. The dependencies are copied into the handlers; the references in
// them must outlive the router.
void add_atis_routes(net::router& routes, const atis_dependencies& deps);

// Content negotiation shared by JSON APIs: the request must be application/json (415 otherwise)
// and an Accept header, when present, must admit JSON (406 otherwise).
[[nodiscard]] result<void> check_json_exchange(const net::http_request& req);

}  // namespace stirgate::api
