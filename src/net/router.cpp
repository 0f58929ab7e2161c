#include "net/router.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <stdexcept>

#include <boost/container/small_vector.hpp>

#include "core/error_table.hpp"

namespace stirgate::net {
namespace {

namespace http = boost::beast::http;

// Path segments; routes have a handful, so a request path's usually fit without allocating.
using path_parts = boost::container::small_vector<std::string_view, 8>;

path_parts split_path(std::string_view path)
{
    // "/a/b" -> {"a","b"}; "/" -> {""}; a path not starting with '/' matches nothing.
    path_parts parts;
    if (path.empty() || path.front() != '/') return parts;
    path.remove_prefix(1);
    for (;;) {
        const auto slash = path.find('/');
        parts.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return parts;
}

int segment_rank(const std::string& name, const std::string& prefix, const std::string& suffix)
{
    if (name.empty()) return 2;
    return prefix.empty() && suffix.empty() ? 0 : 1;
}

// RFC 9110 section 5.6.7 IMF-fixdate, formatted once a second per thread.
std::string_view http_date()
{
    struct cached_date {
        std::time_t secs = -1;
        std::size_t size = 0;
        char text[64] = {};
    };
    thread_local cached_date cache;
    const std::time_t now = std::time(nullptr);
    if (now != cache.secs) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        cache.size = std::strftime(cache.text, sizeof cache.text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cache.secs = now;
    }
    return {cache.text, cache.size};
}

}  // namespace

std::string_view request_context::param(std::string_view name) const
{
    for (const auto& [k, v] : params)
        if (k == name) return v;
    return {};
}

http_response request_context::fail(const error& e)
{
    failure = e.code;
    http_response res = error_response(style, e, request.version(), path);
    if (retry_after) res.set(http::field::retry_after, std::to_string(retry_after->count()));
    return res;
}

void router::add(http::verb method, std::string pattern, error_style style, handler h)
{
    if (pattern.empty() || pattern.front() != '/')
        throw std::invalid_argument("route pattern must start with '/': " + pattern);
    entry e{method, pattern, {}, style, std::move(h)};
    for (std::string_view part : split_path(pattern)) {
        segment seg;
        const auto open = part.find('{');
        if (open == std::string_view::npos) {
            if (part.find('}') != std::string_view::npos)
                throw std::invalid_argument("unbalanced '}' in route pattern: " + pattern);
            seg.prefix = std::string(part);
        } else {
            const auto close = part.find('}', open);
            if (close == std::string_view::npos || close == open + 1)
                throw std::invalid_argument("bad capture in route pattern: " + pattern);
            seg.prefix = std::string(part.substr(0, open));
            seg.name = std::string(part.substr(open + 1, close - open - 1));
            seg.suffix = std::string(part.substr(close + 1));
            if (seg.suffix.find_first_of("{}") != std::string::npos ||
                seg.prefix.find('}') != std::string::npos)
                throw std::invalid_argument("one capture per segment: " + pattern);
            const bool ok_name = std::all_of(seg.name.begin(), seg.name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
            });
            if (!ok_name) throw std::invalid_argument("bad capture name in: " + pattern);
        }
        e.segments.push_back(std::move(seg));
    }
    for (const auto& other : entries_)
        if (other.method == method && other.pattern == pattern)
            throw std::invalid_argument("duplicate route: " + pattern);
    entries_.push_back(std::move(e));
}

void router::set_error_style(std::string prefix, error_style style)
{
    styles_.emplace_back(std::move(prefix), style);
}

error_style router::style_for(std::string_view path) const
{
    std::size_t best_len = 0;
    error_style best = error_style::plain;
    for (const auto& [prefix, style] : styles_) {
        if (path.substr(0, prefix.size()) == prefix && prefix.size() >= best_len) {
            best_len = prefix.size();
            best = style;
        }
    }
    return best;
}

std::vector<route_info> router::routes() const
{
    std::vector<route_info> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back({e.method, e.pattern, e.style});
    return out;
}

bool router::match(const entry& e, std::span<const std::string_view> parts,
                   std::vector<std::pair<std::string, std::string>>* captures)
{
    if (parts.size() != e.segments.size()) return false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const segment& s = e.segments[i];
        const std::string_view p = parts[i];
        if (s.name.empty()) {
            if (p != s.prefix) return false;
            continue;
        }
        if (p.size() <= s.prefix.size() + s.suffix.size()) return false;
        if (p.substr(0, s.prefix.size()) != s.prefix) return false;
        if (p.substr(p.size() - s.suffix.size()) != s.suffix) return false;
        if (captures)
            captures->emplace_back(
                s.name, std::string(p.substr(s.prefix.size(),
                                             p.size() - s.prefix.size() - s.suffix.size())));
    }
    return true;
}

