#pragma once
// What every request from the SIP edge goes through first (DESIGN.md "Edge interface"): the
// X-Twilio-Signature with [edge] auth_token over the URL the edge signed, rebuilt from
// [server] public_url or from X-Forwarded-* sent by a trusted proxy (core/public_url.hpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/form.hpp"
#include "net/cidr.hpp"
#include "net/router.hpp"

namespace stirgate::webhooks {

struct edge_trust {
    std::string_view auth_token;                       // [edge] auth_token; "" = trust nothing
    std::string_view public_url;                       // [server] public_url; "" = from headers
    const std::vector<net::cidr_block>& trusted_proxies;  // [server] trusted_proxies
};

// The URL the sender signed: X-Forwarded-* count only when the TCP peer is a trusted proxy,
// since anyone else could forge them and make a signature over another URL pass.
std::string signed_url(const edge_trust& trust, const net::request_context& ctx);

// The request's form once its signature checks. errc::signature_invalid when no edge token is
// configured, form errors for a body that does not parse, signature_missing/_invalid otherwise.
[[nodiscard]] result<core::form_params> authenticate_edge_request(const edge_trust& trust,
                                                                 const net::request_context& ctx);

}  // namespace stirgate::webhooks
