#pragma once
// stirgate's one outbound HTTP(S) client: x5u certificate fetches (STIR-SHAKEN.md section 8.1),
// later customer webhooks and the SIP edge's dial URL. Consumers take `http_client&` (the
// interface), so tests can hand them a recording double; `beast_http_client` is the real one.
//
// What the real client guarantees, in order (each refusal is errc::upstream_refused):
//   1. the URL parses strictly (net/url.hpp), its scheme, port and host are allowed by policy;
//   2. the host resolves through a pin (curl --resolve style, taken as-is) or DNS; without a pin
//      every resolved address (or the IP literal) must be public (net/address_policy.hpp) unless
//      allow_private_addresses, and only the checked addresses are connected to (no re-resolve);
//   3. TLS: SNI for names, verify_peer against ca_file or the system roots, and the certificate
//      must match the host (name or IP) checked inside the chain verification;
//   4. one request, `Connection: close`, one response whose body is capped while it is read;
//   5. the whole exchange (resolve to last byte) ends by `timeout`, however slowly bytes drip.
// Redirects are never followed: a 3xx comes back as a reply for the caller to refuse or handle.

#include "core/error.hpp"
#include "net/net.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stirgate::net {

using header_list = std::vector<std::pair<std::string, std::string>>;

// curl --resolve style: requests to host:port connect to `address` (an IP literal) without DNS
// and without the address policy (the operator chose it). TLS still checks `host`.
struct resolve_pin {
    std::string host;
    std::uint16_t port = 0;
    std::string address;
    std::uint16_t connect_port = 0;  // not 0: connect there instead (curl --connect-to)
};

struct http_client_policy {
    std::vector<std::string> allowed_schemes{"https"};
    std::vector<std::uint16_t> allowed_ports;  // empty = any
    std::vector<std::string> allowed_hosts;    // empty = any; exact, case-insensitive
    std::vector<resolve_pin> pins;
    bool allow_private_addresses = false;
    std::string ca_file;                      // PEM bundle; empty = system roots
    std::chrono::milliseconds timeout{2000};  // resolve + connect + TLS + write + read
    std::size_t max_body_bytes = 16384;
    std::size_t max_header_bytes = 16384;
    std::string user_agent = "stirgate";
};

struct http_request_spec {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string url;
    header_list headers;  // Host, Content-Length, Transfer-Encoding, Connection are set here
    std::string body;
};

struct http_reply {
    unsigned status = 0;
    header_list headers;  // in arrival order
    std::string body;

    // First header named `name` (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const;
};

class http_client {
public:
    virtual ~http_client() = default;

    // Performs one request. Any HTTP status, 3xx included, is a reply. Errors:
    //   upstream_refused      URL malformed or refused by policy (scheme, port, host, address)
    //   upstream_unreachable  DNS failure, connection refused or unreachable
    //   upstream_tls          handshake or certificate verification failed
    //   upstream_timeout      the policy's timeout passed before the response was complete
    //   upstream_bad_response malformed response, headers or body over the caps, early close
    // The detail names the URL and the low-level reason, for logs only.
    virtual boost::asio::awaitable<result<http_reply>> request(http_request_spec spec) = 0;

protected:
    http_client() = default;
    http_client(const http_client&) = default;
    http_client& operator=(const http_client&) = default;
};

// The real client: one connection per request on the awaiting coroutine's executor.
// Immutable after construction, so one instance may serve coroutines on several threads; it must
// outlive every request it runs (build it in main, as STYLE.md section 3 asks).
class beast_http_client final : public http_client {
public:
    // Throws std::runtime_error (startup failure) when ca_file cannot be loaded or a pin's
    // address is not an IP literal.
    explicit beast_http_client(http_client_policy policy);
    ~beast_http_client() override;
    beast_http_client(const beast_http_client&) = delete;
    beast_http_client& operator=(const beast_http_client&) = delete;

    boost::asio::awaitable<result<http_reply>> request(http_request_spec spec) override;

    const http_client_policy& policy() const noexcept { return policy_; }

private:
    http_client_policy policy_;
    boost::asio::ssl::context tls_;
};

}  // namespace stirgate::net
