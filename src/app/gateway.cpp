#include "app/gateway.hpp"

#include <chrono>
#include <csignal>
#include <functional>
#include <future>
#include <thread>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include "core/accounts.hpp"
#include "api/atis_api.hpp"
#include "rest/auth_guard.hpp"
#include "api/calls.hpp"
#include "api/outgoing_caller_ids.hpp"
#include "app/config.hpp"
#include "app/gateway_metrics.hpp"
#include "obs/log.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "net/server.hpp"
#include "net/url.hpp"
#include "sip/listener.hpp"
#include "sti/call_verifier.hpp"
#include "sti/cert_cache.hpp"
#include "sti/signer.hpp"
#include "sti/trust_store.hpp"
#include "store/store.hpp"
#include "webhooks/call_status.hpp"
#include "webhooks/incoming_call.hpp"
#include "webhooks/outbox.hpp"

namespace stirgate::app {
namespace {

namespace http = boost::beast::http;
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
    if (!k) key_error(cfg, key, path, "not a P-256 public key or certificate (" + k.err().detail + ")");
    return *k;
}

// Signing and CallToken keys, loaded once and shared read-only by every thread.
struct key_material {
    core::es256_private_key signing_key;
    std::string signing_chain;  // PEM served at GET /certs/sti.pem
    core::es256_private_key calltoken_key;
    std::vector<core::es256_public_key> calltoken_trusted;
};

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
        throw std::runtime_error(cfg.source.string() + ": verify.trust_anchors/crl_files: " +
                                 e.what());
    }
}

net::http_client_policy x5u_fetch_policy(const config& cfg)
{
    net::http_client_policy p;
    p.allowed_schemes = {"https"};  // RFC 8224 section 7 / ATIS-1000074: HTTPS only
    p.allowed_ports = cfg.verify.x5u_allowed_ports;
    p.allowed_hosts = cfg.verify.x5u_allowed_hosts;
    for (const auto& pin : cfg.verify.x5u_resolve) p.pins.push_back({pin.host, pin.port, pin.address, pin.connect_port});
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

// Customer URLs (incoming-call webhooks, status callbacks): http or https as on Twilio, with the SSRF guard unless the
// operator allowed private addresses.
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

std::int64_t system_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// --- routes --------------------------------------------------------------------------------

net::awaitable<net::http_response> healthz(net::request_context& ctx)
{
    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"status":"ok"})";
    co_return res;
}

// GET /certs/sti.pem: the gateway's own chain, so a development setup is self-contained
// (DESIGN.md "Certificates"). 404 when no chain_file is configured.
net::awaitable<net::http_response> serve_chain(std::shared_ptr<const std::string> chain,
                                               net::request_context& ctx)
{
    if (chain->empty()) co_return ctx.fail(error{errc::not_found, "no signing.chain_file"});
    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/pem-certificate-chain");
    res.set(http::field::cache_control, "max-age=3600");
    res.body() = *chain;
    co_return res;
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

}  // namespace

namespace {

// Ready while the gateway takes new work: not while draining (the load balancer should send
// new requests elsewhere) and not while the store fails (a 201 could not be kept). The
// references are members of the gateway, which outlives its router.
net::awaitable<net::http_response> readyz(const std::optional<net::server>& server,
                                          const store::store& calls, net::request_context& ctx)
{
    if (server && server->draining())
        co_return ctx.fail(error{errc::service_unavailable, "draining"});
    if (!calls.healthy()) co_return ctx.fail(error{errc::store_unavailable, "store failing"});
    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"status":"ready"})";
    co_return res;
}

}  // namespace

