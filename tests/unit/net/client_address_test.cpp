#include "net/client_address.hpp"

#include <vector>

#include <catch2/catch.hpp>

using stirgate::net::cidr_block;
using stirgate::net::client_address;

namespace {

std::vector<cidr_block> blocks(std::initializer_list<const char*> texts)
{
    std::vector<cidr_block> out;
    for (const char* t : texts) out.push_back(*stirgate::net::parse_cidr(t));
    return out;
}

}  // namespace

TEST_CASE("the client address is the TCP peer unless the peer is a trusted proxy", "[net]")
{
    const auto proxies = blocks({"10.0.0.0/8", "::1/128"});
    CHECK(client_address("203.0.113.5", "", proxies) == "203.0.113.5");
    // Anyone can send X-Forwarded-For: from an untrusted peer it is ignored.
    CHECK(client_address("203.0.113.5", "198.51.100.7", proxies) == "203.0.113.5");
    CHECK(client_address("203.0.113.5", "198.51.100.7", {}) == "203.0.113.5");
}

TEST_CASE("behind trusted proxies the client is the rightmost untrusted X-Forwarded-For entry",
          "[net]")
{
    const auto proxies = blocks({"10.0.0.0/8", "::1/128"});
    CHECK(client_address("10.0.0.2", "198.51.100.7", proxies) == "198.51.100.7");
    // The client forged the left entries; the proxy appended the real one.
    CHECK(client_address("10.0.0.2", "1.2.3.4, 198.51.100.7", proxies) == "198.51.100.7");
    // Two proxy hops, the inner one trusted too; spaces and empty elements are skipped.
    CHECK(client_address("10.0.0.2", "1.2.3.4,198.51.100.7 , ,10.1.1.1", proxies) ==
          "198.51.100.7");
    CHECK(client_address("::1", "2001:db8::5", proxies) == "2001:db8::5");
    // No header, or every entry a proxy: the last trusted hop seen.
    CHECK(client_address("10.0.0.2", "", proxies) == "10.0.0.2");
    CHECK(client_address("10.0.0.2", "10.0.0.9,10.0.0.8", proxies) == "10.0.0.9");
    // A malformed entry stops the walk at the hop to its right.
    CHECK(client_address("10.0.0.2", "198.51.100.7,unknown", proxies) == "10.0.0.2");
    CHECK(client_address("10.0.0.2", "garbage,198.51.100.7", proxies) == "198.51.100.7");
}
