#include "webhooks/edge_request.hpp"

#include <algorithm>

#include "core/public_url.hpp"
#include "core/twilio_signature.hpp"

namespace stirgate::webhooks {
namespace http = boost::beast::http;

std::string signed_url(const edge_trust& trust, const net::request_context& ctx)
{
    const std::string peer = ctx.remote.address().to_string();
    const bool trusted_peer =
        std::any_of(trust.trusted_proxies.begin(), trust.trusted_proxies.end(),
                    [&peer](const net::cidr_block& block) { return block.contains(peer); });
    const auto& req = ctx.request;
    return core::signed_request_url(core::public_url_inputs{
        trust.public_url, req.target(), trusted_peer, req["X-Forwarded-Proto"],
        req["X-Forwarded-Host"], req[http::field::host]});
}

result<core::form_params> authenticate_edge_request(const edge_trust& trust,
                                                    const net::request_context& ctx)
{
    if (trust.auth_token.empty())
        return error{errc::signature_invalid, "no [edge] auth_token configured"};
    auto form = core::parse_form(ctx.request.body());
    if (!form) return std::move(form).err();
    if (auto ok = core::check_twilio_signature(trust.auth_token, signed_url(trust, ctx), *form,
                                               ctx.request["X-Twilio-Signature"]);
        !ok)
        return std::move(ok).err();
    return form;
}

}  // namespace stirgate::webhooks
