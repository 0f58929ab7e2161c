#include "support/in_process_gateway.hpp"

#include <chrono>
#include <utility>

#include <catch2/catch.hpp>

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
