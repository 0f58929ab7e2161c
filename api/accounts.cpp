#include "api/accounts.hpp"

#include <cctype>

#include "core/crypto.hpp"

namespace stirgate::api {

account_directory::account_directory(std::vector<app::account_config> accounts)
    : accounts_(std::move(accounts))
{
    for (std::size_t i = 0; i < accounts_.size(); ++i) by_sid_.emplace(accounts_[i].sid, i);
}

const app::account_config* account_directory::find(std::string_view sid) const
{
    const auto it = by_sid_.find(std::string(sid));
    return it == by_sid_.end() ? nullptr : &accounts_[it->second];
}

result<const app::account_config*> account_directory::authenticate(
    std::string_view authorization) const
{
    // RFC 7617: "Basic" is case-insensitive, followed by one or more spaces.
    constexpr std::string_view scheme = "basic";
    if (authorization.size() <= scheme.size()) return error{errc::unauthorized, "no credentials"};
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i])
            return error{errc::unauthorized, "not Basic"};
    std::string_view b64 = authorization.substr(scheme.size());
    if (b64.front() != ' ') return error{errc::unauthorized, "not Basic"};
    while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
    while (!b64.empty() && b64.back() == ' ') b64.remove_suffix(1);
    auto decoded = core::base64_decode(b64);
    if (!decoded) return error{errc::unauthorized, "bad base64"};
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return error{errc::unauthorized, "no colon"};
    const std::string_view sid = std::string_view(*decoded).substr(0, colon);
    const std::string_view token = std::string_view(*decoded).substr(colon + 1);
    const app::account_config* account = find(sid);
    // Compare even for an unknown SID, so timing does not reveal which SIDs exist.
    static const std::string no_token(32, '\0');
    const bool match =
        core::constant_time_equal(token, account ? std::string_view(account->auth_token)
                                                  : std::string_view(no_token));
    if (!account || !match || token.empty()) return error{errc::unauthorized, "bad credentials"};
    return account;
}

}  // namespace stirgate::api
