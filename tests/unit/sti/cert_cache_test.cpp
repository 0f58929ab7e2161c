// Certificate cache: hits, Cache-Control lifetimes on an injected clock, notAfter, negative
// caching, single-flight and the LRU bound. The HTTP client is a scripted double.

#include "net/net.hpp"

#include <map>

#include <catch2/catch.hpp>

#include "sti/cert_cache.hpp"
#include "support/test_tls.hpp"
#include "support/vectors.hpp"

namespace asio = boost::asio;
using stirgate::errc;
using stirgate::result;
using stirgate::net::http_reply;
using stirgate::net::http_request_spec;
using stirgate::sti::cert_cache;
using stirgate::sti::cert_cache_policy;

namespace {

constexpr const char* orig_url = "https://certs.example.test/sti/orig-sp-1234.pem";
constexpr const char* div_url = "https://certs.example.test/sti/div-sp-5678.pem";

// Serves canned replies by URL, counting requests; each answer takes `latency` so that
// concurrent lookups overlap with the first one.
class scripted_client final : public stirgate::net::http_client {
public:
    std::map<std::string, result<http_reply>> replies;
    std::map<std::string, int> requests;
    std::chrono::milliseconds latency{0};

    asio::awaitable<result<http_reply>> request(http_request_spec spec) override
    {
        ++requests[spec.url];
        if (latency.count() > 0) {
            asio::steady_timer t(co_await asio::this_coro::executor, latency);
            co_await t.async_wait(asio::use_awaitable);
        }
        const auto it = replies.find(spec.url);
        if (it == replies.end()) co_return http_reply{404, {}, "not found"};
        co_return it->second;
    }
};

http_reply pem_reply(const std::string& chain_file, std::string cache_control = "")
{
    http_reply r;
    r.status = 200;
    r.headers.emplace_back("Content-Type", "application/pem-certificate-chain");
    if (!cache_control.empty()) r.headers.emplace_back("Cache-Control", std::move(cache_control));
    r.body = stirgate::test::read_vector(chain_file);
    return r;
}

stirgate::sti::trust_store vector_trust()
{
    return stirgate::sti::trust_store::load(
        stirgate::test::vector_path("pki/root-ca.cert.pem"),
        {stirgate::test::vector_path("pki/intermediate-ca.crl.pem"),
         stirgate::test::vector_path("pki/root-ca.crl.pem")});
}

struct fixture {
    scripted_client client;
    stirgate::sti::trust_store trust = vector_trust();
    std::int64_t now = stirgate::test::vectors_verify_at;
    cert_cache_policy policy;
    asio::io_context io;

    std::unique_ptr<cert_cache> make()
    {
        return std::make_unique<cert_cache>(client, trust, [this] { return now; }, policy);
    }
    result<stirgate::core::verified_cert> get(cert_cache& cache, const std::string& url)
    {
        return stirgate::test::run_until_done(io, cache.get(url));
    }
};

}  // namespace

TEST_CASE("cache_ttl_seconds honours max-age and s-maxage within the policy bounds", "[sti][cache]")
{
    cert_cache_policy p;
    p.min_ttl_s = 60;
    p.max_ttl_s = 86400;
    p.default_ttl_s = 86400;
    CHECK(stirgate::sti::cache_ttl_seconds("", p) == 86400);
    CHECK(stirgate::sti::cache_ttl_seconds("max-age=3600", p) == 3600);
    CHECK(stirgate::sti::cache_ttl_seconds("public, MAX-AGE=600", p) == 600);
    CHECK(stirgate::sti::cache_ttl_seconds("max-age=600, s-maxage=1200", p) == 1200);
    CHECK(stirgate::sti::cache_ttl_seconds("max-age=5", p) == 60);          // floor
    CHECK(stirgate::sti::cache_ttl_seconds("max-age=9999999", p) == 86400);  // ceiling
    CHECK(stirgate::sti::cache_ttl_seconds("no-store", p) == 60);
    CHECK(stirgate::sti::cache_ttl_seconds("max-age=abc", p) == 86400);      // ignored
    CHECK(stirgate::sti::cache_ttl_seconds("max-age=-5", p) == 86400);
}

