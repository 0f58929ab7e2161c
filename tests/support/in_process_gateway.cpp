#include "support/in_process_gateway.hpp"

#include <chrono>
#include <utility>

#include <catch2/catch.hpp>

#include "support/cert_repository.hpp"
#include "support/vectors.hpp"

namespace stirgate::test {

app::signing_config vector_signing()
{
    app::signing_config signing;
    signing.key_file = vector_path("pki/orig-sp-1234.key.pem");
    signing.x5u = "https://certs.example.test/sti/orig-sp-1234.pem";
    signing.chain_file = vector_path("pki/orig-sp-1234.chain.pem");
    return signing;
}

core::account_config vector_account(const std::string& sid, const std::string& token)
{
    core::account_config account;
    account.sid = sid;
    account.auth_token = token;
    account.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
    return account;
}

void serve_vector_certificates(cert_repository& repo)
{
    constexpr std::string_view host = "https://certs.example.test";
    const auto map = load_vector_json("pki/x5u_map.json");
    for (const auto& m : map.GetObject()) {
        const std::string url = m.name.GetString();
        if (url.rfind(std::string(host) + "/", 0) != 0) continue;
        repo.put(url.substr(host.size()), read_vector(m.value.GetString()));
    }
}

app::config vector_gateway_config(const std::string& source, const std::string& fetch_ca_file,
                                  std::uint16_t repo_port)
{
    app::config cfg;
    cfg.source = source;
    cfg.server.listen = {"127.0.0.1", 0};
    cfg.server.threads = 2;
    cfg.storage.url = "sqlite://:memory:";
    cfg.verify.trust_anchors = vector_path("pki/root-ca.cert.pem");
    cfg.verify.crl_files = {vector_path("pki/intermediate-ca.crl.pem"),
                            vector_path("pki/root-ca.crl.pem")};
    cfg.verify.fetch_ca_file = fetch_ca_file;
    cfg.verify.fetch_timeout = std::chrono::milliseconds(1000);
    cfg.verify.x5u_resolve = {{"certs.example.test", 443, "127.0.0.1", repo_port}};
    cfg.signing = vector_signing();
    return cfg;
}

in_process_gateway::in_process_gateway(app::config cfg, app::gateway_options options)
    : gw_(std::make_unique<app::gateway>(std::move(cfg), std::move(options)))
{
    gw_->listen();
    port_ = gw_->local_endpoint().port();
    runner_ = std::thread([this] { gw_->run(); });
}

in_process_gateway::~in_process_gateway()
{
    gw_->stop();
    runner_.join();
}

http_reply in_process_gateway::exchange(const std::string& raw, const std::string& source)
{
    http_connection c(port_, std::chrono::seconds(10), source);
    REQUIRE(c.send(raw));
    auto reply = c.read_reply();
    REQUIRE(reply.has_value());
    return *reply;
}

}  // namespace stirgate::test