struct gateway::impl {
    // Declaration order is construction order: each object only refers to those above it.
    config cfg;
    core::clock_fn now;
    bool abandon_stuck_deliveries;  // gateway_options::abandon_stuck_deliveries
    obs::logger log;
    gateway_metrics metrics;  // before everything that reports to it
    key_material keys;
    sti::trust_store trust;
    net::beast_http_client x5u_client;
    sti::cert_cache certificates;
    sti::call_verifier verifier;
    core::account_directory accounts;
    rest::auth_guard auth;  // failed-authentication limits of the Calls and ATIS APIs
    // Background work that is not request handling (the outbox) runs on its own thread, so a
    // slow edge never takes time from the I/O threads. Declared before the store: the store's
    // writer thread may still hold a callback into the outbox's strand on this context, so the
    // store (and its thread) must go first (ASan saw a use-after-free at exit under load).
    boost::asio::io_context background;
    std::unique_ptr<store::store> calls;
    net::beast_http_client edge_client;
    net::beast_http_client webhook_client;
    webhooks::outbox_worker outbox;
    // Wakes the outbox when another gateway sharing the store queued items (PostgreSQL);
    // released before the worker goes.
    std::shared_ptr<void> outbox_watch;
    net::router routes;
    // SIGHUP is caught from construction on, not only once run() started: a reload signal
    // sent right after "listening" would otherwise take the default action and kill us.
    boost::asio::io_context signals_io;
    boost::asio::signal_set hup{signals_io, SIGHUP};
    std::optional<net::server> server;
    // The SIP face ([sip] listen), on the server's first I/O thread. After the server: it goes
    // first, while the io_contexts its sockets belong to still exist.
    std::optional<sip::listener> sip_face;
    bool abandoned = false;  // run() returned with deliveries in flight

    impl(config c, gateway_options o)
        : cfg(std::move(c)),
          now(o.now ? std::move(o.now) : core::clock_fn(system_now)),
          abandon_stuck_deliveries(o.abandon_stuck_deliveries),
          log(o.log_out ? *o.log_out : std::cout),
          keys(load_key_material(cfg)),
          trust(load_trust(cfg)),
          x5u_client(x5u_fetch_policy(cfg)),
          certificates(x5u_client, trust, now, sti::cert_cache_policy{}),
          verifier(certificates, verify_policy_from(cfg), now,
                   [this](const core::verification_outcome& v) { metrics.on_verification(v); }),
          accounts(checked_accounts(cfg, cfg.accounts)),
          auth(auth_limits_from(cfg), cfg.server.trusted_proxies, now,
               auth_hooks_for(log, metrics)),
          calls(open_calls_store(cfg)),
          edge_client(edge_policy(cfg)),
          webhook_client(webhook_policy(cfg)),
          outbox(background.get_executor(), *calls, edge_client, webhook_client,
                 outbox_options_from(cfg), outbox_dependencies_for(accounts, log, metrics))
    {
        outbox_watch = calls->watch_outbox([this] { outbox.notify(); });
        // The route table: every prefix and path the gateway answers, in one place. Unmatched
        // paths under an API's prefix still get that API's error shape.
        routes.set_error_style("/2010-04-01/", net::error_style::twilio);
        routes.set_error_style("/stir/", net::error_style::atis);
        routes.add(http::verb::get, "/healthz", net::error_style::plain, healthz);
        routes.add(http::verb::get, "/readyz", net::error_style::plain,
                   [this](net::request_context& ctx) { return readyz(server, *calls, ctx); });
        auto chain = std::make_shared<const std::string>(keys.signing_chain);
        routes.add(http::verb::get, "/certs/sti.pem", net::error_style::plain,
                   [chain](net::request_context& ctx) { return serve_chain(chain, ctx); });
        const auto on_signed = [this](core::passport_type ppt) { metrics.on_signed(ppt); };
        api::add_atis_routes(routes, api::atis_dependencies{
                                         accounts, verifier, now, keys.signing_key,
                                         cfg.signing ? cfg.signing->x5u : std::string(),
                                         on_signed, &auth});
        api::add_calls_routes(
            routes, api::calls_dependencies{
                        accounts, *calls,
                        sti::signing_identity{keys.signing_key,
                                              cfg.signing ? cfg.signing->x5u : std::string(),
                                              on_signed},
                        keys.calltoken_trusted,
                        cfg.calltoken ? cfg.calltoken->max_age.count() : 3600, cfg.edge.dial_url,
                        now, core::openssl_random_bytes, [this] { outbox.notify(); },
                        webhook_policy(cfg),
                        cfg.calltoken ? cfg.calltoken->max_forwards_per_call : 10, &auth,
                        cfg.edge.control_url});
        api::add_outgoing_caller_id_routes(
            routes, api::outgoing_caller_ids_dependencies{accounts, &auth});
        webhooks::add_incoming_call_routes(
            routes, webhooks::incoming_call_dependencies{
                        [this](std::string_view e164) { return accounts.find_by_number(e164); },
                        *calls, verifier, webhook_client,
                        cfg.edge.auth_token, cfg.server.public_url, cfg.server.trusted_proxies,
                        keys.calltoken_key, keys.calltoken_trusted, now});
        webhooks::add_call_status_routes(
            routes, webhooks::call_status_dependencies{
                        *calls, cfg.edge.auth_token, cfg.server.public_url,
                        cfg.server.trusted_proxies, now, [this] { outbox.notify(); }});
        metrics.add_route(routes, *calls, now);
        metrics.watch_store(*calls);
        metrics.watch_cert_cache(certificates);
        metrics.watch_connections([this] { return server ? server->open_connections() : 0; });
        metrics.watch_refused_connections([this] {
            return server ? server->refused_connections() : net::server::refused_counts{};
        });
        metrics.watch_log(log);
        auto server_opts = server_options_from(cfg);
        server_opts.observer = &metrics;
        server_opts.on_stop = [this] {
            if (sip_face) sip_face->stop();
        };
        server.emplace(std::move(server_opts), routes, log);
        if (cfg.sip.listen) build_sip_face(on_signed);
    }

