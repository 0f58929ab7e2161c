#include "webhooks/incoming_call.hpp"

#include "webhooks/edge_request.hpp"
#include "webhooks/incoming_call_builders.hpp"

#include <array>
#include <memory>
#include <optional>

#include "rest/async_calls.hpp"
#include "rest/twilio_request.hpp"
#include "core/calltoken.hpp"
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
        verified = stir_fields_from(outcome);
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

int two_digits(std::string_view s, std::size_t at)
{
    if (at + 2 > s.size() || s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9')
        return -1;
    return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

// "Thu, 01 Jan 2026 00:00:00 GMT": RFC 3261's SIP-date is RFC 1123's rfc1123-date, always GMT.
result<std::int64_t> parse_sip_date(std::string_view s)
{
    static constexpr std::array<std::string_view, 12> months = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const error bad{errc::invalid_parameter, "SipDate"};
    if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || s.substr(25) != " GMT")
        return bad;
    const int day = two_digits(s, 5);
    unsigned month = 0;
    for (unsigned i = 0; i < months.size(); ++i)
        if (s.substr(8, 3) == months[i]) month = i + 1;
    const int yh = two_digits(s, 12), yl = two_digits(s, 14);
    const int hh = two_digits(s, 17), mm = two_digits(s, 20), ss = two_digits(s, 23);
    if (day < 1 || day > 31 || month == 0 || yh < 0 || yl < 0 || hh < 0 || hh > 23 || mm < 0 ||
        mm > 59 || ss < 0 || ss > 60)
        return bad;
    const std::int64_t days =
        days_from_civil(yh * 100 + yl, month, static_cast<unsigned>(day));
    return days * 86400 + hh * 3600 + mm * 60 + ss;
}

void add_incoming_call_routes(net::router& routes, const incoming_call_dependencies& deps)
{
    auto shared = std::make_shared<const incoming_call_dependencies>(deps);
    routes.add(http::verb::post, "/webhooks/incoming-call", net::error_style::twilio,
               [shared](net::request_context& ctx) { return incoming_call(shared, ctx); });
}

}  // namespace stirgate::webhooks
