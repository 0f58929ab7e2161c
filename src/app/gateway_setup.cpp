#include "app/gateway_setup.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "net/url.hpp"
#include "sti/signer.hpp"

namespace stirgate::app {
namespace {

namespace fs = std::filesystem;

// --- key material -----------------------------------------------------------------------
// The loader only records paths; what cannot be read stops startup with one line rather than
// failing the first call that needs it (STYLE.md section 2: fail fast).

[[noreturn]] void key_error(const config& cfg, std::string_view key, const fs::path& path,
                            std::string_view problem)
{
    throw std::runtime_error(cfg.source.string() + ": " + std::string(key) + ": " + path.string() +
                             ": " + std::string(problem));
}

std::string read_whole(const config& cfg, std::string_view key, const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) key_error(cfg, key, path, "cannot read file");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

core::es256_private_key load_private_key(const config& cfg, std::string_view key,
                                         const fs::path& path)
{
    auto k = core::es256_private_key::from_pem(read_whole(cfg, key, path));
    if (!k) key_error(cfg, key, path, "not a P-256 private key (" + k.err().detail + ")");
    return *k;
}

core::es256_public_key load_public_key(const config& cfg, std::string_view key,
                                       const fs::path& path)
{
    auto k = core::es256_public_key::from_pem(read_whole(cfg, key, path));
    if (!k)
        key_error(cfg, key, path, "not a P-256 public key or certificate (" + k.err().detail + ")");
    return *k;
}

}  // namespace

key_material load_key_material(const config& cfg)
{
    key_material k;
    if (cfg.signing) {
        k.signing_key = load_private_key(cfg, "signing.key_file", cfg.signing->key_file);
        if (!cfg.signing->chain_file.empty()) {
            k.signing_chain = read_whole(cfg, "signing.chain_file", cfg.signing->chain_file);
            auto leaf = core::es256_public_key::from_pem(k.signing_chain);
            if (!leaf)
                key_error(cfg, "signing.chain_file", cfg.signing->chain_file,
                          "holds no P-256 certificate");
            if (leaf->to_pem() != k.signing_key.public_key().to_pem())
                key_error(cfg, "signing.chain_file", cfg.signing->chain_file,
                          "first certificate does not belong to signing.key_file");
        }
    }
    if (cfg.calltoken) {
        k.calltoken_key = load_private_key(cfg, "calltoken.key_file", cfg.calltoken->key_file);
        k.calltoken_trusted.push_back(k.calltoken_key.public_key());
        for (const auto& p : cfg.calltoken->trusted_keys)
            k.calltoken_trusted.push_back(load_public_key(cfg, "calltoken.trusted_keys", p));
    }
    return k;
}

sti::trust_store load_trust(const config& cfg)
{
    if (cfg.verify.trust_anchors.empty()) return {};  // nothing trusted: every chain is 437
    std::vector<std::string> crls;
    for (const auto& p : cfg.verify.crl_files) crls.push_back(p.string());
    try {
        return sti::trust_store::load(cfg.verify.trust_anchors.string(), crls);
    } catch (const std::exception& e) {
        throw std::runtime_error(cfg.source.string() +
                                 ": verify.trust_anchors/crl_files: " + e.what());
    }
}

net::http_client_policy x5u_fetch_policy(const config& cfg)
{
    net::http_client_policy p;
    p.allowed_schemes = {"https"};  // RFC 8224 section 7 / ATIS-1000074: HTTPS only
    p.allowed_ports = cfg.verify.x5u_allowed_ports;
    p.allowed_hosts = cfg.verify.x5u_allowed_hosts;
    for (const auto& pin : cfg.verify.x5u_resolve)
        p.pins.push_back({pin.host, pin.port, pin.address, pin.connect_port});
    p.allow_private_addresses = cfg.network.allow_private_x5u;
    p.allowed_addresses = cfg.network.allowed_addresses;
    p.ca_file = cfg.verify.fetch_ca_file.string();
    p.timeout = cfg.verify.fetch_timeout;
    p.max_body_bytes = cfg.verify.max_cert_bytes;
    return p;
}

core::verify_policy verify_policy_from(const config& cfg)
{
    core::verify_policy p;
    p.iat_window_s = cfg.verify.iat_window.count();
    p.future_skew_s = cfg.verify.future_skew.count();
    return p;
}

std::unique_ptr<store::store> open_calls_store(const config& cfg)
{
    store::open_options options;
    options.migrate = cfg.storage.migrate;
    try {
        options.password = storage_password(cfg.storage);
    } catch (const std::exception& e) {
        throw std::runtime_error(cfg.source.string() + ": " + e.what());
    }
    try {
        return store::open_store(cfg.storage.url, options);
    } catch (const std::exception& e) {
        throw std::runtime_error(cfg.source.string() + ": storage.url: " + e.what());
    }
}

// The SIP edge is the operator's own equipment, usually plain HTTP on a private network
// (DESIGN.md's example dial_url is http://127.0.0.1:5070/dial), so its client may reach private
// addresses; it is only ever aimed at the configured dial_url and control_url.
net::http_client_policy edge_policy(const config& cfg)
{
    net::http_client_policy p;
    p.allowed_schemes = {"http", "https"};
    p.allow_private_addresses = true;
    // ...so it may reach nothing but the edge's own hosts.
    for (const std::string* url : {&cfg.edge.dial_url, &cfg.edge.control_url}) {
        auto u = net::parse_url(*url);
        if (!u) continue;
        p.allowed_hosts.push_back(u->host);
        // An edge the operator addressed by a metadata-range literal is still the edge.
        if (auto block = net::parse_cidr(u->host); block && u->kind != net::host_kind::name)
            p.allowed_addresses.push_back(*block);
    }
    if (p.allowed_hosts.empty()) p.allowed_hosts = {"edge.dial_url.is.not.set.invalid"};
    p.ca_file = cfg.network.webhook_ca_file.string();
    p.timeout = std::chrono::seconds(5);
    p.max_body_bytes = 64 * 1024;
    return p;
}

// Customer URLs (incoming-call webhooks, status callbacks): http or https as on Twilio, with the
// SSRF guard unless the operator allowed private addresses.
net::http_client_policy webhook_policy(const config& cfg)
{
    net::http_client_policy p;
    p.allowed_schemes = {"http", "https"};
    p.allow_private_addresses = cfg.network.allow_private_webhooks;
    p.allowed_addresses = cfg.network.allowed_addresses;
    p.ca_file = cfg.network.webhook_ca_file.string();
    p.timeout = cfg.webhooks.app_timeout;  // [webhooks] app_timeout_ms; 15 s as Twilio's
    p.max_body_bytes = 64 * 1024;
    // Kept-alive connections per app host: one TLS handshake serves many calls.
    p.keep_alive = true;
    p.max_idle_per_host = cfg.webhooks.max_idle_per_host;
    p.idle_timeout = cfg.webhooks.idle_timeout;
    return p;
}

// The outbox's name in the store's claims: host and listen port tell the gateways sharing a
// store apart and stay the same across a restart, which then takes back its claims at once.
// Port 0 (tests) is no identity: the worker picks a random name.
std::string outbox_worker_name(const config& cfg)
{
    if (cfg.server.listen.port == 0) return {};
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) return {};
    return std::string(host) + ":" + std::to_string(cfg.server.listen.port);
}

