#pragma once
// Limits on failed authentication (#16 item 3) for every route that takes Basic
// AccountSid:AuthToken (the Calls API and the ATIS API), so credentials cannot be guessed at
// line rate. Three fixed-window counts (core::failure_throttle, bounded memory):
//   - per client address: `failures_per_address` wrong credentials from one address block that
//     address (every account) until its window ends;
//   - per account: `failures_per_account` wrong passwords for one AccountSid, from any number of
//     addresses, block that account -- but only for the addresses that have themselves failed
//     for it in their window. A guesser spread over many addresses gets one try per address and
//     window; the owner, who has not failed, is never locked out by someone else's guessing.
// A blocked request is refused with errc::rate_limited (429, Twilio 20429, ATIS POL4290) and
// ctx.retry_after set (Retry-After), before its password is looked at. The client address is
// net::client_address: the TCP peer, or X-Forwarded-For's client behind trusted proxies.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/accounts.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/failure_throttle.hpp"
#include "net/cidr.hpp"
#include "net/router.hpp"

namespace stirgate::rest {

struct auth_limits {
    std::size_t failures_per_address = 20;   // [security] auth_failures_per_address
    std::size_t failures_per_account = 100;  // [security] auth_failures_per_account
    std::chrono::seconds window{300};        // [security] auth_failure_window_s
    std::size_t max_tracked = 10000;         // keys per count; beyond, new keys fail open
};

// Which count refused a request.
enum class auth_block_scope { address, account };
std::string_view to_string(auth_block_scope scope) noexcept;

struct auth_block_event {
    auth_block_scope scope;
    std::string client;       // the client address
    std::string account_sid;  // the AccountSid tried ("" when the credentials named none known)
    std::chrono::seconds retry_after;
};

struct auth_guard_hooks {
    // A failure made a count reach its threshold: the block starts (one log line per block, not
    // per refused request). Optional; called on an I/O thread, must be thread-safe.
    std::function<void(const auth_block_event&)> on_block;
    // A request was refused with 429 (the metric). Optional; thread-safe.
    std::function<void(auth_block_scope)> on_refused;
};

class auth_guard final {
public:
    // `now` is epoch seconds (the gateway's clock, a fixed one in tests).
    auth_guard(auth_limits limits, std::vector<net::cidr_block> trusted_proxies, core::clock_fn now,
               auth_guard_hooks hooks = {});

    // accounts.authenticate(authorization) behind the limits: errc::rate_limited (with
    // ctx.retry_after) for a blocked client, else the directory's answer, and a failure with
    // credentials present is counted. Two Authorization headers are the caller's concern.
    [[nodiscard]] result<core::account_ptr> authenticate(const core::account_directory& accounts,
                                                         std::string_view authorization,
                                                         net::request_context& ctx);

private:
    auth_limits limits_;
    std::vector<net::cidr_block> trusted_proxies_;
    core::clock_fn now_;
    auth_guard_hooks hooks_;
    core::failure_throttle by_address_;
    core::failure_throttle by_account_;
    core::failure_throttle by_account_address_;  // threshold 1: "has failed for this account"
};

}  // namespace stirgate::rest
