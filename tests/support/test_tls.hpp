#pragma once
// Test support for the outbound client: a throw-away PKI generated at run time with OpenSSL's
// API (no key material in the repository), a scripted HTTP/HTTPS server on 127.0.0.1 port 0,
// and a helper that runs one coroutine to completion on a local io_context.

#include "net/net.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stirgate::test {

// A certificate and its private key, both PEM.
struct tls_identity {
    std::string cert_pem;
    std::string key_pem;
};

// A self-signed P-256 CA that issues server certificates.
class test_ca {
public:
    explicit test_ca(std::string_view common_name);

    const std::string& cert_pem() const { return cert_pem_; }

    // A server certificate (serverAuth) for `dns_name`, with SANs DNS:dns_name and
    // IP:127.0.0.1, valid from an hour ago for a day.
    tls_identity issue_server(std::string_view dns_name) const;

private:
    std::shared_ptr<EVP_PKEY> key_;
    std::shared_ptr<X509> cert_;
    std::string cert_pem_;
};

// A file under the temp directory, removed on destruction (for ca_file paths).
class temp_file {
public:
    explicit temp_file(std::string_view contents);
    ~temp_file();
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

enum class server_behaviour {
    respond,            // read the request, answer with status/headers/body
    drip,               // send a header promising a body, then one byte per drip_interval
    huge_body,          // send huge_body_bytes of body (Content-Length or chunked)
    black_hole,         // accept TCP, read and discard, never answer (no TLS handshake either)
    close_immediately,  // accept TCP and close it at once
};

struct server_script {
    server_behaviour behaviour = server_behaviour::respond;
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds drip_interval{50};
    std::size_t huge_body_bytes = 5 * 1024 * 1024;
    bool chunked = false;      // huge_body: chunked instead of Content-Length
    bool close_notify = true;  // TLS: send close_notify after the response
};

// Listens on 127.0.0.1:0 and serves every connection with the script. Plain HTTP when `tls` is
// empty. Its coroutines share ownership of the server's state, so destroying the io_context
// with connections still pending is safe.
class test_server {
public:
    test_server(boost::asio::io_context& io, server_script script,
                std::optional<tls_identity> tls = std::nullopt);
    ~test_server();
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const;
    std::size_t connections() const;   // TCP connections accepted
    std::string last_request() const;  // method, target and headers of the last request read

    struct state;

private:
    std::shared_ptr<state> state_;
};

// Runs `work` to completion on `io` (servers spawned on it keep running alongside), stops `io`
// as soon as it is done, and returns its value; rethrows an escaped exception.
template <class T>
T run_until_done(boost::asio::io_context& io, boost::asio::awaitable<T> work)
{
    std::optional<T> out;
    std::exception_ptr escaped;
    auto done = [&](std::exception_ptr e, T value) {
        escaped = e;
        out = std::move(value);
        io.stop();
    };
    boost::asio::co_spawn(io, std::move(work), done);
    io.restart();
    io.run();
    if (escaped) std::rethrow_exception(escaped);
    return std::move(*out);
}

// Largest single heap allocation made while a watch is alive, when the build can observe it
// (AddressSanitizer's malloc hooks); nullopt otherwise.
class allocation_watch {
public:
    allocation_watch();
    ~allocation_watch();
    allocation_watch(const allocation_watch&) = delete;
    allocation_watch& operator=(const allocation_watch&) = delete;
    std::optional<std::size_t> largest() const;
};

}  // namespace stirgate::test
