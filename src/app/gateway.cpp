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
#include "app/gateway_setup.hpp"
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
#include "webhooks/conference_status.hpp"
#include "webhooks/incoming_call.hpp"
#include "webhooks/outbox.hpp"

namespace stirgate::app {
namespace {

namespace http = boost::beast::http;
namespace fs = std::filesystem;

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
        const webhooks::call_status_dependencies edge_reports{
            *calls, cfg.edge.auth_token, cfg.server.public_url, cfg.server.trusted_proxies, now,
            [this] { outbox.notify(); }};
        webhooks::add_call_status_routes(routes, edge_reports);
        webhooks::add_conference_status_routes(routes, edge_reports);
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
