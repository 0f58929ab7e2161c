#pragma once
// JSON-lines logging on stdout (DESIGN.md "Operations"): one object per line, written whole under
// a mutex so lines from several I/O threads never interleave. Values are escaped by RapidJSON, so
// a hostile path or header cannot forge a second line. Never pass tokens, keys, bodies or
// Authorization values in fields.

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace stirgate::app {

enum class log_level { debug, info, warn, error };

std::string_view log_level_name(log_level level) noexcept;

// One "key": value pair of a log line. Constructors are explicit per type so that integers of
// any width land in the integer slot and C strings in the string slot.
class log_field {
public:
    using value_type = std::variant<std::nullptr_t, std::string_view, std::int64_t, double, bool>;

    log_field() = default;  // an unfilled slot of a field array (see logger::log_fields)
    log_field(std::string_view key, std::string_view value) : key_(key), value_(value) {}
    log_field(std::string_view key, const char* value) : key_(key), value_(std::string_view(value))
    {
    }
    log_field(std::string_view key, const std::string& value)
        : key_(key), value_(std::string_view(value))
    {
    }
    log_field(std::string_view key, std::nullptr_t) : key_(key), value_(nullptr) {}
    log_field(std::string_view key, bool value) : key_(key), value_(value) {}
    log_field(std::string_view key, double value) : key_(key), value_(value) {}
    template <std::integral Int>
    requires(!std::same_as<Int, bool>) log_field(std::string_view key, Int value)
        : key_(key), value_(static_cast<std::int64_t>(value))
    {
    }

    std::string_view key() const noexcept { return key_; }
    const value_type& value() const noexcept { return value_; }

private:
    std::string_view key_;
    value_type value_ = nullptr;
};

// Formats {"ts","level","msg",fields...} without the trailing newline. `ts` is RFC 3339 UTC with
// milliseconds. Exposed so tests can pin the format with a fixed time.
std::string format_log_fields(std::chrono::system_clock::time_point ts, log_level level,
                              std::string_view msg, std::span<const log_field> fields);
inline std::string format_log_line(std::chrono::system_clock::time_point ts, log_level level,
                                   std::string_view msg, std::initializer_list<log_field> fields)
{
    return format_log_fields(ts, level, msg,
                             std::span<const log_field>(fields.begin(), fields.size()));
}

class logger final {
public:
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;

    // `out` must outlive the logger (std::cout in production, a stringstream in tests).
    explicit logger(std::ostream& out, clock_fn clock = {});

    void log(log_level level, std::string_view msg, std::initializer_list<log_field> fields = {})
    {
        log_fields(level, msg, std::span<const log_field>(fields.begin(), fields.size()));
    }
    // For lines whose set of fields varies (optional fields left out rather than null).
    void log_fields(log_level level, std::string_view msg, std::span<const log_field> fields);
    void info(std::string_view msg, std::initializer_list<log_field> fields = {})
    {
        log(log_level::info, msg, fields);
    }
    void warn(std::string_view msg, std::initializer_list<log_field> fields = {})
    {
        log(log_level::warn, msg, fields);
    }
    void error(std::string_view msg, std::initializer_list<log_field> fields = {})
    {
        log(log_level::error, msg, fields);
    }

private:
    std::ostream& out_;
    clock_fn clock_;
    std::mutex mutex_;
};

}  // namespace stirgate::app
