#include "rest/twilio_request.hpp"

#include "rest/auth_guard.hpp"
#include "core/error_table.hpp"
#include "core/text.hpp"
#include "net/url.hpp"
#include "store/store.hpp"

namespace stirgate::rest {
namespace http = boost::beast::http;

net::http_response twilio_fail(net::request_context& ctx, const error& e, std::string_view message)
{
    net::http_response res = ctx.fail(e);
    if (!message.empty()) res.body() = render_twilio_error(e, message);
    return res;
}

result<core::account_ptr> authenticate(const core::account_directory& accounts,
                                       auth_guard* guard, net::request_context& ctx)
{
    if (ctx.request.count(http::field::authorization) > 1)
        return error{errc::bad_request, "more than one Authorization header"};
    const auto field = ctx.request[http::field::authorization];
    const std::string_view authorization(field.data(), field.size());
    if (guard) return guard->authenticate(accounts, authorization, ctx);
    return accounts.authenticate(authorization);
}

result<core::account_ptr> authorize(const core::account_directory& accounts, auth_guard* guard,
                                    net::request_context& ctx)
{
    auto account = authenticate(accounts, guard, ctx);
    if (!account) return account;
    if (ctx.param("AccountSid") != (*account)->sid)
        return error{errc::forbidden, "path AccountSid is not the authenticated account"};
    return account;
}

result<void> check_form_body(const net::http_request& req)
{
    const auto it = req.find(http::field::content_type);
    if (it == req.end()) {
        if (req.body().empty()) return {};
        return error{errc::unsupported_media_type, "no Content-Type"};
    }
    const std::string type = core::ascii_lower(it->value());
    const std::string_view media =
        core::trim(std::string_view(type).substr(0, type.find(';')), " ");
    if (media != "application/x-www-form-urlencoded")
        return error{errc::unsupported_media_type, type};
    return {};
}

std::optional<param_error> find_repeated(const core::form_params& form,
                                         std::initializer_list<std::string_view> names)
{
    for (const std::string_view name : names) {
        std::size_t seen = 0;
        for (const auto& p : form) seen += p.name == name ? 1 : 0;
        if (seen > 1)
            return param_error{{errc::invalid_parameter, std::string(name) + " repeated"},
                                      std::string(name) + " may be given only once"};
    }
    return std::nullopt;
}

std::optional<std::string> value_of(const core::form_params& form, std::string_view name)
{
    auto v = form.get(name);
    if (v && v->empty()) return std::nullopt;
    return v;
}

result<std::string> parse_method(const std::optional<std::string>& v)
{
    if (!v) return std::string("POST");
    std::string m = core::ascii_upper(*v);
    if (m != "GET" && m != "POST") return error{errc::method_invalid, m};
    return m;
}

net::http_client_policy default_customer_url_policy()
{
    net::http_client_policy p;
    p.allowed_schemes = {"http", "https"};
    return p;
}

std::optional<param_error> check_url(std::string_view name, const std::optional<std::string>& v,
                                     const net::http_client_policy& policy)
{
    if (!v) return std::nullopt;
    auto ok = net::check_destination(*v, policy);
    if (ok) return std::nullopt;
    return param_error{ok.err(), std::string(name) + " is not a valid URL: " + ok.err().detail};
}

// e164_number accepts any 1..15 digits (ITU-T E.164 section 6); "+1415555", Twilio's own
// example of an invalid To, is refused here by the NANP shape.
result<core::e164_number> parse_phone_number(std::string_view text)
{
    auto n = core::e164_number::parse(text);
    if (!n) return n;
    const std::string& d = n->digits();
    if (d.size() < 7) return error{errc::tn_invalid, "too short"};
    if (d[0] == '1' && (d.size() != 11 || d[1] < '2' || d[4] < '2'))
        return error{errc::tn_invalid, "not a NANP number"};
    return n;
}

error store_failure(error e)
{
    if (e.code == errc::store_unavailable) return e;
    return error{errc::internal, "store: " + std::string(errc_name(e.code)) + ": " + e.detail};
}

std::optional<param_error> check_twiml(const std::optional<std::string>& v)
{
    if (!v || v->size() <= max_twiml_chars) return std::nullopt;
    return param_error{{errc::invalid_parameter, "Twiml too long"},
                       "Twiml must be at most 4000 characters"};
}

std::vector<std::string> list_values(const core::form_params& form, std::string_view name)
{
    std::vector<std::string> out;
    for (const auto& value : form.all(name)) {
        std::string_view rest = value;
        while (!rest.empty()) {
            const auto space = rest.find(' ');
            const std::string_view one = rest.substr(0, space);
            rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
            if (!one.empty()) out.emplace_back(one);
        }
    }
    return out;
}

net::http_response json_reply(const net::request_context& ctx, std::string body,
                              http::status status)
{
    net::http_response res{status, ctx.request.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    return res;
}

std::variant<paging, param_error> parse_paging(const core::form_params& query,
                                               std::size_t default_page_size,
                                               std::int64_t max_page)
{
    paging p;
    p.page_size = default_page_size;
    if (auto size = value_of(query, "PageSize")) {
        const auto n = core::parse_decimal(*size, static_cast<std::int64_t>(store::max_page_size));
        if (!n || *n < 1)
            return param_error{{errc::invalid_parameter, "PageSize"},
                               "PageSize must be an integer between 1 and 1000"};
        p.page_size = static_cast<std::size_t>(*n);
    }
    if (auto page = value_of(query, "Page")) {
        const auto n = core::parse_decimal(*page, max_page);
        if (!n)
            return param_error{{errc::invalid_parameter, "Page"},
                               "Page must be a non-negative integer"};
        p.page = static_cast<std::size_t>(*n);
    }
    p.page_token = value_of(query, "PageToken").value_or("");
    return p;
}

std::variant<paging, param_error> parse_keyset_paging(const core::form_params& query,
                                                      std::size_t default_page_size)
{
    auto paged = parse_paging(query, default_page_size, 1'000'000'000);
    if (auto* at = std::get_if<paging>(&paged); at && at->page > 0 && at->page_token.empty())
        return param_error{{errc::invalid_parameter, "Page"},
                           "Page greater than 0 needs the PageToken of that page: follow "
                           "next_page_uri or previous_page_uri"};
    return paged;
}

net::http_response list_page_failure(net::request_context& ctx, error e)
{
    if (e.code == errc::invalid_parameter)  // a PageToken that is not ours
        return twilio_fail(ctx, e, "PageToken is not valid");
    return twilio_fail(ctx, store_failure(std::move(e)));
}

param_error refuse_parameter(std::string_view name, std::string message)
{
    return param_error{{errc::invalid_parameter, std::string(name)}, std::move(message)};
}

std::optional<bool> parse_boolean(std::string_view value)
{
    if (core::iequals(value, "true")) return true;
    if (core::iequals(value, "false")) return false;
    return std::nullopt;
}

}  // namespace stirgate::rest