webhooks::outbox_options outbox_options_from(const config& cfg)
{
    webhooks::outbox_options o;
    o.edge_auth_token = cfg.edge.auth_token;
    o.worker_name = outbox_worker_name(cfg);
    o.backoff.base = cfg.webhooks.retry_base;
    o.backoff.cap = cfg.webhooks.retry_cap;
    o.max_attempts = cfg.webhooks.max_delivery_attempts;
    o.max_age_status_callback = cfg.webhooks.max_delivery_age;
    o.max_age_edge_dial = cfg.edge.dial_max_age;
    o.lease = cfg.webhooks.outbox_lease;
    return o;
}

// The numbers' voice_url, voice_fallback_url and status_callback are customer URLs too: held to
// the webhook policy when the config is read (start, SIGHUP), not first at a call.
std::vector<core::account_config> checked_accounts(const config& cfg,
                                                   std::vector<core::account_config> accounts)
{
    const net::http_client_policy policy = webhook_policy(cfg);
    for (std::size_t i = 0; i < accounts.size(); ++i) {
        for (std::size_t j = 0; j < accounts[i].numbers.size(); ++j) {
            const auto& n = accounts[i].numbers[j];
            for (const auto& [key, url] : {std::pair{"voice_url", &n.voice_url},
                                           std::pair{"voice_fallback_url", &n.voice_fallback_url},
                                           std::pair{"status_callback", &n.status_callback}}) {
                if (url->empty()) continue;
                if (auto ok = net::check_destination(*url, policy); !ok)
                    throw std::runtime_error(
                        cfg.source.string() + ": accounts[" + std::to_string(i) + "].numbers[" +
                        std::to_string(j) + "]." + key + ": not allowed: " + ok.err().detail +
                        " (see [network] allow_private_webhooks, allowed_addresses)");
            }
        }
    }
    return accounts;
}

