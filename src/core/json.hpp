#pragma once
// Small RapidJSON helpers shared by the core codecs (JWS, PASSporT, CallToken, ATIS bodies).
// RapidJSON asserts on a type mismatch, so every accessor here checks Is*() before Get*() and
// reports a result instead (STYLE.md section 5).

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "core/error.hpp"

namespace stirgate::core {

// Parses `bytes` as exactly one JSON object (UTF-8 validated, nothing but whitespace after it).
// Rejects duplicate member names at any depth (RFC 8225 section 9; RapidJSON would silently keep
// both) and nesting deeper than 64 levels. errc::json_invalid with the reason in the detail.
[[nodiscard]] result<rapidjson::Document> parse_json_object(std::string_view bytes);

// Member `name` of `obj`, or nullptr when absent or when `obj` is not an object.
const rapidjson::Value* find_member(const rapidjson::Value& obj, std::string_view name);

// Typed getters: `on_error` (default json_invalid) when the member is absent or has another JSON
// type; the detail names the member. Views and references point into `obj`.
[[nodiscard]] result<std::string_view> get_string(const rapidjson::Value& obj, std::string_view name,
                                                  errc on_error = errc::json_invalid);
// A JSON integer only: "123" (a string), 1.0 and 1e3 (numbers with a fraction or exponent) fail.
[[nodiscard]] result<std::int64_t> get_int64(const rapidjson::Value& obj, std::string_view name,
                                             errc on_error = errc::json_invalid);
[[nodiscard]] result<bool> get_bool(const rapidjson::Value& obj, std::string_view name,
                                    errc on_error = errc::json_invalid);
[[nodiscard]] result<const rapidjson::Value*> get_object(const rapidjson::Value& obj,
                                                         std::string_view name,
                                                         errc on_error = errc::json_invalid);
[[nodiscard]] result<const rapidjson::Value*> get_array(const rapidjson::Value& obj,
                                                        std::string_view name,
                                                        errc on_error = errc::json_invalid);

// String view of a JSON string value (which may contain NUL); the caller checks IsString().
inline std::string_view string_view_of(const rapidjson::Value& v)
{
    return {v.GetString(), v.GetStringLength()};
}

// Deterministic JSON (RFC 8225 section 9): object members sorted by name (byte order of UTF-8,
// which is code-point order) at every depth, array order kept, no whitespace, `/` unescaped,
// non-ASCII written as raw UTF-8, literals in lower case. Pin callers' output with golden strings.
std::string write_canonical_json(const rapidjson::Value& value);

}  // namespace stirgate::core
