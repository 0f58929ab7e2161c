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

class cert_repository;

// Puts every certificate chain of pki/x5u_map.json under https://certs.example.test/ into `repo`.
void serve_vector_certificates(cert_repository& repo);

// A gateway config verifying against the vectors' PKI (root anchor, both CRLs), fetching x5u
// from certs.example.test pinned to 127.0.0.1:repo_port over TLS rooted in fetch_ca_file, and
// signing with vector_signing(); HTTP on 127.0.0.1 port 0, two threads, an in-memory store.
app::config vector_gateway_config(const std::string& source, const std::string& fetch_ca_file,
                                  std::uint16_t repo_port);

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
    // The SIP face's UDP and TCP port; 0 without [sip] listen.
    std::uint16_t sip_port() const { return gw_->sip_port(); }

    // One request on a fresh connection with a 10 s timeout; REQUIREs a complete reply.
    // `source`: the client address to connect from (http_connection).
    http_reply exchange(const std::string& raw, const std::string& source = "");

private:
    std::unique_ptr<app::gateway> gw_;
    std::uint16_t port_ = 0;
    std::thread runner_;
};

}  // namespace stirgate::test
