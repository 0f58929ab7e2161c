#pragma once
// JSON-lines logging on stdout (DESIGN.md "Operations"): one object per line. Values are escaped by
// RapidJSON, so a hostile path or header cannot forge a second line. Never pass tokens, keys,
// bodies or Authorization values in fields.
//
// Lines are buffered in the process and written in batches (docs/design.md "Metrics and logs"):
// a line is appended whole to one pending buffer under a mutex, so lines from several threads
// never split or interleave, and keep the order in which they were logged. A flusher thread
// writes the batch `flush_interval` after its first line (sooner once it grows past
// `flush_bytes`), so a busy gateway makes one write per interval, not one per request; a warn or
// error line is written with everything before it before log() returns (unless another thread is
// writing right then, which then writes it too), so the lines that precede a crash reach the
// stream. flush() and the destructor write everything pending. The pending buffer is bounded:
// when the stream is slower than the lines come, new lines are dropped and counted, and a
// {"msg":"log lines dropped","dropped":N} warn line reports them once there is room again.

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

namespace stirgate::obs {

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

struct logger_options {
    // How long the first line of a batch may wait before the flusher writes it.
    std::chrono::milliseconds flush_interval{5};
    // A batch this large is written at once instead of waiting for the interval.
    std::size_t flush_bytes = 32 * 1024;
    // Bytes of lines waiting to be written; a line that does not fit is dropped and counted.
    std::size_t max_pending_bytes = 1024 * 1024;
};

class logger final {
public:
    using clock_fn = std::function<std::chrono::system_clock::time_point()>;

    // `out` must outlive the logger (std::cout in production, a stringstream in tests). Only the
    // logger writes to it while the logger lives; read it after flush().
    explicit logger(std::ostream& out, clock_fn clock = {}, logger_options options = {});
    ~logger();  // writes what is pending
    logger(const logger&) = delete;
    logger& operator=(const logger&) = delete;

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

    // Writes every line logged before the call, in order, and flushes the stream.
    void flush();
    // Lines dropped because the pending buffer was full, since construction.
    std::uint64_t dropped_lines() const noexcept { return dropped_total_.load(); }

private:
    void run_flusher();
    // Takes the pending lines and writes them; the caller holds write_mutex_. False when there
    // was nothing to write.
    bool write_pending(std::unique_lock<std::mutex>& write_lock);

    std::ostream& out_;
    clock_fn clock_;
    logger_options options_;
    std::atomic<std::uint64_t> dropped_total_{0};

    std::mutex write_mutex_;  // held while writing to out_; taken before mutex_
    std::string writing_;     // the batch being written (guarded by write_mutex_)

    std::mutex mutex_;  // guards the members below
    std::condition_variable wake_;
    std::string pending_;
    std::uint64_t dropped_unreported_ = 0;
    bool urgent_ = false;        // a warn or error line is pending: write without waiting
    bool flusher_idle_ = false;  // the flusher waits for a first line (not out an interval)
    std::atomic<bool> stop_{false};  // set under mutex_; read by the flusher between sleeps
    std::atomic<bool> kick_{false};  // write the batch now: large, or an urgent line waits
    std::thread flusher_;  // last: started once the members above exist
};

}  // namespace stirgate::obs
