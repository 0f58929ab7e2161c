#include "core/twilio_signature.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "core/crypto.hpp"

namespace stirgate::core {
namespace {

// The same URL with the default port added or removed; nullopt when the URL has a port that is
// not the scheme's default, or a scheme other than http(s).
std::optional<std::string> default_port_twin(std::string_view url)
{
    std::string_view default_port;
    std::size_t authority_start = 0;
    if (url.starts_with("https://")) {
        default_port = "443";
        authority_start = 8;
    } else if (url.starts_with("http://")) {
        default_port = "80";
        authority_start = 7;
    } else {
        return std::nullopt;
    }
    auto authority_end = url.find_first_of("/?#", authority_start);
    if (authority_end == std::string_view::npos) authority_end = url.size();
    const std::string_view authority = url.substr(authority_start, authority_end - authority_start);
    // host[:port], host may be an IPv6 literal in brackets; userinfo ends at the last '@'.
    const auto at = authority.rfind('@');
    const std::size_t host_start = at == std::string_view::npos ? 0 : at + 1;
    const auto bracket = authority.rfind(']');
    const auto colon = authority.rfind(':');
    const bool has_port = colon != std::string_view::npos && colon >= host_start &&
                          (bracket == std::string_view::npos || colon > bracket);
    std::string twin(url.substr(0, authority_start));
    if (has_port) {
        if (authority.substr(colon + 1) != default_port) return std::nullopt;
        twin += authority.substr(0, colon);
    } else {
        twin += authority;
        twin += ':';
        twin += default_port;
    }
    twin += url.substr(authority_end);
    return twin;
}

bool signature_matches(std::string_view auth_token, std::string_view url,
                       const form_params& params, std::string_view signature)
{
    // Evaluate both candidates so the time taken does not say which form matched.
    const bool as_given =
        constant_time_equal(twilio_signature(auth_token, url, params), signature);
    bool twin_ok = false;
    if (const auto twin = default_port_twin(url))
        twin_ok = constant_time_equal(twilio_signature(auth_token, *twin, params), signature);
    return as_given || twin_ok;
}

// Value of the first `name` parameter of the URL's query, percent-decoded leniently (a hex
// digest needs no escapes; anything odd simply fails the comparison).
std::optional<std::string> query_param(std::string_view url, std::string_view name)
{
    const auto q = url.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = url.substr(q + 1);
    if (const auto hash = query.find('#'); hash != std::string_view::npos)
        query = query.substr(0, hash);
    auto parsed = parse_form(query);
    if (!parsed) return std::nullopt;
    return parsed->get(name);
}

}  // namespace

std::string twilio_string_to_sign(std::string_view url, const form_params& post_params)
{
    std::vector<const form_param*> sorted;
    sorted.reserve(post_params.size());
    for (const auto& p : post_params) sorted.push_back(&p);
    // std::string compares bytes as unsigned char: the byte order Twilio's libraries use.
    std::sort(sorted.begin(), sorted.end(), [](const form_param* a, const form_param* b) {
        if (a->name != b->name) return a->name < b->name;
        return a->value < b->value;
    });
    std::string out(url);
    for (const auto* p : sorted) {
        out += p->name;
        out += p->value;
    }
    return out;
}

std::string twilio_signature(std::string_view auth_token, std::string_view url,
                             const form_params& post_params)
{
    const auto mac = hmac_sha1(auth_token, twilio_string_to_sign(url, post_params));
    return base64_encode(std::span<const std::uint8_t>(mac.data(), mac.size()));
}

result<void> check_twilio_signature(std::string_view auth_token, std::string_view url,
                                    const form_params& post_params, std::string_view signature)
{
    if (signature.empty()) return error{errc::signature_missing, "no X-Twilio-Signature"};
    if (!signature_matches(auth_token, url, post_params, signature))
        return error{errc::signature_invalid, "X-Twilio-Signature does not match"};
    return ok();
}

result<void> check_twilio_signature_json(std::string_view auth_token, std::string_view url,
                                         std::string_view body, std::string_view signature)
{
    if (signature.empty()) return error{errc::signature_missing, "no X-Twilio-Signature"};
    const bool signature_ok = signature_matches(auth_token, url, form_params{}, signature);
    const auto claimed = query_param(url, "bodySHA256");
    const auto digest = sha256(body);
    const bool body_ok = claimed && constant_time_equal(*claimed, hex_lower(digest));
    if (!signature_ok) return error{errc::signature_invalid, "X-Twilio-Signature does not match"};
    if (!body_ok) return error{errc::signature_invalid, "bodySHA256 absent or not the body's hash"};
    return ok();
}

std::string url_with_body_sha256(std::string_view url, std::string_view body)
{
    const auto digest = sha256(body);
    std::string out(url);
    const auto hash = out.find('#');
    std::string fragment;
    if (hash != std::string::npos) {
        fragment = out.substr(hash);
        out.erase(hash);
    }
    if (out.find('?') == std::string::npos)
        out += '?';
    else if (out.back() != '?' && out.back() != '&')
        out += '&';
    out += "bodySHA256=";
    out += hex_lower(digest);
    return out + fragment;
}

}  // namespace stirgate::core
