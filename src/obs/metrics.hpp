#pragma once
// A small Prometheus metrics registry rendered in the text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// The request path is hot (a benchmark measures it), so recording never takes a lock, builds a
// string or allocates once a series exists: a family's series live in a fixed open-addressing
// table keyed by a 64-bit number the caller derives from small enums (route index, verb,
// status), and each value is a relaxed atomic. Label strings are built once, when a series is
// created. Scrapes read the atomics while others write: a scrape may miss an increment that is
// in progress, never a whole series that existed before it started.
//
// Families are registered while the process is single-threaded (before serving); recording and
// render() are then safe from any thread.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace stirgate::obs {

// Request latency buckets in seconds: 0.5 ms (a cached verification) to 10 s (the read
// timeout).
inline constexpr std::array<double, 14> latency_buckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

// Appends `v` as the format wants it: backslash, double quote and line feed escaped.
void append_label_value(std::string& out, std::string_view v);
// HELP text escapes backslash and line feed only.
void append_help_text(std::string& out, std::string_view v);
// Shortest round-trip form; +Inf, -Inf and NaN as Prometheus spells them.
void append_number(std::string& out, double v);

using label_values = std::vector<std::string>;

namespace detail {

// The lock-free table behind a family: `Cell` holds the atomics of one series.
template <class Cell>
class series_table {
public:
    explicit series_table(std::size_t capacity)
    {
        std::size_t n = 16;
        while (n < capacity * 2) n *= 2;  // at most half full: probes stay short
        slots_ = std::make_unique<slot[]>(n);
        mask_ = n - 1;
    }

    // The cell of `key` (not 0), created on first use with the labels `make_labels()` returns.
    // nullptr when the table is full (counted in dropped()).
    template <class MakeLabels>
    Cell* find_or_create(std::uint64_t key, MakeLabels&& make_labels)
    {
        std::size_t i = static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 17) & mask_;
        for (std::size_t probes = 0; probes <= mask_; ++probes, i = (i + 1) & mask_) {
            slot& s = slots_[i];
            std::uint64_t k = s.key.load(std::memory_order_acquire);
            if (k == key) return &s.cell;
            if (k == 0) {
                if (s.key.compare_exchange_strong(k, key, std::memory_order_acq_rel)) {
                    s.labels = make_labels();
                    s.ready.store(true, std::memory_order_release);
                    return &s.cell;
                }
                if (k == key) return &s.cell;  // another thread created it meanwhile
            }
        }
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }

    // Calls f(labels, cell) for every published series.
    template <class F>
    void for_each(F&& f) const
    {
        for (std::size_t i = 0; i <= mask_; ++i) {
            const slot& s = slots_[i];
            if (s.ready.load(std::memory_order_acquire)) f(s.labels, s.cell);
        }
    }

    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    struct slot {
        std::atomic<std::uint64_t> key{0};
        std::atomic<bool> ready{false};  // labels written; only then may a scrape read them
        label_values labels;
        Cell cell;
    };
    std::unique_ptr<slot[]> slots_;
    std::size_t mask_ = 0;
    std::atomic<std::uint64_t> dropped_{0};
};

struct counter_cell {
    std::atomic<std::uint64_t> value{0};
};

}  // namespace detail

class family {
public:
    family(std::string name, std::string help, std::vector<std::string> label_names);
    virtual ~family() = default;
    family(const family&) = delete;
    family& operator=(const family&) = delete;

    const std::string& name() const noexcept { return name_; }
    // Appends HELP, TYPE and every sample, series sorted by label values.
    virtual void render(std::string& out) const = 0;

protected:
    void render_header(std::string& out, std::string_view type) const;
    // name_ + suffix + {labels[, extra_name="extra_value"]}
    void render_series_name(std::string& out, std::string_view suffix, const label_values& values,
                            std::string_view extra_name = {},
                            std::string_view extra_value = {}) const;

    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
};