    void build_sip_face(const std::function<void(core::passport_type)>& on_signed)
    {
        // The SIP face signs with [signing] like the Calls API, writing ppt=shaken bare as
        // DESIGN.md "SIP face" shows it.
        sti::signing_identity signer{keys.signing_key,
                                     cfg.signing ? cfg.signing->x5u : std::string(), on_signed,
                                     core::identity_format_options{.quote_ppt = false}};
        sip::service_dependencies deps{accounts,
                                       sip_peers(cfg),
                                       verifier,
                                       std::move(signer),
                                       now,
                                       sip::message_limits{cfg.sip.max_message_bytes,
                                                           cfg.sip.max_headers},
                                       log,
                                       [this](std::string_view method, int status) {
                                           metrics.on_sip_message(method, status);
                                       }};
        auto service = std::make_shared<const sip::redirect_service>(std::move(deps));
        auto options = sip_options_from(cfg);
        options.on_dropped = [this](std::string_view reason) { metrics.on_sip_dropped(reason); };
        sip_face.emplace(server->executor(), std::move(options), std::move(service), log);
    }

    // Re-reads the config file and swaps in its accounts and numbers; requests in flight keep
    // the account they authenticated with. A config that does not load changes nothing.
    void reload()
    {
        if (cfg.source.empty()) return;  // built in code (tests): nothing to re-read
        try {
            config next = load_config(cfg.source, process_environment());
            const std::size_t count = next.accounts.size();
            accounts.replace(checked_accounts(cfg, std::move(next.accounts)));
            log.info("reloaded", {{"accounts", count}});
        } catch (const std::exception& e) {
            log.error("reload failed; keeping the running configuration", {{"error", e.what()}});
        }
    }
};

gateway::gateway(config cfg, gateway_options options)
    : impl_(std::make_unique<impl>(std::move(cfg), std::move(options)))
{
}

gateway::~gateway() = default;

void gateway::reload()
{
    impl_->reload();
}