webhooks::outbox_dependencies outbox_dependencies_for(const core::account_directory& accounts,
                                                      obs::logger& log, gateway_metrics& metrics)
{
    webhooks::outbox_dependencies d;
    d.on_attempt = [&metrics](store::outbox_kind kind, bool delivered) {
        metrics.on_delivery(kind, delivered);
    };
    d.account_auth_token = [&accounts](std::string_view sid) -> std::optional<std::string> {
        const auto account = accounts.find(sid);
        if (!account) return std::nullopt;
        return account->auth_token;
    };
    d.log = &log;
    return d;
}

rest::auth_limits auth_limits_from(const config& cfg)
{
    rest::auth_limits l;
    l.failures_per_address = cfg.security.auth_failures_per_address;
    l.failures_per_account = cfg.security.auth_failures_per_account;
    l.window = cfg.security.auth_failure_window;
    return l;
}

rest::auth_guard_hooks auth_hooks_for(obs::logger& log, gateway_metrics& metrics)
{
    rest::auth_guard_hooks h;
    h.on_block = [&log](const rest::auth_block_event& e) {
        log.warn("authentication failures: blocking",
                 {{"scope", rest::to_string(e.scope)},
                  {"client", e.client},
                  {"account_sid", e.account_sid},
                  {"retry_after_s", static_cast<std::int64_t>(e.retry_after.count())}});
    };
    h.on_refused = [&metrics](rest::auth_block_scope scope) { metrics.on_auth_throttled(scope); };
    return h;
}

std::vector<sip::peer> sip_peers(const config& cfg)
{
    std::vector<sip::peer> out;
    for (const auto& p : cfg.sip.peers) out.push_back({p.cidr, p.account, p.passthrough});
    return out;
}

sip::listener_options sip_options_from(const config& cfg)
{
    sip::listener_options o;
    o.host = cfg.sip.listen->host;
    o.port = cfg.sip.listen->port;
    o.max_message_bytes = cfg.sip.max_message_bytes;
    o.rate_per_source = cfg.sip.rate_per_source;
    o.max_tcp_connections = cfg.sip.max_tcp_connections;
    o.tcp_idle_timeout = cfg.sip.tcp_idle_timeout;
    o.tcp_read_timeout = cfg.sip.tcp_read_timeout;
    return o;
}

net::server_options server_options_from(const config& cfg)
{
    net::server_options o;
    o.host = cfg.server.listen.host;
    o.port = cfg.server.listen.port;
    o.threads = cfg.server.threads;
    o.lim.max_header_bytes = cfg.server.max_header_bytes;
    o.lim.max_body_bytes = cfg.server.max_body_bytes;
    o.lim.read_timeout = cfg.server.read_timeout;
    o.lim.idle_timeout = cfg.server.idle_timeout;
    o.lim.write_timeout = cfg.server.write_timeout;
    o.drain_timeout = cfg.server.drain_timeout;
    o.drain_delay = cfg.server.drain_delay;
    o.caps.max_connections = cfg.server.max_connections;
    o.caps.max_connections_per_address = cfg.server.max_connections_per_address;
    o.trusted_proxies = cfg.server.trusted_proxies;
    return o;
}

}  // namespace stirgate::app
