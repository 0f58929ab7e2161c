#pragma once
// The route table: method + path pattern -> async handler, plus the one place where an errc
// becomes an HTTP response (status from error_table.hpp, body in the route's error style).
//
// Patterns are '/'-separated segments. A segment is a literal ("Calls.json"), a capture
// ("{AccountSid}") or a capture with a literal prefix and/or suffix ("{CallSid}.json"). Captures
// match one non-empty segment and are kept as sent (not percent-decoded: the identifiers routed
// here are plain ASCII). When several patterns match a path, the most specific wins, segment by
// segment from the left: literal, then affixed capture, then bare capture.

#include "net/net.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace stirgate::net {

template <class T>
using awaitable = boost::asio::awaitable<T>;
using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;

// Which renderer of error_table.hpp a route's failures use.
enum class error_style { twilio, atis, plain };

struct request_context {
    http_request request;
    std::string path;                                         // request target without the query
    std::string query;                                        // after '?', without it; "" if none
    std::vector<std::pair<std::string, std::string>> params;  // captures, in pattern order
    boost::asio::ip::tcp::endpoint remote;
    std::string request_id;
    // The Twilio CallSid the request is about, set by handlers that know it; logged as
    // "call_sid" when not empty so one call's lines can be followed across requests.
    std::string call_sid;

    // Set by the router before the handler runs.
    std::string route;  // the matched pattern; "" when nothing matched
    // Registration index of that route (see routes()), no_route when nothing matched: lets
    // per-route metrics find their series without comparing strings.
    static constexpr std::size_t no_route = static_cast<std::size_t>(-1);
    std::size_t route_index = no_route;
    error_style style = error_style::plain;
    // The errc behind the reply, if it is an error; logged as "errc".
    std::optional<errc> failure;
    // Set by whoever refuses with a wait (errc::rate_limited): fail() then sends Retry-After
    // with it (RFC 9110 section 10.2.3, in seconds).
    std::optional<std::chrono::seconds> retry_after;

    // Value of capture `name`, "" if the pattern has none. Valid while this context lives.
    std::string_view param(std::string_view name) const;

    // The error reply for `e` in this route's style (status from the error table); records the
    // errc for the request log. The detail is not sent: clients get the table's fixed text.
    http_response fail(const error& e);
};

using handler = std::function<awaitable<http_response>(request_context&)>;

struct route_info {
    boost::beast::http::verb method;
    std::string pattern;
    error_style style;
};

class router final {
public:
    // Throws std::invalid_argument for a malformed pattern or a duplicate method + pattern: both
    // are programming errors, found when main builds the table.
    void add(boost::beast::http::verb method, std::string pattern, error_style style, handler h);

    // Error style of 404s for unmatched paths under `prefix` (e.g. "/2010-04-01/" -> twilio, so
    // Twilio's helper libraries see Twilio-shaped errors); the longest matching prefix wins,
    // plain otherwise.
    void set_error_style(std::string prefix, error_style style);
    error_style style_for(std::string_view path) const;

    // Every registered route in registration order (checked against api/openapi.yaml).
    std::vector<route_info> routes() const;

    // Splits the query off ctx.request's target into ctx.path/ctx.query, matches, fills
    // ctx.route/params/style and awaits the handler. Unknown path: 404; known path with another
    // method: 405 with an Allow header. Exceptions from handlers propagate (serve_http turns
    // them into a 500). Does not finalise the response (see finalize_response).
    awaitable<http_response> dispatch(request_context& ctx) const;

private:
    struct segment {
        std::string prefix;  // literal, or the text before '{'
        std::string name;    // capture name; empty for a literal segment
        std::string suffix;  // text after '}'
    };
    struct entry {
        boost::beast::http::verb method;
        std::string pattern;
        std::vector<segment> segments;
        error_style style;
        handler fn;
    };

    static bool match(const entry& e, std::span<const std::string_view> parts,
                      std::vector<std::pair<std::string, std::string>>* captures);
    static bool more_specific(const entry& a, const entry& b);

    std::vector<entry> entries_;
    std::vector<std::pair<std::string, error_style>> styles_;
};

// The error reply for `e` rendered in `style` with the status of the error table and
// Content-Type application/json. `path` feeds Twilio's 404 message ("The requested resource
// PATH was not found").
http_response error_response(error_style style, const error& e, unsigned version,
                             std::string_view path = {});

// One place for what every reply carries: HTTP version, keep-alive, Server: stirgate, a Date,
// a Content-Type (application/json unless the handler chose one) and Content-Length.
void finalize_response(http_response& res, unsigned version, bool keep_alive);

}  // namespace stirgate::net
