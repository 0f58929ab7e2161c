// The JSON-lines logger: the line format, batching (nothing per line until a flush, a batch
// written by the flusher thread or at once for warn/error), order and whole lines across threads,
// the destructor's final write, and the bounded buffer that drops and counts lines when the
// stream is slower than the lines come.

#include "obs/log.hpp"

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <string>
#include <thread>
#include <vector>

namespace {

using stirgate::obs::log_field;
using stirgate::obs::log_level;
using stirgate::obs::logger;
using stirgate::obs::logger_options;
using namespace std::chrono_literals;

std::chrono::system_clock::time_point at_ms(long long ms)
{
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

rapidjson::Document parse(const std::string& line)
{
    rapidjson::Document d;
    d.Parse(line.c_str(), line.size());
    REQUIRE_FALSE(d.HasParseError());
    REQUIRE(d.IsObject());
    return d;
}

// Batches never wait for the interval in these tests unless a test wants them to.
logger_options no_timer()
{
    logger_options o;
    o.flush_interval = std::chrono::hours(1);
    return o;
}

// A stream buffer that several threads may write and one may read, and that can be made to
// block every write until released (a slow or stuck stdout).
class gated_buf final : public std::streambuf {
public:
    void close_gate()
    {
        const std::lock_guard lock(mutex_);
        open_ = false;
    }
    void open_gate()
    {
        {
            const std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    bool writer_blocked()
    {
        const std::lock_guard lock(mutex_);
        return blocked_;
    }
    std::string text()
    {
        const std::lock_guard lock(mutex_);
        return text_;
    }
    int writes()
    {
        const std::lock_guard lock(mutex_);
        return writes_;
    }

protected:
    std::streamsize xsputn(const char* s, std::streamsize n) override
    {
        std::unique_lock lock(mutex_);
        blocked_ = !open_;
        cv_.wait(lock, [this] { return open_; });
        blocked_ = false;
        text_.append(s, static_cast<std::size_t>(n));
        ++writes_;
        return n;
    }
    int_type overflow(int_type c) override
    {
        if (c == traits_type::eof()) return traits_type::not_eof(c);
        const char ch = traits_type::to_char_type(c);
        xsputn(&ch, 1);
        return c;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = true;
    bool blocked_ = false;
    std::string text_;
    int writes_ = 0;
};

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(1ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("a log line is one JSON object with an RFC 3339 millisecond timestamp", "[obs][log]")
{
    CHECK(stirgate::obs::format_log_line(at_ms(1767225605123), log_level::info, "request",
                                         {{"status", 200}, {"route", "/x"}, {"none", nullptr}}) ==
          R"({"ts":"2026-01-01T00:00:05.123Z","level":"info","msg":"request","status":200,)"
          R"("route":"/x","none":null})");
    // The cached second is replaced when the second changes, and milliseconds keep their zeros.
    CHECK(stirgate::obs::format_log_line(at_ms(1767225605007), log_level::warn, "m", {})
              .starts_with(R"({"ts":"2026-01-01T00:00:05.007Z","level":"warn")"));
    CHECK(stirgate::obs::format_log_line(at_ms(1767225606000), log_level::error, "m", {})
              .starts_with(R"({"ts":"2026-01-01T00:00:06.000Z","level":"error")"));
    CHECK(stirgate::obs::format_log_line(at_ms(-1), log_level::info, "m", {})
              .starts_with(R"({"ts":"1969-12-31T23:59:59.999Z")"));
    // A hostile value cannot start a second line.
    CHECK(stirgate::obs::format_log_line(at_ms(0), log_level::info, "m", {{"v", "a\n{\"b\":1}"}})
              .find('\n') == std::string::npos);
}

TEST_CASE("info lines wait for a flush and come out whole and in order", "[obs][log]")
{
    std::ostringstream out;
    {
        logger log(out, [] { return at_ms(0); }, no_timer());
        log.info("one", {{"n", 1}});
        log.info("two", {{"n", 2}});
        CHECK(out.str().empty());  // buffered: no write per line
        log.flush();
        const auto lines = lines_of(out.str());
        REQUIRE(lines.size() == 2);
        CHECK(parse(lines[0])["msg"] == "one");
        CHECK(parse(lines[1])["msg"] == "two");
        log.info("three");
    }
    // The destructor writes what is pending.
    const auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 3);
    CHECK(parse(lines[2])["msg"] == "three");
}

TEST_CASE("a warn or error line is written before log returns, after the lines before it",
          "[obs][log]")
{
    std::ostringstream out;
    logger log(out, {}, no_timer());
    log.info("before");
    log.warn("careful");
    auto lines = lines_of(out.str());
    REQUIRE(lines.size() == 2);
    CHECK(parse(lines[0])["msg"] == "before");
    CHECK(parse(lines[1])["level"] == "warn");
    log.info("between");
    log.error("failed");
    lines = lines_of(out.str());
    REQUIRE(lines.size() == 4);
    CHECK(parse(lines[2])["msg"] == "between");
    CHECK(parse(lines[3])["level"] == "error");
}

TEST_CASE("the flusher writes a batch after the interval or once it is large", "[obs][log]")
{
    gated_buf buf;
    std::ostream out(&buf);
    SECTION("interval")
    {
        logger_options o;
        o.flush_interval = 2ms;
        logger log(out, {}, o);
        log.info("soon");
        CHECK(eventually([&] { return buf.text().find(R"("msg":"soon")") != std::string::npos; }));
    }
    SECTION("size")
    {
        logger_options o = no_timer();
        o.flush_bytes = 1000;
        logger log(out, {}, o);
        const std::string filler(100, 'x');
        for (int i = 0; i < 20; ++i) log.info("big", {{"i", i}, {"filler", filler}});
        // Without a timer only the size can have triggered these writes.
        CHECK(eventually([&] { return lines_of(buf.text()).size() >= 8; }));
        CHECK(buf.writes() < 20);  // batched, not a write per line
    }
}

TEST_CASE("lines from several threads are never split or interleaved and keep each thread's "
          "order",
          "[obs][log]")
{
    gated_buf buf;
    std::ostream out(&buf);
    constexpr int threads = 4;
    constexpr int per_thread = 2000;
    {
        logger_options o;
        o.flush_interval = 1ms;
        o.flush_bytes = 4096;
        o.max_pending_bytes = 64 * 1024 * 1024;  // nothing dropped here
        logger log(out, {}, o);
        std::vector<std::thread> workers;
        const std::string filler(37, 'y');
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&log, &filler, t] {
                for (int i = 0; i < per_thread; ++i) {
                    const log_level level = i % 500 == 499 ? log_level::warn : log_level::info;
                    log.log(level, "line", {{"thread", t}, {"seq", i}, {"filler", filler}});
                }
            });
        for (auto& w : workers) w.join();
        CHECK(log.dropped_lines() == 0);
    }
    const auto lines = lines_of(buf.text());
    REQUIRE(lines.size() == threads * per_thread);
    std::map<int, int> next;
    for (const auto& line : lines) {
        const auto d = parse(line);
        const int t = d["thread"].GetInt();
        CHECK(d["seq"].GetInt() == next[t]);
        next[t] = d["seq"].GetInt() + 1;
    }
    for (int t = 0; t < threads; ++t) CHECK(next[t] == per_thread);
}

TEST_CASE("a stuck stream never blocks info lines: the buffer is bounded, drops are counted and "
          "reported",
          "[obs][log]")
{
    gated_buf buf;
    std::ostream out(&buf);
    logger_options o = no_timer();
    o.max_pending_bytes = 2000;
    logger log(out, [] { return at_ms(0); }, o);

    log.info("first");
    buf.close_gate();
    std::thread writer([&log] { log.flush(); });  // blocks in the stream with "first"
    REQUIRE(eventually([&] { return buf.writer_blocked(); }));

    // A warn line while another thread is writing is left to that thread (this one would hang
    // here otherwise), and so are info lines: accepted into the buffer, then dropped.
    log.warn("urgent");
    constexpr int logged = 100;
    for (int i = 0; i < logged; ++i) log.info("queued", {{"i", i}});
    const std::uint64_t dropped = log.dropped_lines();
    CHECK(dropped > 0);
    CHECK(dropped < logged);

    buf.open_gate();
    writer.join();
    log.flush();
    const auto lines = lines_of(buf.text());
    int queued = 0;
    bool urgent_seen = false;
    std::uint64_t reported = 0;
    for (const auto& line : lines) {
        const auto d = parse(line);
        const std::string msg = d["msg"].GetString();
        if (msg == "queued") ++queued;
        if (msg == "urgent") urgent_seen = true;
        if (msg == "log lines dropped") {
            CHECK(d["level"] == "warn");
            reported += d["dropped"].GetUint64();
        }
    }
    REQUIRE(lines.size() >= 2);
    CHECK(parse(lines[0])["msg"] == "first");
    CHECK(parse(lines[1])["msg"] == "urgent");
    CHECK(urgent_seen);
    CHECK(static_cast<std::uint64_t>(queued) + dropped == logged);
    CHECK(reported == dropped);
    CHECK(log.dropped_lines() == dropped);

    // Room again: lines are accepted and the drop is not reported twice.
    log.info("after");
    log.flush();
    const auto again = lines_of(buf.text());
    CHECK(parse(again.back())["msg"] == "after");
    CHECK(again.size() == lines.size() + 1);
}
