#pragma once
// Request framing checks that Beast's parser leaves to us (RFC 9112 section 6).
//
// Beast rejects Content-Length together with Transfer-Encoding and differing Content-Lengths, but
// a Transfer-Encoding whose last coding is not "chunked" ("chunked, identity", "identity", "gzip",
// a quoted or misspelt "chunked") it silently treats as "no body": the bytes that follow become
// the next request. A proxy in front that frames the same bytes differently would then let a
// second request through unseen (request smuggling). RFC 9112 section 6.3 says such a request
// must get 400 and the connection closed; since chunked is the only coding stirgate accepts, any
// Transfer-Encoding other than exactly one "chunked" on HTTP/1.1 is refused.

#include "net/net.hpp"

#include <cstddef>
#include <string_view>

#include "net/router.hpp"

namespace stirgate::net {

inline bool acceptable_transfer_encoding(const http_request& header)
{
    namespace http = boost::beast::http;
    std::size_t fields = 0;
    std::string_view value;
    for (const auto& f : header) {
        if (f.name() != http::field::transfer_encoding) continue;
        ++fields;
        value = f.value();
    }
    if (fields == 0) return true;
    // Two fields are one comma-joined list to a proxy; HTTP/1.0 has no Transfer-Encoding at all.
    if (fields > 1 || header.version() < 11) return false;
    const auto ows = [](char c) { return c == ' ' || c == '\t'; };
    while (!value.empty() && ows(value.front())) value.remove_prefix(1);
    while (!value.empty() && ows(value.back())) value.remove_suffix(1);
    return boost::beast::iequals(value, "chunked");
}

}  // namespace stirgate::net
