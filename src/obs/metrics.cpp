#include "obs/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace stirgate::obs {

void append_label_value(std::string& out, std::string_view v)
{
    for (const char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

void append_help_text(std::string& out, std::string_view v)
{
    for (const char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

void append_number(std::string& out, double v)
{
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    char buf[64];
    // Plain decimals for the everyday range (bucket bounds read "0.0005", not "5e-04").
    const double mag = std::fabs(v);
    const auto r = mag == 0 || (mag >= 1e-6 && mag < 1e15)
                       ? std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

namespace {

void append_integer(std::string& out, std::uint64_t v)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// Series sorted by label values, so scrapes are stable and diffable.
template <class Cell, class Table>
std::vector<std::pair<const label_values*, const Cell*>> sorted_series(const Table& table)
{
    std::vector<std::pair<const label_values*, const Cell*>> rows;
    table.for_each([&rows](const label_values& l, const Cell& c) { rows.emplace_back(&l, &c); });
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return *a.first < *b.first; });
    return rows;
}

}  // namespace

family::family(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names))
{
}

void family::render_header(std::string& out, std::string_view type) const
{
    out += "# HELP ";
    out += name_;
    out += ' ';
    append_help_text(out, help_);
    out += "\n# TYPE ";
    out += name_;
    out += ' ';
    out += type;
    out += '\n';
}

void family::render_series_name(std::string& out, std::string_view suffix,
                                const label_values& values, std::string_view extra_name,
                                std::string_view extra_value) const
{
    out += name_;
    out += suffix;
    const std::size_t n = std::min(values.size(), label_names_.size());
    if (n == 0 && extra_name.empty()) return;
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < n; ++i) {
        if (!first) out += ',';
        first = false;
        out += label_names_[i];
        out += "=\"";
        append_label_value(out, values[i]);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (!first) out += ',';
        out += extra_name;
        out += "=\"";
        append_label_value(out, extra_value);
        out += '"';
    }
    out += '}';
}

counter_family::counter_family(std::string name, std::string help,
                               std::vector<std::string> label_names, std::size_t capacity)
    : family(std::move(name), std::move(help), std::move(label_names)), table_(capacity)
{
}

void counter_family::render(std::string& out) const
{
    render_header(out, "counter");
    for (const auto& [labels, cell] : sorted_series<detail::counter_cell>(table_)) {
        render_series_name(out, {}, *labels);
        out += ' ';
        append_integer(out, cell->value.load(std::memory_order_relaxed));
        out += '\n';
    }
}

histogram_family::histogram_family(std::string name, std::string help,
                                   std::vector<std::string> label_names, std::vector<double> bounds,
                                   std::size_t capacity)
    : family(std::move(name), std::move(help), std::move(label_names)),
      bounds_(std::move(bounds)),
      table_(capacity)
{
    if (bounds_.size() > max_buckets)
        throw std::invalid_argument("histogram " + name_ + ": too many buckets");
    for (std::size_t i = 1; i < bounds_.size(); ++i)
        if (!(bounds_[i - 1] < bounds_[i]))
            throw std::invalid_argument("histogram " + name_ + ": bounds not increasing");
}

void histogram_family::render(std::string& out) const
{
    render_header(out, "histogram");
    std::string le;
    for (const auto& [labels, c] : sorted_series<cell>(table_)) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= bounds_.size(); ++i) {
            cumulative += c->buckets[i].load(std::memory_order_relaxed);
            le.clear();
            if (i < bounds_.size())
                append_number(le, bounds_[i]);
            else
                le = "+Inf";
            render_series_name(out, "_bucket", *labels, "le", le);
            out += ' ';
            append_integer(out, cumulative);
            out += '\n';
        }
        render_series_name(out, "_sum", *labels);
        out += ' ';
        append_number(out, c->sum.load(std::memory_order_relaxed));
        out += '\n';
        render_series_name(out, "_count", *labels);
        out += ' ';
        append_integer(out, cumulative);
        out += '\n';
    }
}

gauge::gauge(std::string name, std::string help) : family(std::move(name), std::move(help), {}) {}

void gauge::render(std::string& out) const
{
    render_header(out, "gauge");
    out += name_;
    out += ' ';
    append_number(out, value());
    out += '\n';
}

callback_family::callback_family(std::string name, std::string help, metric_type type,
                                 std::vector<std::string> label_names,
                                 std::function<std::vector<sample>()> read)
    : family(std::move(name), std::move(help), std::move(label_names)),
      type_(type),
      read_(std::move(read))
{
}

void callback_family::render(std::string& out) const
{
    render_header(out, type_ == metric_type::counter ? "counter" : "gauge");
    for (const sample& s : read_()) {
        render_series_name(out, {}, s.labels);
        out += ' ';
        append_number(out, s.value);
        out += '\n';
    }
}

template <class F>
F& registry::add(std::unique_ptr<F> f)
{
    for (const auto& existing : families_)
        if (existing->name() == f->name())
            throw std::invalid_argument("metric " + f->name() + " registered twice");
    F& ref = *f;
    families_.push_back(std::move(f));
    return ref;
}

counter_family& registry::counter(std::string name, std::string help,
                                  std::vector<std::string> label_names, std::size_t capacity)
{
    return add(std::make_unique<counter_family>(std::move(name), std::move(help),
                                                std::move(label_names), capacity));
}

histogram_family& registry::histogram(std::string name, std::string help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> bounds, std::size_t capacity)
{
    return add(std::make_unique<histogram_family>(
        std::move(name), std::move(help), std::move(label_names), std::move(bounds), capacity));
}

gauge& registry::add_gauge(std::string name, std::string help)
{
    return add(std::make_unique<gauge>(std::move(name), std::move(help)));
}

void registry::add_callback(std::string name, std::string help, metric_type type,
                            std::vector<std::string> label_names,
                            std::function<std::vector<sample>()> read)
{
    add(std::make_unique<callback_family>(std::move(name), std::move(help), type,
                                          std::move(label_names), std::move(read)));
}

std::string registry::render() const
{
    std::string out;
    out.reserve(8192);
    for (const auto& f : families_) f->render(out);
    return out;
}

}  // namespace stirgate::obs
