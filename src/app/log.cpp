#include "app/log.hpp"

#include <cstdio>
#include <ctime>
#include <type_traits>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace stirgate::app {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// RFC 3339, UTC, millisecond precision: 2026-01-01T00:00:05.123Z
std::string format_timestamp(std::chrono::system_clock::time_point ts)
{
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(ts.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    long long frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        --secs;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out(buf, n);
    char frac_buf[8];
    std::snprintf(frac_buf, sizeof frac_buf, ".%03lldZ", frac);
    out += frac_buf;
    return out;
}

}  // namespace

std::string_view log_level_name(log_level level) noexcept
{
    switch (level) {
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::warn:
            return "warn";
        case log_level::error:
            return "error";
    }
    return "info";
}

std::string format_log_fields(std::chrono::system_clock::time_point ts, log_level level,
                              std::string_view msg, std::span<const log_field> fields)
{
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    w.Key("ts");
    write_string(w, format_timestamp(ts));
    w.Key("level");
    write_string(w, log_level_name(level));
    w.Key("msg");
    write_string(w, msg);
    for (const log_field& f : fields) {
        w.Key(f.key().data(), static_cast<rapidjson::SizeType>(f.key().size()));
        std::visit(
            [&w](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::nullptr_t>)
                    w.Null();
                else if constexpr (std::is_same_v<T, std::string_view>)
                    write_string(w, v);
                else if constexpr (std::is_same_v<T, std::int64_t>)
                    w.Int64(v);
                else if constexpr (std::is_same_v<T, double>)
                    w.Double(v);
                else
                    w.Bool(v);
            },
            f.value());
    }
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

logger::logger(std::ostream& out, clock_fn clock) : out_(out), clock_(std::move(clock))
{
    if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

void logger::log_fields(log_level level, std::string_view msg, std::span<const log_field> fields)
{
    std::string line = format_log_fields(clock_(), level, msg, fields);
    line += '\n';
    const std::lock_guard lock(mutex_);
    // Flushed per line: tests and log shippers read stdout through a pipe.
    out_.write(line.data(), static_cast<std::streamsize>(line.size()));
    out_.flush();
}

}  // namespace stirgate::app
