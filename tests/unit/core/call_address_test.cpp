#include "core/call_address.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace stirgate;
using namespace stirgate::core;

TEST_CASE("a phone number To goes to the phone parser and is kept in E.164", "[core][address]")
{
    const auto n = parse_call_address("+1 (415) 555-0101");
    REQUIRE(n);
    CHECK(n->kind() == address_kind::phone);
    CHECK(n->is_phone());
    CHECK(n->text() == "+14155550101");
    CHECK(n->number().digits() == "14155550101");
    const auto bad = parse_call_address("+1415555x");
    REQUIRE_FALSE(bad);
    CHECK(bad.code() == errc::tn_invalid);

    // The caller's own phone rules decide.
    const phone_parser refuse_all = [](std::string_view) -> result<e164_number> {
        return error{errc::tn_invalid, "not plausible"};
    };
    CHECK(parse_call_address("+14155550101", refuse_all).code() == errc::tn_invalid);
    CHECK(parse_call_address("sip:alice@example.test", refuse_all));
}

TEST_CASE("SIP addresses Twilio documents are accepted and kept as given", "[core][address]")
{
    const std::vector<std::string> good{
        "sip:alice@example.test",
        "sip:michael@example.com?mycustomheader=foo&myotherheader=bar",
        "sip:jack@example.com;transport=tcp",
        "sip:jack@example.com;secure=true",
        "sip:alice@example.com;region=ie1",
        "sip:alice@example.test:5061;transport=tls?X-Tag=a%20b",
        "sip:+14155550101@carrier.example.test;user=phone",
        "sip:alice.o'neil_(home)@203.0.113.7",
        "sip:alice@[2001:db8::1]:5060",
        "sip:alice@[::ffff:192.0.2.1]",
        "sip:a%40b@example.test",
        "sip:alice@example.test?Subject=caf%C3%A9%20time",
        "SIP:Alice@Example.Test",
        "sip:alice@example.test;lr",
        "sip:alice@example.test?X-Path=/a/b:c",
        "sip:" + std::string(238, 'u') + "@example.test",      // 255 characters
        "sip:alice@example.test?X=" + std::string(1022, 'h'),  // 1024 after '?'
    };
    for (const auto& s : good) {
        INFO(s);
        const auto a = parse_call_address(s);
        INFO((a ? std::string() : a.err().detail));
        REQUIRE(a);
        CHECK(a->kind() == address_kind::sip);
        CHECK_FALSE(a->is_phone());
        CHECK(a->text() == s);
    }
}

