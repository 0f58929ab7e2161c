#include "api/atis_api.hpp"

#include <cctype>
#include <memory>

#include "core/atis.hpp"
#include "core/error_table.hpp"

namespace stirgate::api {
namespace http = boost::beast::http;

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// ATIS errors name the offending member in "variables"; the parser puts that path (and only
// that) in the detail of missing/invalid parameter errors.
net::http_response atis_fail(net::request_context& ctx, const error& e)
{
    const bool names_member = e.code == errc::missing_parameter ||
                              e.code == errc::invalid_parameter;
    net::http_response res = ctx.fail(e);
    if (names_member) res.body() = render_atis_error(e, e.detail);
    if (e.code == errc::unauthorized) res.set(http::field::www_authenticate, "Basic realm=\"stirgate\"");
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
    auto account = deps->accounts.authenticate(ctx.request[http::field::authorization]);
    if (!account) co_return atis_fail(ctx, account.err());
    if (auto ok = check_json_exchange(ctx.request); !ok) co_return atis_fail(ctx, ok.err());
    if (ctx.request.body().empty()) co_return atis_fail(ctx, error{errc::body_missing});
    auto parsed = core::parse_atis_verification_request(ctx.request.body());
    if (!parsed) {
        auto res = atis_fail(ctx, parsed.err());
        echo_request_id(ctx, res);
        co_return res;
    }

    // Certificates come from the cache (fetched asynchronously on a miss), then the pure check.
    auto certificates =
        co_await deps->certificates.get_all(core::required_x5u(parsed->identities));
    const core::verification_outcome outcome =
        core::verify_call(parsed->identities, core::to_call_context(*parsed), deps->now(),
                          deps->policy, certificates);
    if (outcome.code != errc{}) ctx.failure = outcome.code;  // logged as the verdict's errc

    net::http_response res{http::status::ok, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = core::render_atis_verification_response(outcome);
    echo_request_id(ctx, res);
    co_return res;
}

}  // namespace

result<void> check_json_exchange(const net::http_request& req)
{
    const std::string type = lower(req[http::field::content_type]);
    const std::string_view media = std::string_view(type).substr(0, type.find(';'));
    if (media.find_first_not_of(' ') == std::string_view::npos)
        return error{errc::unsupported_media_type, "no Content-Type"};
    if (media.substr(0, media.find_last_not_of(' ') + 1) != "application/json")
        return error{errc::unsupported_media_type, type};
    const auto accept = req.find(http::field::accept);
    if (accept != req.end()) {
        const std::string a = lower(accept->value());
        if (a.find("json") == std::string::npos && a.find("*/*") == std::string::npos &&
            a.find("application/*") == std::string::npos)
            return error{errc::not_acceptable, a};
    }
    return {};
}

void add_atis_routes(net::router& routes, const atis_dependencies& deps)
{
    auto shared = std::make_shared<const atis_dependencies>(deps);
    auto handler = [shared](net::request_context& ctx) { return verify(shared, ctx); };
    routes.add(http::verb::post, "/stir/v1/verification", net::error_style::atis, handler);
    routes.set_error_style("/stir/", net::error_style::atis);
}

}  // namespace stirgate::api
