#include "app/gateway.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "app/config.hpp"
#include "app/log.hpp"
#include "net/router.hpp"
#include "net/server.hpp"

namespace stirgate::app {
namespace {

namespace http = boost::beast::http;
namespace fs = std::filesystem;

// --- startup checks of key material ------------------------------------------------------
// The loader only records paths; a key that cannot be read must stop startup with one line
// rather than fail the first call that needs it (STYLE.md section 2: fail fast).

enum class pem_kind { private_key, public_key_or_cert, certificates, crl };

struct bio_free {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};

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

void check_pem(const config& cfg, std::string_view key, const fs::path& path, pem_kind kind)
{
    const std::string pem = read_whole(cfg, key, path);
    const std::unique_ptr<BIO, bio_free> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    bool ok = false;
    const char* expected = "";
    switch (kind) {
        case pem_kind::private_key: {
            expected = "not a PEM private key";
            EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
            ok = k != nullptr;
            EVP_PKEY_free(k);
            break;
        }
        case pem_kind::public_key_or_cert: {
            expected = "not a PEM public key or certificate";
            EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
            if (k) {
                ok = true;
                EVP_PKEY_free(k);
            } else {
                BIO_reset(bio.get());
                X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
                ok = c != nullptr;
                X509_free(c);
            }
            break;
        }
        case pem_kind::certificates: {
            expected = "holds no PEM certificate";
            X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
            ok = c != nullptr;
            X509_free(c);
            break;
        }
        case pem_kind::crl: {
            expected = "not a CRL (PEM or DER)";
            X509_CRL* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
            if (!c) {
                const auto* p = reinterpret_cast<const unsigned char*>(pem.data());
                c = d2i_X509_CRL(nullptr, &p, static_cast<long>(pem.size()));
            }
            ok = c != nullptr;
            X509_CRL_free(c);
            break;
        }
    }
    ERR_clear_error();
    if (!ok) key_error(cfg, key, path, expected);
}

void check_key_material(const config& cfg)
{
    if (cfg.signing) {
        check_pem(cfg, "signing.key_file", cfg.signing->key_file, pem_kind::private_key);
        if (!cfg.signing->chain_file.empty())
            check_pem(cfg, "signing.chain_file", cfg.signing->chain_file, pem_kind::certificates);
    }
    if (cfg.calltoken) {
        check_pem(cfg, "calltoken.key_file", cfg.calltoken->key_file, pem_kind::private_key);
        for (const auto& p : cfg.calltoken->trusted_keys)
            check_pem(cfg, "calltoken.trusted_keys", p, pem_kind::public_key_or_cert);
    }
    if (!cfg.verify.trust_anchors.empty())
        check_pem(cfg, "verify.trust_anchors", cfg.verify.trust_anchors, pem_kind::certificates);
    for (const auto& p : cfg.verify.crl_files) check_pem(cfg, "verify.crl_files", p, pem_kind::crl);
    if (!cfg.verify.fetch_ca_file.empty())
        check_pem(cfg, "verify.fetch_ca_file", cfg.verify.fetch_ca_file, pem_kind::certificates);
    if (!cfg.network.webhook_ca_file.empty())
        check_pem(cfg, "network.webhook_ca_file", cfg.network.webhook_ca_file,
                  pem_kind::certificates);
}

// --- routes --------------------------------------------------------------------------------

net::awaitable<net::http_response> healthz(net::request_context& ctx)
{
    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"status":"ok"})";
    co_return res;
}

void add_routes(net::router& routes)
{
    // Unmatched paths under an API's prefix still get that API's error shape.
    routes.set_error_style("/2010-04-01/", net::error_style::twilio);
    routes.set_error_style("/stir/", net::error_style::atis);
    routes.add(http::verb::get, "/healthz", net::error_style::plain, healthz);
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
    return o;
}

}  // namespace

int serve_command(const serve_options& options)
{
    // A closed stdout pipe must not kill the gateway mid-drain; sockets already use
    // MSG_NOSIGNAL, this covers the log stream.
    std::signal(SIGPIPE, SIG_IGN);

    config cfg;
    try {
        cfg = load_config(options.config_path, process_environment());
        if (options.listen) apply_listen_override(cfg, *options.listen);
        check_key_material(cfg);
    } catch (const std::exception& e) {
        std::cerr << "stirgate: " << e.what() << '\n';
        return 2;
    }

    logger log(std::cout);
    net::router routes;
    add_routes(routes);
    net::server server(server_options_from(cfg), routes, log);
    try {
        server.listen();
    } catch (const std::exception& e) {
        std::cerr << "stirgate: " << e.what() << '\n';
        return 1;
    }
    return server.run();
}

}  // namespace stirgate::app
