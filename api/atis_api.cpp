#include "api/atis_api.hpp"

#include <memory>

#include "rest/twilio_request.hpp"
#include "core/atis.hpp"
#include "core/error_table.hpp"
#include "core/identity_header.hpp"
#include "core/passport.hpp"
#include "core/text.hpp"
#include "sti/signer.hpp"

namespace stirgate::api {

// The request toolkit every handler shares (src/rest).
using namespace rest;
namespace http = boost::beast::http;

namespace {

// ATIS errors name the offending member in "variables"; the parser puts that path (and only
// that) in the detail of missing/invalid parameter errors.
net::http_response atis_fail(net::request_context& ctx, const error& e)
{
    const bool names_member = e.code == errc::missing_parameter ||
                              e.code == errc::invalid_parameter;
    net::http_response res = ctx.fail(e);
    if (names_member) res.body() = render_atis_error(e, e.detail);
    return res;
}

void echo_request_id(const net::request_context& ctx, net::http_response& res)
{
    // ATIS-1000082: X-RequestID is echoed back. Bounded, so a client cannot make us reflect
    // arbitrary amounts of data.
    const auto it = ctx.request.find("X-RequestID");
    if (it != ctx.request.end() && it->value().size() <= 128) res.set("X-RequestID", it->value());
}

net::awaitable<net::http_response> verify(std::shared_ptr<const atis_dependencies> deps,
                                          net::request_context& ctx)
{
    auto account = authenticate(deps->accounts, deps->auth, ctx);
    if (!account) co_return atis_fail(ctx, account.err());
    if (auto ok = check_json_exchange(ctx.request); !ok) co_return atis_fail(ctx, ok.err());
    if (ctx.request.body().empty()) co_return atis_fail(ctx, error{errc::body_missing});
    auto parsed = core::parse_atis_verification_request(ctx.request.body());
    if (!parsed) {
        auto res = atis_fail(ctx, parsed.err());
        echo_request_id(ctx, res);
        co_return res;
    }

    core::call_context call = core::to_call_context(*parsed);
    const core::verification_outcome outcome =
        co_await deps->verifier.verify(std::move(parsed->identities), std::move(call));
    if (outcome.code != errc{}) ctx.failure = outcome.code;  // logged as the verdict's errc

    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = core::render_atis_verification_response(outcome);
    echo_request_id(ctx, res);
    co_return res;
}

// STI-AS: signs with the gateway's [signing] identity. ATIS-1000082 leaves attestation to the
// requesting SP's policy, but the credentials here are customers' own, so the gateway applies
// its policy (sti::granted_attestation, the Calls API's) and the account's origid; only a
// trusted_sbc account (the operator's own SBC) gets the attest and origid it asks for.
net::awaitable<net::http_response> sign(std::shared_ptr<const atis_dependencies> deps,
                                        net::request_context& ctx)
{
    auto account = authenticate(deps->accounts, deps->auth, ctx);
    if (!account) co_return atis_fail(ctx, account.err());
    if (!deps->signing_key)
        co_return atis_fail(ctx, error{errc::service_unavailable, "no [signing] configured"});
    if (auto ok = check_json_exchange(ctx.request); !ok) co_return atis_fail(ctx, ok.err());
    if (ctx.request.body().empty()) co_return atis_fail(ctx, error{errc::body_missing});
    auto parsed = core::parse_atis_signing_request(ctx.request.body());
    if (!parsed) {
        auto res = atis_fail(ctx, parsed.err());
        echo_request_id(ctx, res);
        co_return res;
    }
    // RFC 8224 section 6.1 step 3: never sign a time outside the freshness window, or the
    // PASSporT is stale (or a replay in waiting) when it arrives.
    const std::int64_t skew = deps->now() - parsed->claims.iat;
    if (skew > deps->verifier.policy().iat_window_s || -skew > deps->verifier.policy().iat_window_s) {
        auto res = atis_fail(ctx, error{errc::invalid_parameter, "iat"});
        echo_request_id(ctx, res);
        co_return res;
    }
    const core::account_config& acct = **account;
    // A DIV PASSporT carries neither attest nor origid (RFC 8946 section 3).
    if (parsed->ppt == core::passport_type::shaken && parsed->claims.attest) {
        parsed->claims.attest =
            sti::granted_attestation(acct, parsed->claims.orig, *parsed->claims.attest);
        if (!acct.trusted_sbc && !acct.origid.empty()) parsed->claims.origid = acct.origid;
    }
    auto jws = core::sign_passport(parsed->claims, parsed->ppt, deps->signing_x5u,
                                   deps->signing_key);
    if (!jws) co_return atis_fail(ctx, jws.err());
    if (deps->on_signed) deps->on_signed(parsed->ppt);
    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = core::render_atis_signing_response(
        core::format_identity_header(*jws, deps->signing_x5u, parsed->ppt));
    echo_request_id(ctx, res);
    co_return res;
}

}  // namespace

result<void> check_json_exchange(const net::http_request& req)
{
    // Compared case-insensitively in place; lower-cased copies only for an error's detail.
    const auto field = req[http::field::content_type];
    const std::string_view type(field.data(), field.size());
    const std::string_view media = type.substr(0, type.find(';'));
    if (media.find_first_not_of(' ') == std::string_view::npos)
        return error{errc::unsupported_media_type, "no Content-Type"};
    if (!core::iequals(media.substr(0, media.find_last_not_of(' ') + 1), "application/json"))
        return error{errc::unsupported_media_type, core::ascii_lower(type)};
    const auto accept = req.find(http::field::accept);
    if (accept != req.end()) {
        const std::string_view a(accept->value().data(), accept->value().size());
        if (!core::icontains(a, "json") && !core::icontains(a, "*/*") &&
            !core::icontains(a, "application/*"))
            return error{errc::not_acceptable, core::ascii_lower(a)};
    }
    return {};
}

void add_atis_routes(net::router& routes, const atis_dependencies& deps)
{
    auto shared = std::make_shared<const atis_dependencies>(deps);
    auto handler = [shared](net::request_context& ctx) { return verify(shared, ctx); };
    routes.add(http::verb::post, "/stir/v1/verification", net::error_style::atis, handler);
    auto sign_handler = [shared](net::request_context& ctx) { return sign(shared, ctx); };
    routes.add(http::verb::post, "/stir/v1/signing", net::error_style::atis, sign_handler);
}

}  // namespace stirgate::api
