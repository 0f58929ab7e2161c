#pragma once
// The accounts of the config, and HTTP Basic authentication against them (AccountSid:AuthToken,
// as Twilio's API and DESIGN.md's ATIS routes use). Immutable once built; a reload builds a new
// directory.

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "app/config.hpp"
#include "core/error.hpp"

namespace stirgate::api {

class account_directory final {
public:
    account_directory() = default;
    explicit account_directory(std::vector<app::account_config> accounts);

    // The account whose SID and auth token the Authorization header carries.
    // errc::unauthorized when the header is absent, not Basic, not base64 of "sid:token", or the
    // pair does not match (compared in constant time; an unknown SID costs the same compare).
    [[nodiscard]] result<const app::account_config*> authenticate(
        std::string_view authorization) const;

    const app::account_config* find(std::string_view sid) const;
    const std::vector<app::account_config>& all() const noexcept { return accounts_; }

private:
    std::vector<app::account_config> accounts_;
    std::unordered_map<std::string, std::size_t> by_sid_;
};

}  // namespace stirgate::api
