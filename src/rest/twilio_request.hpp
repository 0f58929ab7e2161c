#pragma once
// The request toolkit every handler under /2010-04-01/ and every Twilio-signed webhook shares:
// Twilio's error body, Basic auth against the path's AccountSid, the form-body rules, the
// parameter grammars (Method, URLs, phone numbers) and the mapping of store failures
// (rest/async_calls.hpp is the store's side). One copy, so the Calls API, Conference
// Participants and the webhooks answer the same input the same way.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/accounts.hpp"
#include "core/error.hpp"
#include "core/form.hpp"
#include "core/tn.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"

namespace stirgate::rest {

class auth_guard;  // rest/auth_guard.hpp

// Twilio's error body. `message` replaces the table's fixed text where one errc serves several
// parameters (21205 for Url, FallbackUrl and StatusCallback); it never carries request data.
net::http_response twilio_fail(net::request_context& ctx, const error& e,
                               std::string_view message = {});

// Basic auth from the request's one Authorization header. Two or more are refused
// (errc::bad_request): a proxy in front may read another one than we do, so neither is chosen.
// With a `guard` (the gateway always has one) failures are limited: errc::rate_limited, with
// ctx.retry_after, for a client past them (rest/auth_guard.hpp). Shared by the ATIS API.
result<core::account_ptr> authenticate(const core::account_directory& accounts,
                                       auth_guard* guard, net::request_context& ctx);

// authenticate(), then the path's AccountSid must be the authenticated account (403 20003
// otherwise: stirgate has no subaccounts).
result<core::account_ptr> authorize(const core::account_directory& accounts, auth_guard* guard,
                                    net::request_context& ctx);

// POST bodies are application/x-www-form-urlencoded (TWILIO-API.md section 1). A bodiless POST
// without a Content-Type (curl -X POST) is an empty form.
result<void> check_form_body(const net::http_request& req);

// A form value, with "" treated as absent (helper libraries send every parameter they were
// given; an empty one means "not set").
std::optional<std::string> value_of(const core::form_params& form, std::string_view name);

// A parameter's validation failure: the error and, where one errc covers several parameters,
// the message twilio_fail shows.
struct param_error {
    error e;
    std::string message;
};

// 400 20001 naming the parameter, with `message` shown (a value outside Twilio's grammar, or a
// parameter this gateway does not support).
param_error refuse_parameter(std::string_view name, std::string message);

// Twilio's parameters are single-valued (StatusCallbackEvent aside): each of `names` given more
// than once is refused with invalid_parameter and `message` set to "<Name> may be given only
// once", rather than one value winning silently. The form parser keeps every value in order.
std::optional<param_error> find_repeated(const core::form_params& form,
                                         std::initializer_list<std::string_view> names);

// Twilio accepts GET/POST in any case; stored upper-case. Absent means POST.
result<std::string> parse_method(const std::optional<std::string>& v);

// The policy customer URLs are held to when no other is given: http or https, public addresses.
net::http_client_policy default_customer_url_policy();

// Url, FallbackUrl, StatusCallback: absolute http(s) URLs in net::parse_url's strict grammar
// (which also refuses underscores in host names, as Twilio does for StatusCallback) that the
// outbound policy allows (net::check_destination: no loopback, private or metadata address
// literal unless the operator allowed it). Absent is fine. Refused: url_invalid (21205), the
// message "<name> is not a valid URL: <why>".
std::optional<param_error> check_url(std::string_view name, const std::optional<std::string>& v,
                                     const net::http_client_policy& policy);

// A list parameter's values as Twilio takes them: the parameter repeated, and (older clients)
// space-separated values in one; empty values skipped.
std::vector<std::string> list_values(const core::form_params& form, std::string_view name);

// Twilio's list paging parameters: PageSize 1..1000 (default `default_page_size`), Page
// 0..max_page, PageToken as given ("" when absent). 20001 naming the parameter otherwise.
struct paging {
    std::size_t page_size = 50;
    std::size_t page = 0;
    std::string page_token;
};
std::variant<paging, param_error> parse_paging(const core::form_params& query,
                                               std::size_t default_page_size,
                                               std::int64_t max_page);

// parse_paging for the keyset lists (Calls, Conferences, Participants), which reach a page by
// its token, not by number: Page above 0 without a PageToken names nothing and is refused
// (20001 naming Page).
std::variant<paging, param_error> parse_keyset_paging(const core::form_params& query,
                                                      std::size_t default_page_size);
// The answer to a keyset list the store refused: a PageToken that is not the account's
// (invalid_parameter) is 400 "PageToken is not valid"; anything else store_failure's.
net::http_response list_page_failure(net::request_context& ctx, error e);

// Twilio's booleans: "true" or "false" in any case; none otherwise.
std::optional<bool> parse_boolean(std::string_view value);

// A 200 (or `status`) answer with a JSON body.
net::http_response json_reply(const net::request_context& ctx, std::string body,
                              boost::beast::http::status status = boost::beast::http::status::ok);

// Twiml: inline TwiML, at most 4000 characters (TWILIO-API.md section 3.1). Absent is fine.
inline constexpr std::size_t max_twiml_chars = 4000;
std::optional<param_error> check_twiml(const std::optional<std::string>& v);

// An E.164 number plausible enough to dial or show as caller ID: NANP (+1) numbers are
// 1 + NPA + NXX + XXXX with NPA and NXX starting 2-9, and no other country has global numbers
// under 7 digits.
result<core::e164_number> parse_phone_number(std::string_view text);

// Any store failure other than "unavailable" (503, retry) is a bug of ours, not the client's.
error store_failure(error e);

}  // namespace stirgate::rest