TEST_CASE("a fetched chain is validated once and then served from the cache", "[sti][cache]")
{
    fixture f;
    f.client.replies.emplace(orig_url, pem_reply("pki/orig-sp-1234.chain.pem"));
    auto cache = f.make();
    auto first = f.get(*cache, orig_url);
    REQUIRE(first);
    CHECK(first->spc == "1234");
    auto second = f.get(*cache, orig_url);
    REQUIRE(second);
    CHECK(second->spc == "1234");
    CHECK(f.client.requests[orig_url] == 1);
    CHECK(cache->stats().hits == 1);
    CHECK(cache->stats().misses == 1);
}

TEST_CASE("a Cache-Control max-age entry expires on the injected clock", "[sti][cache]")
{
    fixture f;
    f.client.replies.emplace(orig_url, pem_reply("pki/orig-sp-1234.chain.pem", "max-age=300"));
    auto cache = f.make();
    REQUIRE(f.get(*cache, orig_url));
    f.now += 299;
    REQUIRE(f.get(*cache, orig_url));
    CHECK(f.client.requests[orig_url] == 1);
    f.now += 1;  // 300 s after the fetch: stale
    REQUIRE(f.get(*cache, orig_url));
    CHECK(f.client.requests[orig_url] == 2);
}

TEST_CASE("an entry never outlives the certificate's notAfter", "[sti][cache]")
{
    fixture f;
    f.policy.max_ttl_s = 100LL * 365 * 86400;  // let max-age reach past the 2045 notAfter
    f.client.replies.emplace(orig_url,
                             pem_reply("pki/orig-sp-1234.chain.pem", "max-age=3000000000"));
    auto cache = f.make();
    auto cert = f.get(*cache, orig_url);
    REQUIRE(cert);
    f.now = cert->not_after - 1;
    REQUIRE(f.get(*cache, orig_url));
    CHECK(f.client.requests[orig_url] == 1);
    f.now = cert->not_after;  // the entry ends here, and the certificate with it
    auto after = f.get(*cache, orig_url);
    CHECK(f.client.requests[orig_url] == 2);
    REQUIRE_FALSE(after);
    CHECK(after.code() == errc::cert_expired);
}

TEST_CASE("fetch failures are cached briefly and reported as x5u errors", "[sti][cache]")
{
    fixture f;
    f.policy.negative_ttl_s = 30;
    const std::string missing = "https://certs.example.test/sti/does-not-exist.pem";
    const std::string moved = "https://certs.example.test/sti/moved.pem";
    const std::string refused = "http://certs.example.test/sti/plain.pem";
    f.client.replies.emplace(moved, http_reply{302, {{"Location", orig_url}}, ""});
    f.client.replies.emplace(refused, stirgate::error{errc::upstream_refused, "scheme http"});
    f.client.replies.emplace(div_url, stirgate::error{errc::upstream_timeout, "slow"});
    auto cache = f.make();

    CHECK(f.get(*cache, missing).code() == errc::x5u_fetch_failed);
    CHECK(f.get(*cache, moved).code() == errc::x5u_fetch_failed);
    CHECK(f.get(*cache, refused).code() == errc::x5u_refused);
    CHECK(f.get(*cache, div_url).code() == errc::x5u_fetch_failed);
    CHECK(cache->stats().fetch_failures == 4);

    // Within the negative TTL no new fetch; after it, one more.
    f.now += 29;
    CHECK(f.get(*cache, missing).code() == errc::x5u_fetch_failed);
    CHECK(f.client.requests[missing] == 1);
    f.now += 1;
    CHECK(f.get(*cache, missing).code() == errc::x5u_fetch_failed);
    CHECK(f.client.requests[missing] == 2);
}

