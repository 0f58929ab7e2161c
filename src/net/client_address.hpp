#pragma once
// The address a request comes from, for per-client limits: the TCP peer, or behind trusted
// proxies ([server] trusted_proxies) the client the proxies name in X-Forwarded-For. No sockets.

#include <span>
#include <string>
#include <string_view>

#include "net/cidr.hpp"

namespace stirgate::net {

// `peer` is the TCP peer's IP literal; `forwarded_for` is every X-Forwarded-For value of the
// request joined with ',' in header order ("" = none). When the peer is not a trusted proxy the
// header is ignored (anyone can send it). Otherwise the entries are read from the right, each
// appended by the hop to its right, and the first one that is not a trusted proxy is the client:
// entries further left were written by the client itself and may be forged. Stops at an entry
// that is not an IP literal (the hop to its right is then the client), and gives the leftmost
// entry when every one is a trusted proxy.
std::string client_address(std::string_view peer, std::string_view forwarded_for,
                           std::span<const cidr_block> trusted_proxies);

}  // namespace stirgate::net