// Monotonic counters (names end in _total).
class counter_family final : public family {
public:
    counter_family(std::string name, std::string help, std::vector<std::string> label_names,
                   std::size_t capacity = 64);

    // Adds `n` to the series `key` (any value but 0, one per label set). `make_labels` is
    // called only when the series is created and returns one value per label name.
    template <class MakeLabels>
    void add(std::uint64_t key, MakeLabels&& make_labels, std::uint64_t n = 1)
    {
        if (auto* c = table_.find_or_create(key, std::forward<MakeLabels>(make_labels)))
            c->value.fetch_add(n, std::memory_order_relaxed);
    }
    // Creates the series with 0 so it is scraped before its first event.
    template <class MakeLabels>
    void declare(std::uint64_t key, MakeLabels&& make_labels)
    {
        add(key, std::forward<MakeLabels>(make_labels), 0);
    }

    void render(std::string& out) const override;
    std::uint64_t dropped() const noexcept { return table_.dropped(); }

private:
    detail::series_table<detail::counter_cell> table_;
};

// Histograms with fixed upper bounds (an implicit +Inf bucket follows the last).
class histogram_family final : public family {
public:
    static constexpr std::size_t max_buckets = 24;

    // `bounds` strictly increasing, at most max_buckets (std::invalid_argument otherwise).
    histogram_family(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<double> bounds, std::size_t capacity = 64);

    template <class MakeLabels>
    void observe(std::uint64_t key, MakeLabels&& make_labels, double value)
    {
        auto* c = table_.find_or_create(key, std::forward<MakeLabels>(make_labels));
        if (!c) return;
        std::size_t i = 0;
        while (i < bounds_.size() && value > bounds_[i]) ++i;  // le: value <= bound
        c->buckets[i].fetch_add(1, std::memory_order_relaxed);
        c->sum.fetch_add(value, std::memory_order_relaxed);
    }

    void render(std::string& out) const override;

private:
    struct cell {
        // Per-bucket (not cumulative) counts; the last is +Inf. The count is their total, so
        // a scrape always sees _count equal to the +Inf bucket.
        std::array<std::atomic<std::uint64_t>, max_buckets + 1> buckets{};
        std::atomic<double> sum{0.0};
    };
    std::vector<double> bounds_;
    detail::series_table<cell> table_;
};

// A value set from outside (e.g. read from the store just before a scrape).
class gauge final : public family {
public:
    gauge(std::string name, std::string help);
    void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
    double value() const noexcept { return value_.load(std::memory_order_relaxed); }
    void render(std::string& out) const override;

private:
    std::atomic<double> value_{0.0};
};

enum class metric_type { counter, gauge };

struct sample {
    label_values labels;
    double value = 0;
};

// Samples computed at scrape time from state another component keeps (cache statistics, open
// connections). `read` must be thread-safe.
class callback_family final : public family {
public:
    callback_family(std::string name, std::string help, metric_type type,
                    std::vector<std::string> label_names,
                    std::function<std::vector<sample>()> read);
    void render(std::string& out) const override;

private:
    metric_type type_;
    std::function<std::vector<sample>()> read_;
};

class registry final {
public:
    // Registration: single-threaded, before recording starts. Names must be unique
    // (std::invalid_argument otherwise). The references stay valid for the registry's life.
    counter_family& counter(std::string name, std::string help,
                            std::vector<std::string> label_names, std::size_t capacity = 64);
    histogram_family& histogram(std::string name, std::string help,
                                std::vector<std::string> label_names, std::vector<double> bounds,
                                std::size_t capacity = 64);
    gauge& add_gauge(std::string name, std::string help);
    void add_callback(std::string name, std::string help, metric_type type,
                      std::vector<std::string> label_names,
                      std::function<std::vector<sample>()> read);

    // Every family in registration order.
    std::string render() const;

private:
    template <class F>
    F& add(std::unique_ptr<F> f);
    std::vector<std::unique_ptr<family>> families_;
};

// The Content-Type of render()'s output.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace stirgate::obs
