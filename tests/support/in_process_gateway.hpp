#pragma once
// The gateway built inside the test process from a config and served on a thread of its own,
// for tests that set its clock or read its log directly (no `stirgate serve` process: see
// gateway_process.hpp for that).

#include "net/net.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "app/config.hpp"
#include "app/gateway.hpp"
#include "support/process.hpp"

namespace stirgate::test {

// [signing] with the vectors' orig-sp-1234 key and chain, x5u on certs.example.test.
app::signing_config vector_signing();
// An account with the vectors' origid and no numbers.
core::account_config vector_account(const std::string& sid, const std::string& token);

class in_process_gateway final {
public:
    // Builds the gateway (throws as app::gateway does), binds the config's listen address (port
    // 0 for an OS choice) and runs it on a new thread.
    in_process_gateway(app::config cfg, app::gateway_options options);
    // Stops the gateway (a drain) and joins its thread.
    ~in_process_gateway();
    in_process_gateway(const in_process_gateway&) = delete;
    in_process_gateway& operator=(const in_process_gateway&) = delete;

    std::uint16_t port() const noexcept { return port_; }

    // One request on a fresh connection with a 10 s timeout; REQUIREs a complete reply.
    // `source`: the client address to connect from (http_connection).
    http_reply exchange(const std::string& raw, const std::string& source = "");

private:
    std::unique_ptr<app::gateway> gw_;
    std::uint16_t port_ = 0;
    std::thread runner_;
};

}  // namespace stirgate::test
