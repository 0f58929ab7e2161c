#pragma once
// stirgate's one outbound HTTP(S) client: x5u certificate fetches (STIR-SHAKEN.md section 8.1),
// later customer webhooks and the SIP edge's dial URL. Consumers take `http_client&` (the
// interface), so tests can hand them a recording double; `beast_http_client` is the real one.
//
// What the real client guarantees, in order (each refusal is errc::upstream_refused):
//   1. the URL parses strictly (net/url.hpp), its scheme, port and host are allowed by policy;
//   2. the host resolves through a pin (curl --resolve style, taken as-is) or DNS; without a pin
//      every resolved address (or the IP literal) must be public (net/address_policy.hpp) unless
//      allow_private_addresses (cloud metadata addresses stay refused unless listed in
//      allowed_addresses), and only the checked addresses are connected to (no re-resolve);
//   3. TLS: SNI for names, verify_peer against ca_file or the system roots, and the certificate
//      must match the host (name or IP) checked inside the chain verification;
//   4. one request, `Connection: close`, one response whose body is capped while it is read;
//   5. the whole exchange (resolve to last byte) ends by `timeout`, however slowly bytes drip.
// Redirects are never followed: a 3xx comes back as a reply for the caller to refuse or handle.
//
// With `keep_alive` (customer webhooks, DESIGN.md "Outbound webhooks use HTTPS ... keep-alive"),
// step 4 changes: a connection whose response was complete, framed and not `Connection: close`
// goes back to an idle pool keyed by client, scheme, host and port, at most max_idle_per_host
// per key, for at most idle_timeout; a later request to the same key reuses it (no resolve, no
// handshake). Steps 1-3 still run for every new connection, so the address policy and the TLS
// checks cover every socket the client opens. An idle connection the server closed is noticed
// before reuse (anything readable on an idle connection means it is finished) and dropped. If a
// reused connection still fails while the request is being written, the request is retried once
// on a new connection: a server cannot act on a request it never received whole. A failure after
// the request went out whole is not retried for a POST (the application may have acted on it; Go's
// net/http draws the same line), only for GET/HEAD with no response byte seen. The pool lives per
// execution context (an Asio service), so idle sockets never outlive the io_context they run on.

#include "core/error.hpp"
#include "net/cidr.hpp"
#include "net/net.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
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
    // Reachable whatever their class, cloud metadata included ([network] allowed_addresses).
    std::vector<cidr_block> allowed_addresses;
    std::string ca_file;                      // PEM bundle; empty = system roots
    std::chrono::milliseconds timeout{2000};  // resolve + connect + TLS + write + read
    std::size_t max_body_bytes = 16384;
    std::size_t max_header_bytes = 16384;
    std::string user_agent = "stirgate";
    // Connection reuse (see the file comment). Off: one connection per request, Connection: close.
    bool keep_alive = false;
    std::size_t max_idle_per_host = 4;  // idle connections kept per scheme+host+port (and context)
    // How long an idle connection is kept. Below the 5 s keep-alive timeout of Node.js and
    // Apache httpd, so the pool rarely offers a connection the server is about to close.
    std::chrono::milliseconds idle_timeout{4000};
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

// What can be checked of a URL before any request (when a customer hands it over): it parses
// strictly, its scheme, port and host are allowed, and, unless a pin covers it, a host that is
// an IP literal or a localhost name (RFC 6761: always loopback) passes the address rules. A
// name is checked when it is resolved, at every request. errc::url_invalid, the detail saying
// why ("address 10.0.0.1 is private_use").
result<void> check_destination(std::string_view url_text, const http_client_policy& policy);

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

// The real client: connections on the awaiting coroutine's executor, one per request unless the
// policy keeps them alive. Immutable after construction apart from the idle pool (which is
// locked), so one instance may serve coroutines on several threads; it must outlive every
// request it runs (build it in main, as STYLE.md section 3 asks).
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

    // Connections opened (TCP connects that succeeded) and requests served on a reused one.
    struct counters {
        std::uint64_t opened = 0;
        std::uint64_t reused = 0;
        std::uint64_t retried = 0;  // requests repeated on a new connection after a stale one
    };
    counters stats() const noexcept;

private:
    http_client_policy policy_;
    boost::asio::ssl::context tls_;
    std::uint64_t id_;  // distinguishes this client's idle connections in a context's pool
    struct atomic_counters;
    std::unique_ptr<atomic_counters> counters_;
};

// Whether a request that failed on a reused keep-alive connection may be sent again on a new
// one (see the file comment). `written_whole`: the request left completely; `response_started`:
// any byte of a response arrived.
bool may_retry_on_new_connection(boost::beast::http::verb method, bool written_whole,
                                 bool response_started) noexcept;

}  // namespace stirgate::net
