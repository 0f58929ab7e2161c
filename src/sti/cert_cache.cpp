#include "sti/cert_cache.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <charconv>
#include <exception>

namespace stirgate::sti {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

std::optional<std::int64_t> parse_seconds(std::string_view v)
{
    v = core::trim(v);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < 0) return std::nullopt;
    return n;
}

}  // namespace

std::int64_t cache_ttl_seconds(std::string_view cache_control, const cert_cache_policy& policy)
{
    std::optional<std::int64_t> max_age;
    std::optional<std::int64_t> s_maxage;
    bool no_cache = false;
    while (!cache_control.empty()) {
        const auto comma = cache_control.find(',');
        const std::string_view part = core::trim(cache_control.substr(0, comma));
        cache_control =
            comma == std::string_view::npos ? std::string_view{} : cache_control.substr(comma + 1);
        const auto eq = part.find('=');
        const std::string name = core::ascii_lower(core::trim(part.substr(0, eq)));
        const std::string_view value = eq == std::string_view::npos ? "" : part.substr(eq + 1);
        if (name == "max-age") max_age = parse_seconds(value);
        else if (name == "s-maxage") s_maxage = parse_seconds(value);  // we are a shared cache
        else if (name == "no-store" || name == "no-cache") no_cache = true;
    }
    std::int64_t ttl = policy.default_ttl_s;
    if (no_cache) ttl = policy.min_ttl_s;
    else if (s_maxage) ttl = *s_maxage;
    else if (max_age) ttl = *max_age;
    return std::clamp(ttl, policy.min_ttl_s, std::max(policy.min_ttl_s, policy.max_ttl_s));
}

// Lookups waiting for a fetch that another lookup started. Each waiter is the completion handler
// of an awaiting coroutine, resumed on its own executor when the fetch ends.
struct cert_cache::flight {
    struct waiter {
        virtual ~waiter() = default;
        virtual void complete(const result<core::verified_cert>& r) = 0;
    };
    template <class Handler>
    struct waiter_for final : waiter {
        explicit waiter_for(Handler h) : handler(std::move(h)) {}
        void complete(const result<core::verified_cert>& r) override
        {
            auto ex = asio::get_associated_executor(handler);
            asio::post(ex, [h = std::move(handler), r]() mutable { h(std::move(r)); });
        }
        Handler handler;
    };
    std::vector<std::unique_ptr<waiter>> waiters;
};

cert_cache::cert_cache(net::http_client& client, const trust_store& trust, clock_fn now,
                       cert_cache_policy policy)
    : client_(client), trust_(trust), now_(std::move(now)), policy_(policy)
{
    if (policy_.max_entries == 0) policy_.max_entries = 1;
}

cert_cache::~cert_cache() = default;

asio::awaitable<result<core::verified_cert>> cert_cache::get(std::string x5u)
{
    std::shared_ptr<flight> joined;
    {
        std::lock_guard lock(mutex_);
        const std::int64_t now = now_();
        if (auto it = entries_.find(x5u); it != entries_.end()) {
            if (it->second.expires_at > now) {
                ++stats_.hits;
                lru_.splice(lru_.begin(), lru_, it->second.lru);
                co_return it->second.value;
            }
            lru_.erase(it->second.lru);
            entries_.erase(it);
        }
        if (auto f = flights_.find(x5u); f != flights_.end()) {
            ++stats_.coalesced;
            joined = f->second;
        } else {
            ++stats_.misses;
            flights_.emplace(x5u, std::make_shared<flight>());
        }
    }

    if (joined) {
        // Registered under the lock inside the initiation, so the fetcher either sees this
        // waiter or has already stored the entry we then read.
        auto initiate = [this, &x5u](auto handler) {
            std::unique_lock lock(mutex_);
            if (auto f = flights_.find(x5u); f != flights_.end()) {
                f->second->waiters.push_back(
                    std::make_unique<flight::waiter_for<decltype(handler)>>(std::move(handler)));
                return;
            }
            const auto it = entries_.find(x5u);
            result<core::verified_cert> r =
                it != entries_.end() ? it->second.value
                                     : result<core::verified_cert>(error{errc::x5u_fetch_failed,
                                                                         "fetch evicted"});
            lock.unlock();
            flight::waiter_for<decltype(handler)>(std::move(handler)).complete(r);
        };
        co_return co_await asio::async_initiate<decltype(asio::use_awaitable),
                                                void(result<core::verified_cert>)>(
            initiate, asio::use_awaitable);
    }

    std::int64_t ttl = policy_.negative_ttl_s;
    result<core::verified_cert> value;
    try {
        value = co_await fetch_and_validate(x5u, ttl);
    } catch (const std::exception& e) {
        value = error{errc::internal, std::string("certificate fetch threw: ") + e.what()};
    }

    std::shared_ptr<flight> done;
    {
        std::lock_guard lock(mutex_);
        const std::int64_t now = now_();
        std::int64_t expires = now + ttl;
        if (value) expires = std::min(expires, value->not_after);  // never past notAfter
        else {
            ++stats_.fetch_failures;
            if (value.code() == errc::x5u_refused) ++stats_.fetch_refused;
            else if (value.code() == errc::x5u_fetch_failed || value.code() == errc::internal)
                ++stats_.fetch_errors;
            else ++stats_.fetch_untrusted;
        }
        store_locked(x5u, value, expires);
        const auto f = flights_.find(x5u);
        done = f->second;
        flights_.erase(f);
    }
    for (auto& w : done->waiters) w->complete(value);
    co_return value;
}

