#pragma once
// The gateway's configuration: one aggregate with a default for every key of DESIGN.md
// "Configuration (TOML)", loaded once from a TOML file plus environment overrides and validated
// into typed values. Only the loader reads files or the environment; everything else gets a
// `const config&`. Key files are not read here: the config holds their (absolute) paths and the
// gateway loads them at startup.
//
// Environment overrides (applied after the file, before --listen):
//   STIRGATE_LISTEN      [server] listen       (HOST:PORT)
//   STIRGATE_THREADS     [server] threads
//   STIRGATE_PUBLIC_URL  [server] public_url
//   STIRGATE_STORAGE_URL [storage] url

#include "core/accounts.hpp"
#include "net/cidr.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stirgate::app {

// A host and a TCP port as given by `listen` / --listen. Host is an IP literal (IPv6 without
// brackets) or a name; port 0 asks the OS for a free port (tests).
struct listen_address {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
};

// "HOST:PORT" or "[V6]:PORT"; nullopt when malformed.
std::optional<listen_address> parse_listen_address(std::string_view text);

// One curl --resolve style pin: x5u fetches for host:port connect to address (and to
// connect_port instead of port when it is not 0).
struct resolve_pin {
    std::string host;
    std::uint16_t port = 0;
    std::string address;
    std::uint16_t connect_port = 0;
};

struct server_config {
    listen_address listen;
    std::string public_url;  // "" = rebuild from Host / trusted proxy headers
    std::vector<net::cidr_block> trusted_proxies;
    unsigned threads = 0;                  // 0 = std::thread::hardware_concurrency()
    std::size_t max_header_bytes = 8192;   // larger header block: 431 (414 for the request line)
    std::uint64_t max_body_bytes = 65536;  // larger body: 413
    std::chrono::milliseconds read_timeout{10000};   // to receive one request
    std::chrono::milliseconds idle_timeout{10000};   // keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{10000};  // to send one response
    std::chrono::milliseconds drain_timeout{10000};  // SIGTERM: how long in-flight requests get
    // SIGTERM: how long /readyz answers 503 while still accepting, before the drain starts,
    // so a load balancer's health check takes the instance out first.
    std::chrono::milliseconds drain_delay{0};
    // Open client connections: in total (plus a reserve of 16 for /healthz and /readyz) and
    // from one address (trusted_proxies exempt). Over the cap a connection is closed at once.
    // 0 = no cap.
    std::size_t max_connections = 4096;
    std::size_t max_connections_per_address = 256;
};

struct storage_config {
    // sqlite://PATH (relative paths resolved against the config folder, so the stored form is
    // always sqlite:///ABSOLUTE), sqlite://:memory:, or postgresql://...
    std::string url = "sqlite://stirgate.db";
    // Apply missing schema migrations at start. false: a database behind the code is refused
    // until `stirgate migrate` has run (operators who migrate in a release step).
    bool migrate = true;
    // PostgreSQL password, the file's first line (read at start, never logged); "" = none
    // (the URL's, PGPASSWORD or ~/.pgpass, as libpq reads them).
    std::filesystem::path password_file;
};

struct signing_config {
    std::filesystem::path key_file;    // STI-AS private key (P-256 PEM)
    std::string x5u;                   // http(s) URL of the certificate chain signers advertise
    std::filesystem::path chain_file;  // "" = none; also served at GET /certs/sti.pem
};

struct calltoken_config {
    std::filesystem::path key_file;                   // signs parentCallInfoToken
    std::vector<std::filesystem::path> trusted_keys;  // "" list = only key_file's public key
    std::chrono::seconds max_age{3600};
    // Calls one parent this gateway knows may be forwarded into (0 = no limit).
    std::size_t max_forwards_per_call = 10;
};

struct verify_config {
    std::filesystem::path trust_anchors;  // STI-PA trust list (PEM bundle); "" = none
    std::vector<std::filesystem::path> crl_files;
    std::chrono::seconds iat_window{60};
    std::chrono::seconds future_skew{5};
    std::chrono::milliseconds fetch_timeout{2000};
    std::size_t max_cert_bytes = 16384;
    std::filesystem::path fetch_ca_file;         // "" = system roots
    std::vector<std::string> x5u_allowed_hosts;  // empty = any host
    std::vector<std::uint16_t> x5u_allowed_ports{443, 8443};
    std::vector<resolve_pin> x5u_resolve;
};

struct network_config {
    // Sets both switches below; each may then be set on its own.
    bool allow_private_addresses = false;
    bool allow_private_x5u = false;       // x5u certificate fetches
    bool allow_private_webhooks = false;  // customer URLs: app webhooks, StatusCallbacks, Url
    // Reachable by both whatever their class; the only way to reach a cloud metadata address
    // (169.254.0.0/16, fd00:ec2::/32, ...), refused even with the switches on.
    std::vector<net::cidr_block> allowed_addresses;
    std::filesystem::path webhook_ca_file;  // "" = system roots
};

