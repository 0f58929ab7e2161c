#pragma once
// The URL a webhook sender signed (spec/TWILIO-API.md section 8: the signature covers the full
// URL as the sender requested it). Behind a TLS-terminating load balancer the gateway sees
// neither the public scheme nor, always, the public host, so it is rebuilt (DESIGN.md "Inbound
// call"): from the configured public base URL when there is one, else from X-Forwarded-Proto /
// X-Forwarded-Host when the TCP peer is a trusted proxy (anyone else could forge them and make
// a signature for another URL count), else http:// + Host.

#include <string>
#include <string_view>

namespace stirgate::core {

struct public_url_inputs {
    std::string_view configured_base;  // [server] public_url, e.g. https://gw.example.com; "" = none
    std::string_view target;           // request target as received: path and query
    bool peer_is_trusted_proxy = false;  // TCP peer inside [server] trusted_proxies
    std::string_view forwarded_proto;  // X-Forwarded-Proto ("" = absent)
    std::string_view forwarded_host;   // X-Forwarded-Host ("" = absent)
    std::string_view host;             // Host
};

// Scheme + authority + target. A trailing '/' of configured_base is dropped so the target's
// leading '/' is not doubled. Forwarded headers may hold comma-separated lists (one entry per
// proxy hop); the first entry is what the client used. A forwarded proto other than http or
// https is ignored (http is assumed).
std::string signed_request_url(const public_url_inputs& in);

}  // namespace stirgate::core