TEST_CASE("untrusted, revoked and TNAuthList-less chains fail with their cert errors",
          "[sti][cache]")
{
    fixture f;
    f.client.replies.emplace("https://r/rogue.pem", pem_reply("pki/rogue.chain.pem"));
    f.client.replies.emplace("https://r/revoked.pem", pem_reply("pki/revoked-sp-9999.chain.pem"));
    f.client.replies.emplace("https://r/notn.pem", pem_reply("pki/no-tnauthlist.chain.pem"));
    f.client.replies.emplace("https://r/html.pem", http_reply{200, {}, "<html>hello</html>"});
    auto cache = f.make();
    CHECK(f.get(*cache, "https://r/rogue.pem").code() == errc::cert_untrusted);
    CHECK(f.get(*cache, "https://r/revoked.pem").code() == errc::cert_revoked);
    CHECK(f.get(*cache, "https://r/notn.pem").code() == errc::cert_no_tnauthlist);
    CHECK(f.get(*cache, "https://r/html.pem").code() == errc::x5u_fetch_failed);
}

TEST_CASE("100 concurrent lookups of one uncached URL cause one fetch", "[sti][cache]")
{
    fixture f;
    f.client.latency = std::chrono::milliseconds(20);
    f.client.replies.emplace(orig_url, pem_reply("pki/orig-sp-1234.chain.pem"));
    auto cache = f.make();
    int ok = 0;
    int done = 0;
    for (int i = 0; i < 100; ++i) {
        asio::co_spawn(f.io, cache->get(orig_url),
                       [&](std::exception_ptr e, result<stirgate::core::verified_cert> r) {
                           ++done;
                           if (!e && r && r->spc == "1234") ++ok;
                       });
    }
    f.io.run();
    CHECK(done == 100);
    CHECK(ok == 100);
    CHECK(f.client.requests[orig_url] == 1);
    CHECK(cache->stats().misses == 1);
    CHECK(cache->stats().coalesced == 99);
}

TEST_CASE("get_all fetches several repositories in parallel", "[sti][cache]")
{
    fixture f;
    f.client.latency = std::chrono::milliseconds(200);
    f.client.replies.emplace(orig_url, pem_reply("pki/orig-sp-1234.chain.pem"));
    f.client.replies.emplace(div_url, pem_reply("pki/div-sp-5678.chain.pem"));
    auto cache = f.make();
    const auto start = std::chrono::steady_clock::now();
    auto map = stirgate::test::run_until_done(f.io, cache->get_all({orig_url, div_url}));
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(map.size() == 2);
    CHECK(map.at(orig_url)->spc == "1234");
    CHECK(map.at(div_url)->spc == "5678");
    // Two 200 ms fetches overlapped: well under their sum (a bound, not a benchmark).
    CHECK(took < std::chrono::milliseconds(390));
}

TEST_CASE("the cache holds at most max_entries, evicting the least recently used",
          "[sti][cache]")
{
    fixture f;
    f.policy.max_entries = 2;
    for (const char* u : {"https://r/a.pem", "https://r/b.pem", "https://r/c.pem"})
        f.client.replies.emplace(u, pem_reply("pki/orig-sp-1234.chain.pem"));
    auto cache = f.make();
    REQUIRE(f.get(*cache, "https://r/a.pem"));
    REQUIRE(f.get(*cache, "https://r/b.pem"));
    REQUIRE(f.get(*cache, "https://r/a.pem"));  // a is now the most recent
    REQUIRE(f.get(*cache, "https://r/c.pem"));  // evicts b
    CHECK(cache->size() == 2);
    REQUIRE(f.get(*cache, "https://r/a.pem"));
    CHECK(f.client.requests["https://r/a.pem"] == 1);
    REQUIRE(f.get(*cache, "https://r/b.pem"));
    CHECK(f.client.requests["https://r/b.pem"] == 2);
}
