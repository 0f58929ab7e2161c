#pragma once
// Reading the TOML config one table at a time (app/config.cpp): typed getters that name the
// key in every error ("FILE: server.listen: expected ..."), relative paths resolved against
// the config's folder, URLs parsed by net::parse_url as the HTTP client parses them, and every
// key nobody asked for refused, so a typo never falls back to a default silently.

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace stirgate::app::toml_reader {

namespace fs = std::filesystem;

struct load_context {
    std::string source;  // file name for messages
    fs::path base_dir;   // anchor for relative paths
};

// Throws std::runtime_error "SOURCE: KEY: PROBLEM" on one line.
[[noreturn]] void fail(const std::string& source, std::string_view key, std::string_view problem);
// Quotes a configured value for a message, cut short so a pasted blob stays one readable line.
std::string show_value(std::string_view v);
const char* type_name(toml::node_type t);
// Why `url` is refused (net::parse_url's reason, or a scheme not in `schemes`), or none.
std::optional<std::string> url_problem(std::string_view url,
                                       std::initializer_list<std::string_view> schemes);
// `p` against the config file's folder when relative; "" stays "".
fs::path resolve_path(const load_context& ctx, std::string_view p);

// One TOML table being read: remembers which keys were asked for, so finish() can reject every
// other key by name (a typo must not silently fall back to a default).
class section {
public:
    section(const toml::table& table, std::string prefix, const load_context& ctx)
        : table_(table), prefix_(std::move(prefix)), ctx_(ctx)
    {
    }

    std::string name(std::string_view key) const;

    [[noreturn]] void fail_at(std::string_view key, std::string_view problem) const;

    const toml::node* node(std::string_view key);

    template <class T>
    const T* typed(std::string_view key, toml::node_type want)
    {
        const toml::node* n = node(key);
        if (!n) return nullptr;
        if (n->type() != want)
            fail_at(key,
                    std::string("expected ") + type_name(want) + ", got " + type_name(n->type()));
        return n->as<T>();
    }

    std::optional<std::string> string(std::string_view key);

    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);

    std::optional<bool> boolean(std::string_view key);

    std::optional<std::vector<std::string>> string_array(std::string_view key);

    std::optional<std::vector<std::int64_t>> integer_array(std::string_view key, std::int64_t min,
                                                           std::int64_t max);

    const toml::table* table(std::string_view key);

    // [[key]]: an array whose every element is a table.
    const toml::array* table_array(std::string_view key);

    std::optional<fs::path> path(std::string_view key);

    std::optional<std::vector<fs::path>> path_array(std::string_view key);

    // A URL with one of `schemes`; "" allowed when `optional_empty`.
    std::optional<std::string> url(std::string_view key,
                                   std::initializer_list<std::string_view> schemes,
                                   bool optional_empty);

    void finish() const;

    const load_context& context() const { return ctx_; }

private:
    const toml::table& table_;
    std::string prefix_;
    const load_context& ctx_;
    std::set<std::string> known_;
};

}  // namespace stirgate::app::toml_reader