TEST_CASE("hostile and malformed SIP addresses are refused with the fault named", "[core][address]")
{
    const std::vector<std::pair<std::string, std::string>> bad{
        {"sip:", "without user@host"},
        {"sip:example.test", "without user@host"},
        {"sip:@example.test", "empty user part"},
        {"sip:a@b@example.test", "more than one '@'"},
        {"sip:alice:secret@example.test", "password"},
        {"sip:alice@", "host"},
        {"sip:alice@exa_mple.test", "host"},
        {"sip:alice@-example.test", "host"},
        {"sip:alice@example..test", "host"},
        {"sip:alice@example.test.", "host"},
        {"sip:alice@127.1", "host"},
        {"sip:alice@0x7f.0.0.1", "host"},
        {"sip:alice@256.0.0.1", "host"},
        {"sip:alice@010.0.0.1", "host"},
        {"sip:alice@" + std::string(64, 'a') + ".test", "host"},
        {"sip:alice@[2001:db8::1", "unterminated"},
        {"sip:alice@[fe80::1%25eth0]", "IPv6"},
        {"sip:alice@[::1]x", "junk"},
        {"sip:alice@[2001:db8:::1]", "IPv6"},
        {"sip:alice@example.test:", "port"},
        {"sip:alice@example.test:0", "port"},
        {"sip:alice@example.test:65536", "port"},
        {"sip:alice@example.test:050", "port"},
        {"sip:alice@example.test:5060:1", "port"},
        {"sip:alice@example.test;", "parameter"},
        {"sip:alice@example.test;=x", "parameter"},
        {"sip:alice@example.test;a=b\"c", "parameters"},
        {"sip:alice@example.test?", "header"},
        {"sip:alice@example.test?X", "header"},
        {"sip:alice@example.test?=v", "header"},
        {"sip:alice@example.test?X=<b>", "headers"},
        {"sip:alice@example.test?X=a%0D%0AVia:%20evil", "escaped"},
        {"sip:alice@example.test?X=a%00", "escaped"},
        {"sip:alice@example.test?X=a%7f", "escaped"},
        {"sip:alice@example.test?X=a%zz", "escape"},
        {"sip:alice@example.test?X=a%2", "escape"},
        {"sip:al ice@example.test", "space"},
        {"sip:alice@example.test\r\nVia: x", "control"},
        {"sip:alice@example.test\t", "control"},
        {"sip:al\xC3\xA9@example.test", "non-ASCII"},
        {std::string("sip:alice\0@example.test", 23), "control"},
        {"sip:al;ice@example.test", "user part"},
        {"sip:al?ice@example.test", "without user@host"},
        {"sip:al<ice@example.test", "user part"},
        {"sip:" + std::string(239, 'u') + "@example.test", "longer than 255"},
        {"sip:alice@example.test?X=" + std::string(1023, 'h'), "longer than 1024"},
        {"sips:alice@example.test", "sips:"},
        {"sim:DE8caa2afb9d5279926619c458dc7098a8", "sim:"},
    };
    for (const auto& [input, fault] : bad) {
        INFO(input);
        const auto a = parse_call_address(input);
        REQUIRE_FALSE(a);
        CHECK(a.code() == errc::invalid_parameter);
        CHECK(a.err().detail.find(fault) != std::string::npos);
        // The detail names the fault, never the input (it may reach a client's message).
        CHECK(a.err().detail.find("example") == std::string::npos);
    }
}

TEST_CASE("client identifiers follow Twilio's client-name rule", "[core][address]")
{
    for (const std::string s : {"client:alice", "client:Alice_Smith-2", "client:bob@example.test",
                                "Client:x", "client:a.b+c=d&e"}) {
        INFO(s);
        const auto a = parse_call_address(s);
        REQUIRE(a);
        CHECK(a->kind() == address_kind::client);
        CHECK(a->text() == s);
    }
    CHECK(parse_call_address("client:" + std::string(256, 'a')));
    const std::vector<std::string> bad{
        "client:",          "client:" + std::string(257, 'a'),
        "client:al ice",    "client:alice\n",
        "client:al\x01ice", "client:al\xC3\xA9",
        "client:<alice>",   "client:a#b",
        "client:a%20b",     "client:a\"b",
        "client:{a}",       "client:a|b",
        "client:a\\b",      "client:a^b",
        "client:[a]",       "client:a`b",
    };
    for (const auto& s : bad) {
        INFO(s);
        const auto a = parse_call_address(s);
        REQUIRE_FALSE(a);
        CHECK(a.code() == errc::invalid_parameter);
        CHECK(a.err().detail.find("client identifier") != std::string::npos);
    }
}

TEST_CASE("CallerId and SIP credentials are checked for length and characters", "[core][address]")
{
    for (const std::string s :
         {"+14155550101", "Support_Line-1.0", "client:alice", "sip:support@example.test"})
        CHECK(check_caller_id(s));
    CHECK(check_caller_id(std::string(255, 'c')));
    for (const std::string s :
         {"", "two words", "a;b", "name<x>", "client:", "sip:nobody", "\r\n"}) {
        INFO(s);
        CHECK(check_caller_id(s).code() == errc::invalid_parameter);
    }
    CHECK_FALSE(check_caller_id(std::string(256, 'c')));

    for (const std::string& s :
         {std::string("alice"), std::string("p@ss:w0rd!&="), std::string(255, 'p')})
        CHECK(check_sip_credential(s));
    for (const std::string& s :
         {std::string(), std::string(256, 'p'), std::string("pa ss"), std::string("pa\"ss"),
          std::string("pa\\ss"), std::string("pa\nss"), std::string("p\xC3\xA4ss")}) {
        const auto r = check_sip_credential(s);
        REQUIRE_FALSE(r);
        CHECK(r.code() == errc::invalid_parameter);
        if (!s.empty()) CHECK(r.err().detail.find(s) == std::string::npos);
    }
}