// Customer webhooks: the incoming-call webhook (and its fallback) and StatusCallbacks.
struct webhooks_config {
    // The whole exchange with the application, connect to last byte; then voice_fallback_url.
    std::chrono::milliseconds app_timeout{15000};  // Twilio's webhook timeout
    std::size_t max_idle_per_host = 4;             // kept-alive connections per app host
    std::chrono::milliseconds idle_timeout{4000};  // how long an idle connection is kept
    // Outbox retries (edge dials and StatusCallbacks): full-jitter exponential backoff.
    std::chrono::milliseconds retry_base{1000};
    std::chrono::milliseconds retry_cap{300000};
    // Then given up (moved to the dead letters): after this many attempts (0 = no limit), or
    // a StatusCallback older than max_delivery_age.
    std::int32_t max_delivery_attempts = 20;
    std::chrono::seconds max_delivery_age{86400};
    // How long a gateway holds the outbox items it claimed (the store's lease); a peer sends
    // them after it runs out. Keep it longer than one delivery (edge: 5 s; apps: app_timeout).
    std::chrono::milliseconds outbox_lease{60000};
};

struct edge_config {
    std::string auth_token;  // "" = edge webhooks are refused
    std::string dial_url;    // "" = no edge to hand outbound legs to
    // Calls API updates (hang up, redirect) of calls the edge has; "" = stored, not handed on.
    std::string control_url;
    // A dial not delivered by this age is given up: the caller has hung up long since.
    std::chrono::seconds dial_max_age{600};
};

// Abuse limits (README "Security").
struct security_config {
    // Wrong credentials on the Basic-auth routes (Calls API, ATIS API), counted in fixed windows
    // of auth_failure_window: this many from one client address block that address; this many
    // for one account block it for the addresses that failed for it (rest/auth_guard.hpp).
    std::size_t auth_failures_per_address = 20;
    std::size_t auth_failures_per_account = 100;
    std::chrono::seconds auth_failure_window{300};
};

// [sip]: the SIP face, STI-AS/STI-VS as a redirect server (DESIGN.md "SIP face").
struct sip_peer {
    net::cidr_block cidr;  // the SBCs allowed to ask from these addresses
    std::string account;   // AccountSid whose number inventory sets the attestation
    // The peer relays its customers' own SHAKEN PASSporTs (a BYOC trunk, Twilio's "PASSporT
    // passthrough"): its Identity INVITEs are verified and passed back unchanged, and
    // X-Twilio-VerStat takes the -Passthrough values.
    bool passthrough = false;
};

struct sip_config {
    // UDP and TCP on this one address; nullopt (no `listen`): no SIP listener. Port 0 asks the
    // OS for a port free for both (tests).
    std::optional<listen_address> listen;
    std::vector<sip_peer> peers;  // first match wins; anyone else gets 403
    // One message, start line to the end of the body. UDP: a longer datagram is answered 513
    // (when its start line parses) or dropped; TCP: 513, then the connection closes.
    std::size_t max_message_bytes = 16384;
    std::size_t max_headers = 64;  // header lines of one message; more: 400
    // Messages one source address may send per second (a token bucket of that size, so a burst
    // of as many passes); more are dropped unanswered. 0 = no limit.
    std::uint32_t rate_per_source = 200;
    std::size_t max_tcp_connections = 256;  // open at once; more are closed at accept
    std::chrono::milliseconds tcp_idle_timeout{120000};  // between messages on a connection
    std::chrono::milliseconds tcp_read_timeout{10000};   // to receive a message once begun
};

struct config {
    std::filesystem::path source;  // the file it came from ("" when built in code)
    server_config server;
    security_config security;
    storage_config storage;
    std::optional<signing_config> signing;      // present iff [signing] is
    std::optional<calltoken_config> calltoken;  // present iff [calltoken] is
    verify_config verify;
    network_config network;
    webhooks_config webhooks;
    edge_config edge;
    std::vector<core::account_config> accounts;
    sip_config sip;
};

// Environment lookup, injectable so tests need not touch the process environment.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

// The real process environment (getenv).
env_lookup process_environment();

// Parses TOML text; `source_name` prefixes messages and `base_dir` anchors relative paths.
// Throws std::runtime_error with one line "SOURCE: KEY: PROBLEM" for any syntax error, unknown
// key, wrong type or invalid value.
config parse_config(std::string_view toml_text, const std::string& source_name,
                    const std::filesystem::path& base_dir, const env_lookup& env);

// Reads and parses `file` (relative paths resolve against its folder). Throws as parse_config,
// and when the file cannot be read.
config load_config(const std::filesystem::path& file, const env_lookup& env);

// [storage] password_file's first line (trailing CR removed); "" when no file is set. Throws
// std::runtime_error naming the file, never its contents, when it cannot be read or is empty.
std::string storage_password(const storage_config& storage);

// --listen: replaces server.listen; throws std::runtime_error naming --listen when malformed.
void apply_listen_override(config& cfg, std::string_view listen);

}  // namespace stirgate::app
