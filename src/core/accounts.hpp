#pragma once
// The accounts and their numbers (the domain every layer shares; app/config.hpp reads them from
// TOML), and HTTP Basic authentication against them (AccountSid:AuthToken, as Twilio's API and
// DESIGN.md's ATIS routes use). Thread-safe and reloadable: replace() swaps in a new snapshot
// (SIGHUP) while requests already running keep the account they authenticated with, through the
// shared_ptr they hold.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"

namespace stirgate::core {

struct number_config {
    std::string number;  // E.164, e.g. +14155550101
    char attest = 'B';   // 'A', 'B' or 'C'
    std::string voice_url;
    std::string voice_fallback_url;
    std::string status_callback;
};

struct account_config {
    std::string sid;  // ^AC[0-9a-f]{32}$
    std::string auth_token;
    std::string origid;  // UUID (ATIS-1000074 origid)
    std::vector<number_config> numbers;
    // Caller IDs (E.164) the account has proven it owns, beside its numbers (Twilio's
    // OutgoingCallerIds): a call without a CallToken may show them, attested B.
    std::vector<std::string> verified_caller_ids;
    // An operator's own SBC, which applies the SP's attestation policy itself: its ATIS signing
    // requests get the attest and origid they ask for. false: the inventory policy decides
    // (sti::granted_attestation), as for the Calls API.
    bool trusted_sbc = false;
};

// Twilio's caller-ID rule for a call without a CallToken: From (E.164) is one of the account's
// numbers or one of its verified caller IDs.
bool may_present_caller_id(const account_config& account, std::string_view e164);

using account_ptr = std::shared_ptr<const account_config>;

// The user and password of an HTTP Basic Authorization header (RFC 7617: "Basic" in any case,
// one or more spaces, base64 of "user:password"). errc::unauthorized when the header is empty,
// not Basic, not base64 or has no colon. The user part names the account a client tries, which
// failure limits count against before the password is known to be right.
struct basic_credentials {
    std::string user;
    std::string password;
};
[[nodiscard]] result<basic_credentials> parse_basic_credentials(std::string_view authorization);

class account_directory final {
public:
    account_directory() : account_directory(std::vector<account_config>{}) {}
    explicit account_directory(std::vector<account_config> accounts);

    // Swaps in a new set of accounts; lookups from now on see it.
    void replace(std::vector<account_config> accounts);

    // The account whose SID and auth token the Authorization header carries.
    // errc::unauthorized when the header is absent, not Basic, not base64 of "sid:token", or the
    // pair does not match (compared in constant time; an unknown SID costs the same compare).
    [[nodiscard]] result<account_ptr> authenticate(std::string_view authorization) const;

    // nullptr when unknown.
    account_ptr find(std::string_view sid) const;
    // The account with this E.164 number in its [[accounts.numbers]], or nullptr (the config
    // loader refuses a number listed under two accounts).
    account_ptr find_by_number(std::string_view e164) const;
    std::size_t size() const;

private:
    struct snapshot {
        std::vector<account_config> accounts;
        std::unordered_map<std::string, std::size_t> by_sid;
        std::unordered_map<std::string, std::size_t> by_number;
    };
    std::shared_ptr<const snapshot> current() const;

    mutable std::mutex mutex_;
    std::shared_ptr<const snapshot> snapshot_;
};

}  // namespace stirgate::core
