#include "core/public_url.hpp"

#include "core/text.hpp"

namespace stirgate::core {
namespace {

// First element of a comma-separated header list (the hop nearest the client).
std::string_view first_entry(std::string_view v)
{
    return trim(v.substr(0, v.find(',')));
}

std::string with_target(std::string base, std::string_view target)
{
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (target.empty() || target.front() != '/') base += '/';
    base += target;
    return base;
}

}  // namespace

std::string signed_request_url(const public_url_inputs& in)
{
    if (!in.configured_base.empty())
        return with_target(std::string(in.configured_base), in.target);
    std::string scheme = "http";
    std::string_view host = trim(in.host);
    if (in.peer_is_trusted_proxy) {
        const std::string proto = ascii_lower(first_entry(in.forwarded_proto));
        if (proto == "http" || proto == "https") scheme = proto;
        const std::string_view fwd_host = first_entry(in.forwarded_host);
        if (!fwd_host.empty()) host = fwd_host;
    }
    return with_target(scheme + "://" + std::string(host), in.target);
}

}  // namespace stirgate::core
