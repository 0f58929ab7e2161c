// The account directory: Basic authentication, lookups by SID and number, and reload snapshots.

#include <catch2/catch.hpp>

#include "core/accounts.hpp"
#include "core/crypto.hpp"

using stirgate::errc;
using stirgate::core::account_directory;

namespace {

stirgate::core::account_config account(const std::string& sid, const std::string& token,
                                      const std::string& number)
{
    stirgate::core::account_config a;
    a.sid = sid;
    a.auth_token = token;
    a.origid = "4b3f6b1e-5c2d-4e8a-9f10-2a7d1c0e9b55";
    stirgate::core::number_config n;
    n.number = number;
    n.attest = 'A';
    a.numbers.push_back(n);
    return a;
}

std::string basic(const std::string& user_pass)
{
    return "Basic " + stirgate::core::base64_encode(user_pass);
}

const std::string sid_a = "AC" + std::string(32, 'a');
const std::string sid_b = "AC" + std::string(32, 'b');

}  // namespace

TEST_CASE("Basic credentials authenticate exactly one account", "[core]")
{
    account_directory d({account(sid_a, "token-a", "+14155550101")});
    auto ok = d.authenticate(basic(sid_a + ":token-a"));
    REQUIRE(ok);
    CHECK((*ok)->sid == sid_a);
    CHECK(d.authenticate("bAsIc   " + stirgate::core::base64_encode(sid_a + ":token-a")));
    for (const std::string& bad :
         {std::string(), std::string("Basic"), std::string("Basic "), std::string("Bearer x"),
          basic(sid_a + ":token-b"), basic(sid_a + ":"), basic(sid_a), basic(sid_b + ":token-a"),
          std::string("Basic !!!"), basic(sid_a + ":token-a:")}) {
        INFO(bad);
        auto r = d.authenticate(bad);
        REQUIRE_FALSE(r);
        CHECK(r.code() == errc::unauthorized);
    }
}

TEST_CASE("accounts are found by SID and by number; a reload swaps them while held ones live",
          "[core]")
{
    account_directory d({account(sid_a, "token-a", "+14155550101")});
    const auto held = d.find_by_number("+14155550101");
    REQUIRE(held);
    CHECK(held->sid == sid_a);
    CHECK_FALSE(d.find_by_number("+16505550102"));
    CHECK_FALSE(d.find(sid_b));

    d.replace({account(sid_b, "token-b", "+16505550102")});
    CHECK(d.find(sid_b));
    CHECK_FALSE(d.find(sid_a));
    CHECK(d.find_by_number("+16505550102")->sid == sid_b);
    CHECK_FALSE(d.authenticate(basic(sid_a + ":token-a")));
    // What a request already holds stays valid after the swap.
    CHECK(held->sid == sid_a);
    CHECK(held->numbers.front().number == "+14155550101");
}
