#pragma once
// application/x-www-form-urlencoded bodies (WHATWG URL standard, "urlencoded parsing") and the
// encodeURIComponent percent-encoding layer of Twilio's CallToken (spec/TWILIO-API.md s.7.2).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace stirgate::core {

struct form_param {
    std::string name;
    std::string value;

    friend bool operator==(const form_param&, const form_param&) = default;
};

// Decoded form fields in the order received. Repeated names are kept (Twilio expresses lists
// that way: StatusCallbackEvent, Identity), so lookups come in a first-value and an all-values
// flavour.
class form_params final {
public:
    form_params() = default;
    explicit form_params(std::vector<form_param> params) : params_(std::move(params)) {}

    void add(std::string name, std::string value);

    // First value of `name` (names are case-sensitive, as in Twilio's API).
    std::optional<std::string> get(std::string_view name) const;
    // Every value of `name`, in received order; empty when absent.
    std::vector<std::string> all(std::string_view name) const;
    bool contains(std::string_view name) const;

    const std::vector<form_param>& entries() const noexcept { return params_; }
    std::size_t size() const noexcept { return params_.size(); }
    bool empty() const noexcept { return params_.empty(); }
    auto begin() const noexcept { return params_.begin(); }
    auto end() const noexcept { return params_.end(); }

private:
    std::vector<form_param> params_;
};

// Parses a form body: pairs split on '&' (empty pieces skipped), name and value split on the
// first '=', '+' is a space, %XX decoded. Unlike the lenient WHATWG parser a '%' not followed by
// two hex digits is refused: a request that garbles its escapes is not one to act on.
// errc::form_invalid on a bad escape.
[[nodiscard]] result<form_params> parse_form(std::string_view body);

// Serialises in entry order: space as '+', A-Z a-z 0-9 - . _ ~ kept, every other byte %XX
// (upper-case hex), the set HTTP clients such as Python's urlencode use.
std::string format_form(const form_params& params);
// One name or value in that encoding.
std::string form_encode(std::string_view text);

// JavaScript encodeURIComponent: everything except A-Z a-z 0-9 - _ . ! ~ * ' ( ) becomes %XX
// (bytes are encoded as they are; callers pass UTF-8).
std::string encode_uri_component(std::string_view text);
// Its inverse: %XX decoded, every other byte (including '+') kept.
// errc::percent_encoding_invalid on a '%' not followed by two hex digits.
[[nodiscard]] result<std::string> decode_uri_component(std::string_view text);

}  // namespace stirgate::core