void gateway::listen()
{
    impl_->server->listen();
    if (impl_->sip_face) impl_->sip_face->listen();
}
std::uint16_t gateway::sip_port() const
{
    return impl_->sip_face ? impl_->sip_face->port() : 0;
}
boost::asio::ip::tcp::endpoint gateway::local_endpoint() const
{
    return impl_->server->local_endpoint();
}
int gateway::run()
{
    // SIGHUP reloads on a thread of its own, so a slow config read never holds an I/O thread.
    auto& hup = impl_->hup;
    std::function<void(const boost::system::error_code&, int)> on_hup;
    on_hup = [this, &hup, &on_hup](const boost::system::error_code& ec, int) {
        if (ec) return;
        reload();
        hup.async_wait(on_hup);
    };
    hup.async_wait(on_hup);
    auto& signals_io = impl_->signals_io;
    std::thread signal_thread([&signals_io] { signals_io.run(); });
    // The outbox first delivers what a previous process left due, then what new calls queue.
    impl_->outbox.start();
    auto background_work = boost::asio::make_work_guard(impl_->background);
    // Shared, not on this frame: an abandoned background thread (below) outlives run().
    auto background_ended = std::make_shared<std::promise<void>>();
    auto background_done = background_ended->get_future();
    std::thread background_thread([this, background_ended] {
        impl_->background.run();
        background_ended->set_value();
    });
    if (impl_->sip_face) impl_->sip_face->start();
    const int code = impl_->server->run();
    // Drained: no new calls can be queued. Let deliveries in flight finish (bounded by the
    // outbox's stop_timeout), then stop.
    std::promise<void> outbox_ended;
    auto outbox_done = outbox_ended.get_future();
    impl_->outbox.stop([&background_work, &outbox_ended] {
        background_work.reset();
        outbox_ended.set_value();
    });
    outbox_done.wait();
    // A delivery still in flight now would hold the exit until its own HTTP timeout (up to
    // webhooks.app_timeout_ms). Its item is still due in the store, so `serve` abandons it.
    constexpr auto settle = std::chrono::milliseconds(500);
    const std::size_t in_flight = impl_->outbox.stats().in_flight;
    if (impl_->abandon_stuck_deliveries && in_flight > 0 &&
        background_done.wait_for(settle) == std::future_status::timeout) {
        impl_->abandoned = true;
        impl_->log.warn("exiting with outbound deliveries in flight; they stay queued and are "
                        "delivered after the restart",
                        {{"in_flight", in_flight}});
        impl_->log.flush();
        background_thread.detach();
        signal_thread.detach();
        return code;
    }
    background_thread.join();
    signals_io.stop();
    signal_thread.join();
    return code;
}
bool gateway::abandoned_deliveries() const noexcept { return impl_->abandoned; }
void gateway::stop() { impl_->server->stop(); }
const net::router& gateway::routes() const { return impl_->routes; }

int serve_command(const serve_options& options)
{
    // A closed stdout pipe must not kill the gateway mid-drain; sockets already use
    // MSG_NOSIGNAL, this covers the log stream.
    std::signal(SIGPIPE, SIG_IGN);

    std::unique_ptr<gateway> gw;
    try {
        config cfg = load_config(options.config_path, process_environment());
        if (options.listen) apply_listen_override(cfg, *options.listen);
        gateway_options gw_options;
        gw_options.abandon_stuck_deliveries = true;
        gw = std::make_unique<gateway>(std::move(cfg), std::move(gw_options));
    } catch (const std::exception& e) {
        std::cerr << "stirgate: " << e.what() << '\n';
        return 2;
    }
    try {
        gw->listen();
    } catch (const std::exception& e) {
        std::cerr << "stirgate: " << e.what() << '\n';
        return 1;
    }
    const int code = gw->run();
    if (gw->abandoned_deliveries()) {
        // The background thread still runs on the gateway's objects: end the process without
        // destructors. Every committed write is already on disk (SQLite WAL, as after a crash).
        std::cout.flush();
        std::_Exit(code);
    }
    return code;
}

}  // namespace stirgate::app
