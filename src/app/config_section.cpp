#include "app/config_section.hpp"

#include <algorithm>
#include <stdexcept>

#include "net/url.hpp"

namespace stirgate::app::toml_reader {

[[noreturn]] void fail(const std::string& source, std::string_view key, std::string_view problem)
{
    std::string line = source;
    line += ": ";
    line += key;
    line += ": ";
    line += problem;
    // One line, whatever the input held.
    std::replace(line.begin(), line.end(), '\n', ' ');
    throw std::runtime_error(line);
}

// Quotes a configured value for a message, cut short so a pasted blob stays one readable line.
std::string show_value(std::string_view v)
{
    constexpr std::size_t max_shown = 80;
    std::string out = "\"";
    out += v.substr(0, max_shown);
    if (v.size() > max_shown) out += "...";
    out += '"';
    return out;
}

const char* type_name(toml::node_type t)
{
    switch (t) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a float";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        default:
            return "nothing";
    }
}

// The URLs in the config are ones stirgate connects to, so they pass the same parser the HTTP
// client uses: a URL accepted here cannot fail on every call later (a '_' in a host, say).
// Returns the parser's reason when `url` is refused.
std::optional<std::string> url_problem(std::string_view url,
                                       std::initializer_list<std::string_view> schemes)
{
    auto parsed = net::parse_url(url);
    if (!parsed) return parsed.err().detail;
    if (std::find(schemes.begin(), schemes.end(), parsed->scheme) == schemes.end())
        return "scheme " + parsed->scheme + " is not allowed here";
    return std::nullopt;
}

fs::path resolve_path(const load_context& ctx, std::string_view p)
{
    if (p.empty()) return {};
    fs::path path{std::string(p)};
    if (path.is_relative()) path = ctx.base_dir / path;
    return path.lexically_normal();
}

std::string section::name(std::string_view key) const
{
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

void section::fail_at(std::string_view key, std::string_view problem) const
{
    fail(ctx_.source, name(key), problem);
}

const toml::node* section::node(std::string_view key)
{
    known_.insert(std::string(key));
    return table_.get(key);
}

std::optional<std::string> section::string(std::string_view key)
{
    const auto* s = typed<toml::value<std::string>>(key, toml::node_type::string);
    if (!s) return {};
    return s->get();
}

std::optional<std::int64_t> section::integer(std::string_view key, std::int64_t min,
                                             std::int64_t max)
{
    const auto* v = typed<toml::value<std::int64_t>>(key, toml::node_type::integer);
    if (!v) return {};
    const std::int64_t x = v->get();
    if (x < min || x > max)
        fail_at(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                         ", got " + std::to_string(x));
    return x;
}

std::optional<bool> section::boolean(std::string_view key)
{
    const auto* v = typed<toml::value<bool>>(key, toml::node_type::boolean);
    if (!v) return {};
    return v->get();
}

std::optional<std::vector<std::string>> section::string_array(std::string_view key)
{
    const auto* a = typed<toml::array>(key, toml::node_type::array);
    if (!a) return {};
    std::vector<std::string> out;
    for (std::size_t i = 0; i < a->size(); ++i) {
        const auto* s = a->get(i)->as_string();
        if (!s)
            fail_at(key, "element " + std::to_string(i) + ": expected a string, got " +
                             type_name(a->get(i)->type()));
        out.push_back(s->get());
    }
    return out;
}

std::optional<std::vector<std::int64_t>> section::integer_array(std::string_view key,
                                                                std::int64_t min, std::int64_t max)
{
    const auto* a = typed<toml::array>(key, toml::node_type::array);
    if (!a) return {};
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < a->size(); ++i) {
        const auto* v = a->get(i)->as_integer();
        if (!v)
            fail_at(key, "element " + std::to_string(i) + ": expected an integer, got " +
                             type_name(a->get(i)->type()));
        if (v->get() < min || v->get() > max)
            fail_at(key, "element " + std::to_string(i) + ": must be between " +
                             std::to_string(min) + " and " + std::to_string(max));
        out.push_back(v->get());
    }
    return out;
}

const toml::table* section::table(std::string_view key)
{
    return typed<toml::table>(key, toml::node_type::table);
}

const toml::array* section::table_array(std::string_view key)
{
    const auto* a = typed<toml::array>(key, toml::node_type::array);
    if (!a) return nullptr;
    for (std::size_t i = 0; i < a->size(); ++i)
        if (!a->get(i)->is_table())
            fail_at(key, "expected [[" + name(key) + "]] tables, element " + std::to_string(i) +
                             " is " + type_name(a->get(i)->type()));
    return a;
}

std::optional<fs::path> section::path(std::string_view key)
{
    const auto s = string(key);
    if (!s) return {};
    return resolve_path(ctx_, *s);
}

std::optional<std::vector<fs::path>> section::path_array(std::string_view key)
{
    const auto list = string_array(key);
    if (!list) return {};
    std::vector<fs::path> out;
    for (const auto& s : *list) {
        if (s.empty()) fail_at(key, "empty path in list");
        out.push_back(resolve_path(ctx_, s));
    }
    return out;
}

std::optional<std::string> section::url(std::string_view key,
                                        std::initializer_list<std::string_view> schemes,
                                        bool optional_empty)
{
    auto s = string(key);
    if (!s) return {};
    if (s->empty() && optional_empty) return s;
    if (auto problem = url_problem(*s, schemes)) {
        std::string allowed;
        for (auto sc : schemes) allowed += (allowed.empty() ? "" : " or ") + std::string(sc);
        fail_at(key, "expected an absolute " + allowed + " URL, got " + show_value(*s) + ": " +
                         *problem);
    }
    return s;
}

void section::finish() const
{
    for (const auto& [k, v] : table_) {
        const std::string key(k.str());
        if (!known_.count(key)) fail_at(key, "unknown key");
    }
}

}  // namespace stirgate::app::toml_reader
