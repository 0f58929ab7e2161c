#include "rest/auth_guard.hpp"

#include <algorithm>
#include <optional>

#include "net/client_address.hpp"

namespace stirgate::rest {

namespace {

core::failure_throttle_options throttle_options(std::size_t threshold, const auth_limits& l)
{
    return core::failure_throttle_options{
        threshold, std::chrono::duration_cast<std::chrono::milliseconds>(l.window), l.max_tracked};
}

std::string forwarded_for(const net::http_request& req)
{
    std::string joined;
    const auto [first, last] = req.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it) {
        if (!joined.empty()) joined += ',';
        joined.append(it->value().data(), it->value().size());
    }
    return joined;
}

std::string pair_key(std::string_view sid, std::string_view client)
{
    std::string key(sid);
    key += ' ';
    key += client;
    return key;
}

}  // namespace

std::string_view to_string(auth_block_scope scope) noexcept
{
    return scope == auth_block_scope::address ? "address" : "account";
}

auth_guard::auth_guard(auth_limits limits, std::vector<net::cidr_block> trusted_proxies,
                       core::clock_fn now, auth_guard_hooks hooks)
    : limits_(limits),
      trusted_proxies_(std::move(trusted_proxies)),
      now_(std::move(now)),
      hooks_(std::move(hooks)),
      by_address_(throttle_options(limits.failures_per_address, limits)),
      by_account_(throttle_options(limits.failures_per_account, limits)),
      by_account_address_(throttle_options(1, limits))
{
}

result<core::account_ptr> auth_guard::authenticate(const core::account_directory& accounts,
                                                   std::string_view authorization,
                                                   net::request_context& ctx)
{
    const std::string client = net::client_address(ctx.remote.address().to_string(),
                                                   forwarded_for(ctx.request), trusted_proxies_);
    const std::int64_t now_ms = now_() * 1000;
    // Only SIDs of real accounts are counted per account, so made-up SIDs cannot fill the table.
    std::string sid;
    if (auto credentials = core::parse_basic_credentials(authorization);
        credentials && accounts.find(credentials->user))
        sid = std::move(credentials->user);
    const std::string pair = sid.empty() ? std::string() : pair_key(sid, client);

    const auto refuse = [&](auth_block_scope scope, std::chrono::seconds left) {
        ctx.retry_after = left;
        if (hooks_.on_refused) hooks_.on_refused(scope);
        return error{errc::rate_limited, "authentication failures from " + client + " (" +
                                             std::string(to_string(scope)) + ")"};
    };
    if (const auto left = by_address_.blocked(client, now_ms))
        return refuse(auth_block_scope::address, *left);
    if (!sid.empty()) {
        const auto account_left = by_account_.blocked(sid, now_ms);
        const auto pair_left = by_account_address_.blocked(pair, now_ms);
        if (account_left && pair_left)
            return refuse(auth_block_scope::account, std::min(*account_left, *pair_left));
    }

    auto account = accounts.authenticate(authorization);
    if (account || account.code() != errc::unauthorized || authorization.empty()) return account;

    // A failure with credentials: count it, and report the block it starts.
    const auto report = [&](auth_block_scope scope, std::chrono::seconds left) {
        if (hooks_.on_block) hooks_.on_block(auth_block_event{scope, client, sid, left});
    };
    by_address_.failed(client, now_ms);
    if (const auto left = by_address_.blocked(client, now_ms))
        report(auth_block_scope::address, *left);
    if (!sid.empty()) {
        const bool was_blocked = by_account_.blocked(sid, now_ms).has_value();
        by_account_.failed(sid, now_ms);
        by_account_address_.failed(pair, now_ms);
        if (const auto left = by_account_.blocked(sid, now_ms); left && !was_blocked)
            report(auth_block_scope::account, *left);
    }
    return account;
}

}  // namespace stirgate::rest
