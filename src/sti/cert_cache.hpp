#pragma once
// x5u certificate cache (STIR-SHAKEN.md section 8.1): fetched chains are validated once and kept
// whole, keyed by the full URL, for as long as Cache-Control allows within configured bounds and
// never past the leaf's notAfter. Failures are kept briefly (negative cache) so a dead repository
// does not turn every call into a 2-second fetch. Concurrent lookups of one uncached URL share a
// single fetch (single-flight). The number of entries is bounded (least recently used goes).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/verifier.hpp"
#include "net/http_client.hpp"
#include "sti/trust_store.hpp"

namespace stirgate::sti {

using core::clock_fn;  // seconds since the epoch; tests move time without sleeping

struct cert_cache_policy {
    std::size_t max_entries = 1000;
    std::int64_t min_ttl_s = 60;          // floor for max-age (and for no-cache/no-store)
    std::int64_t max_ttl_s = 86400;       // ceiling for max-age
    std::int64_t default_ttl_s = 86400;   // no directive: ATIS-1000074 caches for 24 h
    std::int64_t negative_ttl_s = 30;     // fetch or trust failures
};

struct cert_cache_stats {
    std::uint64_t hits = 0;        // answered from a fresh entry (positive or negative)
    std::uint64_t misses = 0;      // started a fetch
    std::uint64_t coalesced = 0;   // waited for a fetch another lookup started
    std::uint64_t fetch_failures = 0;  // the sum of the three below
    std::uint64_t fetch_refused = 0;    // x5u_refused: the URL or its address was not allowed
    std::uint64_t fetch_errors = 0;     // x5u_fetch_failed: unreachable, TLS, non-200, size...
    std::uint64_t fetch_untrusted = 0;  // fetched, but the chain or certificate did not verify
};

// TTL from Cache-Control (max-age / s-maxage; no-store and no-cache mean the floor), clamped to
// the policy. Pure; exposed for tests.
std::int64_t cache_ttl_seconds(std::string_view cache_control, const cert_cache_policy& policy);

class cert_cache final {
public:
    // `client` and `trust` must outlive the cache (built in main).
    cert_cache(net::http_client& client, const trust_store& trust, clock_fn now,
               cert_cache_policy policy);
    ~cert_cache();
    cert_cache(const cert_cache&) = delete;
    cert_cache& operator=(const cert_cache&) = delete;

    // The validated certificate behind `x5u`, fetching it if needed. Safe to call from
    // coroutines on any thread. Errors: x5u_refused (policy refused the URL or address),
    // x5u_fetch_failed (unreachable, TLS, timeout, non-200 incl. redirects, oversize or
    // non-certificate body), and the cert_* errors of trust_store::verify_chain.
    boost::asio::awaitable<result<core::verified_cert>> get(std::string x5u);

    // Looks up every URL (concurrently) and returns the map verify_call takes.
    boost::asio::awaitable<core::certificate_map> get_all(std::vector<std::string> urls);

    cert_cache_stats stats() const;
    std::size_t size() const;

private:
    struct flight;
    struct entry {
        result<core::verified_cert> value;
        std::int64_t expires_at = 0;
        std::list<std::string>::iterator lru;
    };

    boost::asio::awaitable<result<core::verified_cert>> fetch_and_validate(const std::string& x5u,
                                                                          std::int64_t& ttl);
    void store_locked(const std::string& x5u, result<core::verified_cert> value,
                      std::int64_t expires_at);

    net::http_client& client_;
    const trust_store& trust_;
    clock_fn now_;
    cert_cache_policy policy_;

    mutable std::mutex mutex_;
    std::unordered_map<std::string, entry> entries_;
    std::list<std::string> lru_;  // front = most recently used
    std::unordered_map<std::string, std::shared_ptr<flight>> flights_;
    cert_cache_stats stats_;
};

}  // namespace stirgate::sti
