#include "core/accounts.hpp"

#include "core/crypto.hpp"
#include "core/text.hpp"

namespace stirgate::core {

account_directory::account_directory(std::vector<account_config> accounts)
{
    replace(std::move(accounts));
}

void account_directory::replace(std::vector<account_config> accounts)
{
    auto next = std::make_shared<snapshot>();
    next->accounts = std::move(accounts);
    for (std::size_t i = 0; i < next->accounts.size(); ++i) {
        next->by_sid.emplace(next->accounts[i].sid, i);
        for (const auto& n : next->accounts[i].numbers) next->by_number.emplace(n.number, i);
    }
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(next);
}

std::shared_ptr<const account_directory::snapshot> account_directory::current() const
{
    std::lock_guard lock(mutex_);
    return snapshot_;
}

bool may_present_caller_id(const account_config& account, std::string_view e164)
{
    for (const auto& n : account.numbers)
        if (n.number == e164) return true;
    for (const auto& id : account.verified_caller_ids)
        if (id == e164) return true;
    return false;
}

account_ptr account_directory::find(std::string_view sid) const
{
    auto snap = current();
    const auto it = snap->by_sid.find(std::string(sid));
    if (it == snap->by_sid.end()) return nullptr;
    // Aliasing: the pointer keeps its whole snapshot alive.
    return account_ptr(snap, &snap->accounts[it->second]);
}

account_ptr account_directory::find_by_number(std::string_view e164) const
{
    auto snap = current();
    const auto it = snap->by_number.find(std::string(e164));
    if (it == snap->by_number.end()) return nullptr;
    return account_ptr(snap, &snap->accounts[it->second]);
}

std::size_t account_directory::size() const { return current()->accounts.size(); }

result<basic_credentials> parse_basic_credentials(std::string_view authorization)
{
    // RFC 7617: "Basic" is case-insensitive, followed by one or more spaces.
    constexpr std::string_view scheme = "basic ";
    if (authorization.empty()) return error{errc::unauthorized, "no credentials"};
    if (!istarts_with(authorization, scheme)) return error{errc::unauthorized, "not Basic"};
    const std::string_view b64 = trim(authorization.substr(scheme.size()), " ");
    auto decoded = base64_decode(b64);
    if (!decoded) return error{errc::unauthorized, "bad base64"};
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return error{errc::unauthorized, "no colon"};
    return basic_credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

result<account_ptr> account_directory::authenticate(std::string_view authorization) const
{
    auto credentials = parse_basic_credentials(authorization);
    if (!credentials) return std::move(credentials).err();
    const std::string_view token = credentials->password;
    account_ptr account = find(credentials->user);
    // Compare even for an unknown SID, so timing does not reveal which SIDs exist.
    static const std::string no_token(32, '\0');
    const bool match =
        constant_time_equal(token, account ? std::string_view(account->auth_token)
                                                  : std::string_view(no_token));
    if (!account || !match || token.empty()) return error{errc::unauthorized, "bad credentials"};
    return account;
}

}  // namespace stirgate::core