bool router::more_specific(const entry& a, const entry& b)
{
    for (std::size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
        const auto& sa = a.segments[i];
        const auto& sb = b.segments[i];
        const int ra = segment_rank(sa.name, sa.prefix, sa.suffix);
        const int rb = segment_rank(sb.name, sb.prefix, sb.suffix);
        if (ra != rb) return ra > rb;
    }
    return false;
}

awaitable<http_response> router::dispatch(request_context& ctx) const
{
    const std::string_view target = ctx.request.target();
    const auto q = target.find('?');
    ctx.path = std::string(target.substr(0, q));
    ctx.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
    ctx.params.clear();
    ctx.route.clear();
    ctx.route_index = request_context::no_route;

    const path_parts split = split_path(ctx.path);
    const std::span<const std::string_view> parts(split.data(), split.size());
    const entry* best = nullptr;
    const entry* any_path_match = nullptr;
    boost::container::small_vector<http::verb, 8> allowed;
    for (const auto& e : entries_) {
        if (!match(e, parts, nullptr)) continue;
        if (!any_path_match || more_specific(e, *any_path_match)) any_path_match = &e;
        if (std::find(allowed.begin(), allowed.end(), e.method) == allowed.end())
            allowed.push_back(e.method);
        if (e.method == ctx.request.method() && (!best || more_specific(e, *best))) best = &e;
    }

    if (!best) {
        if (!any_path_match) {
            ctx.style = style_for(ctx.path);
            co_return ctx.fail(errc::not_found);
        }
        ctx.route = any_path_match->pattern;
        ctx.route_index = static_cast<std::size_t>(any_path_match - entries_.data());
        ctx.style = any_path_match->style;
        std::vector<std::string> names;
        for (auto v : allowed) names.emplace_back(http::to_string(v));
        std::sort(names.begin(), names.end());
        std::string allow;
        for (const auto& n : names) allow += (allow.empty() ? "" : ", ") + n;
        http_response res = ctx.fail(errc::method_not_allowed);
        // RFC 9110 section 15.5.6: a 405 carries Allow.
        res.set(http::field::allow, allow);
        co_return res;
    }

    ctx.route = best->pattern;
    ctx.route_index = static_cast<std::size_t>(best - entries_.data());
    ctx.style = best->style;
    match(*best, parts, &ctx.params);
    co_return co_await best->fn(ctx);
}

http_response error_response(error_style style, const error& e, unsigned version,
                             std::string_view path)
{
    http_response res{static_cast<http::status>(error_info(e.code).http_status), version};
    switch (style) {
        case error_style::twilio:
            if (e.code == errc::not_found && !path.empty())
                // Twilio: 20404 names the resource in its message.
                res.body() = render_twilio_error(
                    e, "The requested resource " + std::string(path) + " was not found");
            else
                res.body() = render_twilio_error(e);
            break;
        case error_style::atis:
            res.body() = render_atis_error(e);
            break;
        case error_style::plain:
            res.body() = render_plain_error(e);
            break;
    }
    res.set(http::field::content_type, "application/json");
    // RFC 9110 section 11.6.1: a 401 names the scheme to use, one realm per API.
    if (e.code == errc::unauthorized && style != error_style::plain)
        res.set(http::field::www_authenticate, style == error_style::twilio
                                                   ? "Basic realm=\"Twilio API\""
                                                   : "Basic realm=\"stirgate\"");
    return res;
}

void finalize_response(http_response& res, unsigned version, bool keep_alive)
{
    res.version(version);
    res.keep_alive(keep_alive);
    res.set(http::field::server, "stirgate");
    res.set(http::field::date, http_date());
    if (res.find(http::field::content_type) == res.end())
        res.set(http::field::content_type, "application/json");
    res.prepare_payload();
}

}  // namespace stirgate::net