asio::awaitable<result<core::verified_cert>> cert_cache::fetch_and_validate(
    const std::string& x5u, std::int64_t& ttl)
{
    ttl = policy_.negative_ttl_s;
    net::http_request_spec req;
    req.method = http::verb::get;
    req.url = x5u;
    req.headers = {{"Accept",
                    "application/pem-certificate-chain, application/x-pem-file, "
                    "application/pkix-cert;q=0.9, */*;q=0.1"}};
    auto reply = co_await client_.request(std::move(req));
    if (!reply) {
        const error& e = reply.err();
        co_return error{e.code == errc::upstream_refused ? errc::x5u_refused
                                                         : errc::x5u_fetch_failed,
                        std::string(errc_name(e.code)) + ": " + e.detail};
    }
    // RFC 8224 section 7 / ATIS-1000074: the certificate itself, over HTTPS, no redirects.
    if (reply->status != 200)
        co_return error{errc::x5u_fetch_failed,
                        x5u + ": HTTP " + std::to_string(reply->status) +
                            (reply->status / 100 == 3 ? " (redirects are not followed)" : "")};
    auto cert = trust_.verify_chain(reply->body, now_());
    if (!cert) co_return cert;
    ttl = cache_ttl_seconds(reply->header("Cache-Control").value_or(""), policy_);
    co_return cert;
}

void cert_cache::store_locked(const std::string& x5u, result<core::verified_cert> value,
                              std::int64_t expires_at)
{
    if (auto it = entries_.find(x5u); it != entries_.end()) {
        lru_.erase(it->second.lru);
        entries_.erase(it);
    }
    while (entries_.size() >= policy_.max_entries && !lru_.empty()) {
        entries_.erase(lru_.back());
        lru_.pop_back();
    }
    lru_.push_front(x5u);
    entries_.emplace(x5u, entry{std::move(value), expires_at, lru_.begin()});
}

asio::awaitable<core::certificate_map> cert_cache::get_all(std::vector<std::string> urls)
{
    core::certificate_map out;
    if (urls.size() == 1) {
        auto r = co_await get(urls.front());
        out.emplace(std::move(urls.front()), std::move(r));
        co_return out;
    }
    // Fetch in parallel (a SHAKEN and a DIV certificate from two repositories should cost one
    // timeout, not two). Every task runs on this coroutine's executor, so the shared state needs
    // no lock; the timer is the "all done" signal (Boost 1.74 has no parallel_group).
    auto ex = co_await asio::this_coro::executor;
    struct shared_state {
        explicit shared_state(const asio::any_io_executor& e) : done(e) {}
        std::vector<result<core::verified_cert>> results;
        std::size_t pending = 0;
        asio::steady_timer done;
    };
    auto state = std::make_shared<shared_state>(ex);
    state->results.resize(urls.size());
    state->pending = urls.size();
    state->done.expires_at(asio::steady_timer::time_point::max());
    for (std::size_t i = 0; i < urls.size(); ++i) {
        auto on_done = [state, i](std::exception_ptr e, result<core::verified_cert> r) {
            state->results[i] =
                e ? result<core::verified_cert>(error{errc::internal, "certificate lookup threw"})
                  : std::move(r);
            if (--state->pending == 0) state->done.cancel();
        };
        asio::co_spawn(ex, get(urls[i]), std::move(on_done));
    }
    if (state->pending > 0) {
        boost::system::error_code ec;
        co_await state->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    for (std::size_t i = 0; i < urls.size(); ++i)
        out.emplace(std::move(urls[i]), std::move(state->results[i]));
    co_return out;
}

cert_cache_stats cert_cache::stats() const
{
    std::lock_guard lock(mutex_);
    return stats_;
}

std::size_t cert_cache::size() const
{
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace stirgate::sti
