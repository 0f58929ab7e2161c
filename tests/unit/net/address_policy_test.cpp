#include "net/address_policy.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

using namespace stirgate::net;

TEST_CASE("special-purpose IPv4 and IPv6 addresses are classified as not public", "[net][client]")
{
    using ac = address_class;
    const auto [literal, expected] = GENERATE(
        std::pair<std::string, ac>{"0.0.0.0", ac::unspecified},
        std::pair<std::string, ac>{"0.1.2.3", ac::unspecified},
        std::pair<std::string, ac>{"127.0.0.1", ac::loopback},
        std::pair<std::string, ac>{"127.255.255.254", ac::loopback},
        std::pair<std::string, ac>{"10.0.0.1", ac::private_use},
        std::pair<std::string, ac>{"10.255.255.255", ac::private_use},
        std::pair<std::string, ac>{"172.16.0.1", ac::private_use},
        std::pair<std::string, ac>{"172.31.255.255", ac::private_use},
        std::pair<std::string, ac>{"192.168.1.1", ac::private_use},
        std::pair<std::string, ac>{"100.64.0.1", ac::shared_cgnat},
        std::pair<std::string, ac>{"100.127.255.255", ac::shared_cgnat},
        std::pair<std::string, ac>{"169.254.169.254", ac::link_local},  // cloud metadata
        std::pair<std::string, ac>{"192.0.2.1", ac::documentation},
        std::pair<std::string, ac>{"198.51.100.7", ac::documentation},
        std::pair<std::string, ac>{"203.0.113.9", ac::documentation},
        std::pair<std::string, ac>{"224.0.0.1", ac::multicast},
        std::pair<std::string, ac>{"239.255.255.250", ac::multicast},
        std::pair<std::string, ac>{"192.0.0.8", ac::reserved},
        std::pair<std::string, ac>{"198.18.0.1", ac::reserved},
        std::pair<std::string, ac>{"198.19.255.255", ac::reserved},
        std::pair<std::string, ac>{"192.88.99.1", ac::reserved},
        std::pair<std::string, ac>{"240.0.0.1", ac::reserved},
        std::pair<std::string, ac>{"255.255.255.255", ac::reserved},
        std::pair<std::string, ac>{"::", ac::unspecified},
        std::pair<std::string, ac>{"::1", ac::loopback},
        std::pair<std::string, ac>{"::ffff:127.0.0.1", ac::loopback},
        std::pair<std::string, ac>{"::ffff:7f00:1", ac::loopback},
        std::pair<std::string, ac>{"::ffff:10.1.2.3", ac::private_use},
        std::pair<std::string, ac>{"::ffff:169.254.169.254", ac::link_local},
        std::pair<std::string, ac>{"::ffff:0.0.0.0", ac::unspecified},
        std::pair<std::string, ac>{"::127.0.0.1", ac::reserved},        // IPv4-compatible
        std::pair<std::string, ac>{"64:ff9b::a00:1", ac::private_use},  // NAT64 of 10.0.0.1
        std::pair<std::string, ac>{"64:ff9b::7f00:1", ac::loopback},
        std::pair<std::string, ac>{"64:ff9b:1::1", ac::private_use},
        std::pair<std::string, ac>{"2002:7f00:1::1", ac::loopback},  // 6to4 of 127.0.0.1
        std::pair<std::string, ac>{"2002:c0a8:101::1", ac::private_use},
        std::pair<std::string, ac>{"100::1", ac::reserved},
        std::pair<std::string, ac>{"2001::1", ac::reserved},  // Teredo
        std::pair<std::string, ac>{"2001:db8::1", ac::documentation},
        std::pair<std::string, ac>{"3fff::1", ac::documentation},
        std::pair<std::string, ac>{"fc00::1", ac::unique_local},
        std::pair<std::string, ac>{"fd12:3456:789a::1", ac::unique_local},
        std::pair<std::string, ac>{"fec0::1", ac::unique_local},
        std::pair<std::string, ac>{"fe80::1", ac::link_local},
        std::pair<std::string, ac>{"febf:ffff::1", ac::link_local},
        std::pair<std::string, ac>{"ff02::1", ac::multicast},
        std::pair<std::string, ac>{"ff0e::1", ac::multicast},
        std::pair<std::string, ac>{"4000::1", ac::reserved},  // outside 2000::/3
        std::pair<std::string, ac>{"1::1", ac::reserved});
    INFO("address: " << literal);
    const auto got = classify_address(literal);
    REQUIRE(got);
    CHECK(address_class_name(*got) == std::string(address_class_name(expected)));
    CHECK_FALSE(is_public(*got));
}

TEST_CASE("public IPv4 and IPv6 addresses, including range edges, are public", "[net][client]")
{
    const std::string literal =
        GENERATE(as<std::string>{}, "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0",
                 "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255",
                 "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.0",
                 "192.0.1.255", "192.0.3.0", "198.17.255.255", "198.20.0.0", "223.255.255.255",
                 "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2001:4860:4860::8888",
                 "2606:4700::1111", "2001:200::1", "3ffe:ffff::1");
    INFO("address: " << literal);
    const auto got = classify_address(literal);
    REQUIRE(got);
    CHECK(address_class_name(*got) == std::string("public_unicast"));
}

TEST_CASE("only plain IP literals are classified", "[net][client]")
{
    const std::string literal =
        GENERATE(as<std::string>{}, "", "localhost", "0x7f.1", "127.1", "2130706433", "010.0.0.1",
                 "[::1]", "fe80::1%eth0", "1.2.3.4/8");
    INFO("text: " << literal);
    CHECK_FALSE(classify_address(literal));
}

TEST_CASE("cloud metadata addresses are refused even when private addresses are allowed, unless "
          "listed explicitly",
          "[net][client]")
{
    const auto listed = parse_cidr("169.254.169.254/32");
    REQUIRE(listed);
    const std::vector<cidr_block> allowed{*listed};
    const address_rules strict{};
    const address_rules relaxed{true, {}};
    const address_rules relaxed_listed{true, allowed};

    for (const std::string metadata :
         {"169.254.169.254", "169.254.0.1", "100.100.100.200", "fd00:ec2::254", "fe80::1",
          "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1"}) {
        INFO(metadata);
        const auto why = address_refusal(metadata, relaxed);
        REQUIRE(why);
        CHECK(*why == "address " + metadata + " is a cloud metadata address");
        CHECK(address_refusal(metadata, strict));
    }
    CHECK_FALSE(address_refusal("169.254.169.254", relaxed_listed));
    CHECK_FALSE(address_refusal("::ffff:169.254.169.254", relaxed_listed));  // mapped matches v4
    CHECK(address_refusal("169.254.169.253", relaxed_listed));  // only what is listed

    // Everything else special: refused unless private addresses are allowed.
    CHECK(address_refusal("127.0.0.1", strict) == std::optional<std::string>("address 127.0.0.1 is loopback"));
    CHECK(address_refusal("10.1.2.3", strict) == std::optional<std::string>("address 10.1.2.3 is private_use"));
    CHECK(address_refusal("fd12::1", strict));
    CHECK_FALSE(address_refusal("127.0.0.1", relaxed));
    CHECK_FALSE(address_refusal("10.1.2.3", relaxed));
    CHECK_FALSE(address_refusal("100.64.0.1", relaxed));  // CGNAT, but not Alibaba's metadata
    // Public addresses pass; what is not an IP literal is not judged here.
    CHECK_FALSE(address_refusal("8.8.8.8", strict));
    CHECK_FALSE(address_refusal("2606:4700::1111", strict));
    CHECK_FALSE(address_refusal("app.example.com", strict));
}
