// Rebuilding the URL a webhook sender signed: configured base, trusted proxy headers, Host.

#include <catch2/catch.hpp>

#include "core/public_url.hpp"

using stirgate::core::public_url_inputs;
using stirgate::core::signed_request_url;

TEST_CASE("A configured public URL wins over every header", "[core][public_url]")
{
    public_url_inputs in;
    in.configured_base = "https://gw.example.com/";
    in.target = "/webhooks/incoming-call?x=1";
    in.peer_is_trusted_proxy = true;
    in.forwarded_proto = "http";
    in.forwarded_host = "evil.example";
    in.host = "10.0.0.5:8080";
    CHECK(signed_request_url(in) == "https://gw.example.com/webhooks/incoming-call?x=1");
}

TEST_CASE("Forwarded headers count only from a trusted proxy", "[core][public_url]")
{
    public_url_inputs in;
    in.target = "/webhooks/incoming-call";
    in.forwarded_proto = "https";
    in.forwarded_host = "gw.example.com";
    in.host = "10.0.0.5:8080";
    CHECK(signed_request_url(in) == "http://10.0.0.5:8080/webhooks/incoming-call");
    in.peer_is_trusted_proxy = true;
    CHECK(signed_request_url(in) == "https://gw.example.com/webhooks/incoming-call");
}

TEST_CASE("Forwarded lists use the client-side entry and unknown protocols are ignored",
          "[core][public_url]")
{
    public_url_inputs in;
    in.target = "/a";
    in.peer_is_trusted_proxy = true;
    in.forwarded_proto = " HTTPS , http";
    in.forwarded_host = "gw.example.com, lb.internal";
    in.host = "lb.internal";
    CHECK(signed_request_url(in) == "https://gw.example.com/a");
    in.forwarded_proto = "gopher";
    in.forwarded_host = "";
    CHECK(signed_request_url(in) == "http://lb.internal/a");
}
