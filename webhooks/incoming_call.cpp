#include "webhooks/incoming_call.hpp"

#include "webhooks/edge_request.hpp"
#include "webhooks/incoming_call_builders.hpp"

#include <array>
#include <memory>
#include <optional>

#include "rest/async_calls.hpp"
#include "rest/twilio_request.hpp"
#include "core/calltoken.hpp"
#include "core/dates.hpp"
#include "core/error_table.hpp"
#include "core/form.hpp"
#include "core/sid.hpp"
#include "core/tn.hpp"
#include "core/twilio_signature.hpp"

namespace stirgate::webhooks {
namespace http = boost::beast::http;

namespace {

using deps_ptr = std::shared_ptr<const incoming_call_dependencies>;

const core::number_config* number_of(const core::account_config& account,
                                    const core::e164_number& to)
{
    for (const auto& n : account.numbers) {
        auto parsed = core::e164_number::parse(n.number);
        if (parsed && parsed->digits() == to.digits()) return &n;
    }
    return nullptr;
}

bool is_2xx(unsigned status) { return status >= 200 && status < 300; }

// One delivery attempt to an application URL: the form signed with the account's token.
net::awaitable<result<net::http_reply>> post_to_app(const incoming_call_dependencies& deps,
                                                    const std::string& url,
                                                    const std::string& auth_token,
                                                    const core::form_params& params)
{
    if (url.empty()) co_return error{errc::upstream_refused, "no URL configured"};
    net::http_request_spec spec;
    spec.method = http::verb::post;
    spec.url = url;
    spec.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    spec.headers.emplace_back("X-Twilio-Signature",
                              core::twilio_signature(auth_token, url, params));
    spec.body = core::format_form(params);
    auto reply = co_await deps.app_client.request(std::move(spec));
    if (!reply) co_return reply;
    if (!is_2xx(reply->status))
        co_return error{errc::upstream_bad_response,
                        url + ": HTTP " + std::to_string(reply->status)};
    co_return reply;
}

net::awaitable<net::http_response> incoming_call(deps_ptr deps, net::request_context& ctx)
{
    // 1. The edge's signature, over the URL it signed. No token configured: nothing is trusted.
    auto form = authenticate_edge_request(
        edge_trust{deps->edge_auth_token, deps->public_url, deps->trusted_proxies}, ctx);
    if (!form) co_return ctx.fail(form.err());

    // 2. The call, and the account that owns its To.
    auto request = read_inbound_request(*form);
    if (!request) co_return ctx.fail(request.err());
    if (request->call_sid.empty()) request->call_sid = core::new_call_sid(deps->random);
    ctx.call_sid = request->call_sid;  // the request's log line names the call
    const core::account_ptr account = deps->account_for_number
                                         ? deps->account_for_number(request->to_number.e164())
                                         : nullptr;
    const core::number_config* number = account ? number_of(*account, request->to_number) : nullptr;
    if (!number) co_return ctx.fail(error{errc::not_found, "no account owns To"});

    const rest::async_calls calls{deps->calls};
    auto existing = co_await calls.find(request->call_sid);
    if (!existing) co_return ctx.fail(rest::store_failure(existing.err()));
    if (*existing && (*existing)->account_sid != account->sid)
        co_return ctx.fail(error{errc::conflict, "CallSid belongs to another account"});

    // 3. STI-VS over every Identity value (none: Twilio sends no STIR fields).
    stir_fields verified;
    if (!request->identities.empty()) {
        const core::call_context call = verification_context(*request);
        const auto outcome = co_await deps->verifier.verify(request->identities, call);
        verified = stir_fields_from(outcome, request->passthrough);
    }

    // 4. CallToken: validate an upstream platform's, else mint (once per CallSid).
    const std::int64_t now = deps->now();  // one reading: the token's iat is the call's creation
    const std::int64_t first_seen = *existing ? (*existing)->date_created : now;
    const calltoken_keys keys{deps->calltoken_key, deps->calltoken_trusted_keys};
    auto decision =
        decide_calltoken(*request, *existing, account->sid, std::move(verified), keys, first_seen);
    if (!decision) co_return ctx.fail(decision.err());

    // 5. Store the inbound call before the application hears of it.
    if (!*existing) {
        store::call_record rec =
            inbound_call_record(*request, account->sid, number->status_callback, *decision, now);
        auto stored = co_await calls.insert(std::move(rec));
        // A concurrent retry stored it first: the same call, go on.
        if (!stored && stored.err().code != errc::conflict)
            co_return ctx.fail(rest::store_failure(stored.err()));
    }

    // 6. The application's webhook (TWILIO-API.md section 4), then its fallback.
    const core::form_params out = app_webhook_form(*request, account->sid, *decision);
    auto reply = co_await post_to_app(*deps, number->voice_url, account->auth_token, out);
    if (!reply) reply = co_await post_to_app(*deps, number->voice_fallback_url,
                                             account->auth_token, out);
    if (!reply) {
        // The edge waits on us, not on the application: whatever went wrong there is a bad
        // gateway (502) for the edge, a timeout included. The call stays stored.
        error e = reply.err();
        if (e.code == errc::upstream_timeout) e.code = errc::upstream_bad_response;
        co_return ctx.fail(e);
    }

    net::http_response res{http::status::ok, ctx.request.version()};
    const auto type = reply->header("Content-Type");
    res.set(http::field::content_type, type ? std::string(*type) : std::string("text/xml"));
    res.body() = std::move(reply->body);
    co_return res;
}

}  // namespace

result<std::int64_t> parse_sip_date(std::string_view s)
{
    auto t = core::parse_sip_date(s);
    if (!t) return error{errc::invalid_parameter, "SipDate"};
    return *t;
}

void add_incoming_call_routes(net::router& routes, const incoming_call_dependencies& deps)
{
    auto shared = std::make_shared<const incoming_call_dependencies>(deps);
    routes.add(http::verb::post, "/webhooks/incoming-call", net::error_style::twilio,
               [shared](net::request_context& ctx) { return incoming_call(shared, ctx); });
}

}  // namespace stirgate::webhooks
