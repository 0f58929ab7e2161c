#pragma once
// What gateway::impl builds from the config before it serves (app/gateway.cpp): the keys, the
// trust store, the outbound HTTP policies, the store, the outbox, the failed-login limits, the
// SIP face's and the server's options. Each fails start-up with one line naming the key.

#include <memory>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/gateway_metrics.hpp"
#include "core/accounts.hpp"
#include "core/crypto.hpp"
#include "core/verifier.hpp"
#include "net/http_client.hpp"
#include "net/server.hpp"
#include "obs/log.hpp"
#include "rest/auth_guard.hpp"
#include "sip/listener.hpp"
#include "sti/trust_store.hpp"
#include "store/store.hpp"
#include "webhooks/outbox.hpp"

namespace stirgate::app {

// Signing and CallToken keys, loaded once and shared read-only by every thread.
struct key_material {
    core::es256_private_key signing_key;
    std::string signing_chain;  // PEM served at GET /certs/sti.pem
    core::es256_private_key calltoken_key;
    std::vector<core::es256_public_key> calltoken_trusted;
};

key_material load_key_material(const config& cfg);

sti::trust_store load_trust(const config& cfg);

net::http_client_policy x5u_fetch_policy(const config& cfg);

core::verify_policy verify_policy_from(const config& cfg);

std::unique_ptr<store::store> open_calls_store(const config& cfg);

// The SIP edge is the operator's own equipment, usually plain HTTP on a private network
// (DESIGN.md's example dial_url is http://127.0.0.1:5070/dial), so its client may reach private
// addresses; it is only ever aimed at the configured dial_url and control_url.
net::http_client_policy edge_policy(const config& cfg);

// Customer URLs (incoming-call webhooks, status callbacks): http or https as on Twilio, with the
// SSRF guard unless the operator allowed private addresses.
net::http_client_policy webhook_policy(const config& cfg);

// The outbox's name in the store's claims: host and listen port tell the gateways sharing a
// store apart and stay the same across a restart, which then takes back its claims at once.
// Port 0 (tests) is no identity: the worker picks a random name.
std::string outbox_worker_name(const config& cfg);

webhooks::outbox_options outbox_options_from(const config& cfg);

// The numbers' voice_url, voice_fallback_url and status_callback are customer URLs too: held to
// the webhook policy when the config is read (start, SIGHUP), not first at a call.
std::vector<core::account_config> checked_accounts(const config& cfg,
                                                   std::vector<core::account_config> accounts);

webhooks::outbox_dependencies outbox_dependencies_for(const core::account_directory& accounts,
                                                      obs::logger& log, gateway_metrics& metrics);

rest::auth_limits auth_limits_from(const config& cfg);

rest::auth_guard_hooks auth_hooks_for(obs::logger& log, gateway_metrics& metrics);

std::vector<sip::peer> sip_peers(const config& cfg);

sip::listener_options sip_options_from(const config& cfg);

net::server_options server_options_from(const config& cfg);

}  // namespace stirgate::app
