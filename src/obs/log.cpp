#include "obs/log.hpp"

#include <cstring>
#include <ctime>
#include <type_traits>
#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace stirgate::obs {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(json_writer& w, std::string_view s)
{
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// RFC 3339, UTC, millisecond precision: 2026-01-01T00:00:05.123Z. The text up to the seconds is
// formatted once per second per thread; the milliseconds by hand.
void write_timestamp(json_writer& w, std::chrono::system_clock::time_point ts)
{
    using namespace std::chrono;
    struct cached_second {
        long long secs = 0;
        std::size_t size = 0;  // 0: nothing cached yet
        char text[40] = {};
    };
    thread_local cached_second cache;
    const long long ms = duration_cast<milliseconds>(ts.time_since_epoch()).count();
    long long secs = ms / 1000;
    long long frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        --secs;
    }
    if (cache.size == 0 || cache.secs != secs) {
        const auto t = static_cast<std::time_t>(secs);
        std::tm tm{};
        gmtime_r(&t, &tm);
        // Leaves room for ".mmmZ" after the seconds.
        cache.size = std::strftime(cache.text, sizeof cache.text - 5, "%Y-%m-%dT%H:%M:%S", &tm);
        cache.secs = secs;
    }
    char out[sizeof cache.text];
    std::memcpy(out, cache.text, cache.size);
    char* p = out + cache.size;
    *p++ = '.';
    *p++ = static_cast<char>('0' + frac / 100);
    *p++ = static_cast<char>('0' + frac / 10 % 10);
    *p++ = static_cast<char>('0' + frac % 10);
    *p++ = 'Z';
    w.String(out, static_cast<rapidjson::SizeType>(p - out));
}

void write_line(rapidjson::StringBuffer& buf, std::chrono::system_clock::time_point ts,
                log_level level, std::string_view msg, std::span<const log_field> fields)
{
    json_writer w(buf);
    w.StartObject();
    w.Key("ts");
    write_timestamp(w, ts);
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
    write_line(buf, ts, level, msg, fields);
    return {buf.GetString(), buf.GetSize()};
}

logger::logger(std::ostream& out, clock_fn clock, logger_options options)
    : out_(out), clock_(std::move(clock)), options_(options)
{
    if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
    flusher_ = std::thread([this] { run_flusher(); });
}

logger::~logger()
{
    {
        const std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    flusher_.join();
    flush();
}

void logger::log_fields(log_level level, std::string_view msg, std::span<const log_field> fields)
{
    // Formatted outside the lock, into a per-thread buffer that keeps its capacity.
    thread_local rapidjson::StringBuffer line;
    line.Clear();
    write_line(line, clock_(), level, msg, fields);
    line.Put('\n');
    const bool urgent = level >= log_level::warn;
    bool wake = false;
    bool kick = false;
    {
        const std::lock_guard lock(mutex_);
        if (pending_.size() + line.GetSize() > options_.max_pending_bytes) {
            ++dropped_unreported_;
            dropped_total_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        const std::size_t before = pending_.size();
        pending_.append(line.GetString(), line.GetSize());
        // An idle flusher is woken by a batch's first line; one waiting out an interval only by
        // a batch grown past flush_bytes.
        wake = before == 0 && flusher_idle_;
        kick = before < options_.flush_bytes && pending_.size() >= options_.flush_bytes;
        if (urgent) urgent_ = true;
    }
    if (urgent) {
        // Written before returning, unless another thread is writing right now: that thread
        // writes it next (write_pending looks again for urgent lines), else the flusher.
        std::unique_lock write_lock(write_mutex_, std::try_to_lock);
        if (write_lock.owns_lock()) {
            write_pending(write_lock);
            return;
        }
        kick = true;
    }
    if (kick) kick_.store(true, std::memory_order_relaxed);
    if (wake) wake_.notify_one();
}

void logger::flush()
{
    std::unique_lock write_lock(write_mutex_);
    write_pending(write_lock);
}

bool logger::write_pending(std::unique_lock<std::mutex>& write_lock)
{
    (void)write_lock;  // held by the caller: one writer at a time, batches in order
    bool wrote = false;
    for (;;) {
        std::uint64_t dropped = 0;
        {
            const std::lock_guard lock(mutex_);
            writing_.swap(pending_);  // pending_ gets the written batch's capacity back
            dropped = std::exchange(dropped_unreported_, 0);
            urgent_ = false;
        }
        if (dropped > 0) {
            rapidjson::StringBuffer buf;
            const log_field field("dropped", dropped);
            write_line(buf, clock_(), log_level::warn, "log lines dropped",
                       std::span<const log_field>(&field, 1));
            writing_.append(buf.GetString(), buf.GetSize());
            writing_ += '\n';
        }
        if (!writing_.empty()) {
            out_.write(writing_.data(), static_cast<std::streamsize>(writing_.size()));
            out_.flush();  // tests and log shippers read stdout through a pipe
            wrote = true;
        }
        writing_.clear();
        // A warn or error line that came while this batch was being written, and whose thread
        // found the writer busy, goes out now rather than after the next interval.
        const std::lock_guard lock(mutex_);
        if (!urgent_) return wrote;
    }
}

void logger::run_flusher()
{
    using clock = std::chrono::steady_clock;
    // The batch's interval is waited out in sleeps of at most this long, without a lock, so
    // a busy logger costs one sleep and one write per batch (a timed condition-variable wait
    // would add futex calls for the mutex); stop and kicks are seen within one slice.
    constexpr std::chrono::milliseconds slice{5};
    std::unique_lock lock(mutex_);
    for (;;) {
        if (pending_.empty() && !stop_) {
            flusher_idle_ = true;
            wake_.wait(lock, [this] { return stop_.load() || !pending_.empty(); });
            flusher_idle_ = false;
        }
        if (stop_) return;  // the destructor writes the rest
        lock.unlock();
        // While lines keep coming, write a batch per interval; idle again after an empty one.
        for (bool wrote = true; wrote;) {
            const auto due = clock::now() + options_.flush_interval;
            for (auto now = clock::now(); now < due; now = clock::now()) {
                if (stop_.load() || kick_.load(std::memory_order_relaxed)) break;
                std::this_thread::sleep_for(std::min<clock::duration>(due - now, slice));
            }
            kick_.store(false, std::memory_order_relaxed);
            if (stop_) return;
            std::unique_lock write_lock(write_mutex_);
            wrote = write_pending(write_lock);
        }
        lock.lock();
    }
}

}  // namespace stirgate::obs
