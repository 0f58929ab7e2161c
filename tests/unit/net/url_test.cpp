#include "net/url.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <tuple>

using namespace stirgate;
using namespace stirgate::net;

TEST_CASE("well-formed http(s) URLs split into scheme, host, port and target", "[net][client]")
{
    using row = std::tuple<std::string, std::string, std::string, host_kind, unsigned, std::string,
                           std::string>;
    // input, scheme, host, kind, port, target, authority (Host header)
    const auto [input, scheme, host, kind, port, target, authority] = GENERATE(
        row{"https://certs.example.com/sti.pem", "https", "certs.example.com", host_kind::name, 443,
            "/sti.pem", "certs.example.com"},
        row{"HTTPS://Certs.EXAMPLE.com:8443/a/b.pem", "https", "certs.example.com", host_kind::name,
            8443, "/a/b.pem", "certs.example.com:8443"},
        row{"http://example.com", "http", "example.com", host_kind::name, 80, "/", "example.com"},
        row{"http://example.com:80/x", "http", "example.com", host_kind::name, 80, "/x",
            "example.com"},
        row{"https://example.com?x=1", "https", "example.com", host_kind::name, 443, "/?x=1",
            "example.com"},
        row{"https://example.com/p%2Fq?a=b&c=%20/?", "https", "example.com", host_kind::name, 443,
            "/p%2Fq?a=b&c=%20/?", "example.com"},
        row{"https://192.0.2.10:8443/c", "https", "192.0.2.10", host_kind::ipv4, 8443, "/c",
            "192.0.2.10:8443"},
        row{"https://[2001:DB8::1]/c", "https", "2001:db8::1", host_kind::ipv6, 443, "/c",
            "[2001:db8::1]"},
        row{"https://[::ffff:127.0.0.1]:444/", "https", "::ffff:127.0.0.1", host_kind::ipv6, 444,
            "/", "[::ffff:127.0.0.1]:444"},
        row{"https://xn--bcher-kva.example/", "https", "xn--bcher-kva.example", host_kind::name,
            443, "/", "xn--bcher-kva.example"},
        row{"https://a-1.b2.example/", "https", "a-1.b2.example", host_kind::name, 443, "/",
            "a-1.b2.example"},
        row{"https://localhost:65535/", "https", "localhost", host_kind::name, 65535, "/",
            "localhost:65535"});
    INFO("url: " << input);
    const auto u = parse_url(input);
    REQUIRE(u);
    CHECK(u->scheme == scheme);
    CHECK(u->host == host);
    CHECK(u->kind == kind);
    CHECK(u->port == port);
    CHECK(u->target == target);
    CHECK(u->authority() == authority);
    CHECK(u->has_query == (target.find('?') != std::string::npos));
}

TEST_CASE("URLs with userinfo, fragments, odd bytes, bad hosts or bad ports are refused",
          "[net][client]")
{
    const std::string input = GENERATE(
        as<std::string>{},
        // not http(s) / not absolute
        "", "certs.example.com/sti.pem", "ftp://example.com/", "file:///etc/passwd",
        "gopher://example.com/", "https:/example.com/", "https:example.com", "//example.com/",
        "javascript:alert(1)",
        // userinfo, fragment
        "https://user@host/", "https://user:pw@example.com/", "https://example.com@evil.com/",
        "https://@example.com/", "https://host/#frag", "https://host/a#", "https://host#x",
        // whitespace, control, non-ASCII, backslash
        "https://exa mple.com/", "https://example.com/a b", " https://example.com/",
        "https://example.com/\r\nHost: evil", "https://example.com/\t", "https://ex\x7f.com/",
        "https://b\xc3\xbc"
        "cher.example/",
        "https://example.com\\@evil.com/", "https://example.com/a\\b",
        // hosts
        "https:///path", "https://:443/", "https://-bad.example/", "https://bad-.example/",
        "https://a..b/", "https://.example.com/", "https://example.com./", "https://ex_ample.com/",
        "https://ex%61mple.com/", "https://" + std::string(64, 'a') + ".example/",
        "https://" + std::string(250, 'a') + ".example/",
        // non-canonical IPv4 forms that inet_aton would read as an address
        "https://0x7f.1/", "https://0x7f000001/", "https://2130706433/", "https://127.1/",
        "https://0177.0.0.1/", "https://127.0.0.01/", "https://256.1.1.1/", "https://1.2.3.4.5/",
        "https://1.2.3/", "https://example.123/",
        // IPv6 literals
        "https://[::1/", "https://[]/", "https://[fe80::1%25eth0]/", "https://[::1]x/",
        "https://[:::1]/", "https://[v1.x]/", "https://::1/", "https://[1.2.3.4]/",
        // ports
        "https://host:0/", "https://host:/", "https://host:65536/", "https://host:0443/",
        "https://host:-1/", "https://host:44a/", "https://host:99999999/", "https://host:1:2/",
        // path and query bytes
        "https://example.com/%", "https://example.com/%4", "https://example.com/%zz",
        "https://example.com/?%G0", "https://example.com/<script>", "https://example.com/\"",
        "https://example.com/a|b", "https://example.com/{x}", "https://example.com/^",
        "https://example.com/`");
    INFO("url: " << input);
    const auto u = parse_url(input);
    REQUIRE_FALSE(u);
    CHECK(u.code() == errc::url_invalid);
}

TEST_CASE("a URL over 4096 bytes is refused", "[net][client]")
{
    CHECK(parse_url("https://example.com/" + std::string(4076, 'a')));
    CHECK(parse_url("https://example.com/" + std::string(4077, 'a')).code() == errc::url_invalid);
}
