#include "support/handler_test.hpp"

#include "support/test_tls.hpp"

namespace stirgate::test {

namespace http = boost::beast::http;

net::request_context form_post(std::string_view target, std::string_view host,
                               const core::form_params& form,
                               const std::optional<std::string>& signature,
                               const std::string& peer,
                               const std::vector<std::pair<std::string, std::string>>& headers)
{
    net::request_context ctx;
    ctx.request = net::http_request{http::verb::post, target, 11};
    ctx.request.set(http::field::host, host);
    ctx.request.set(http::field::content_type, "application/x-www-form-urlencoded");
    if (signature) ctx.request.set("X-Twilio-Signature", *signature);
    for (const auto& [name, value] : headers) ctx.request.set(name, value);
    ctx.request.body() = core::format_form(form);
    ctx.request.prepare_payload();
    ctx.remote = boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(peer), 40000);
    return ctx;
}

net::http_response dispatch(const net::router& routes, net::request_context& ctx)
{
    boost::asio::io_context ioc;
    return run_until_done(ioc, routes.dispatch(ctx));
}

routed_reply parse_reply(net::http_response res)
{
    routed_reply out;
    out.status = res.result_int();
    out.body = res.body();
    out.json.Parse(out.body.c_str());
    out.raw = std::move(res);
    return out;
}

}  // namespace stirgate::test
