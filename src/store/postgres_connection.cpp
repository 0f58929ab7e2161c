#include "store/postgres_connection.hpp"

#include <poll.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

#include <libpq-fe.h>

namespace stirgate::store::pg {
namespace {

std::size_t parse_count(std::string_view name, std::string_view value, std::size_t max,
                        std::size_t min = 1)
{
    std::size_t n = 0;
    const auto* end = value.data() + value.size();
    const auto [p, ec] = std::from_chars(value.data(), end, n);
    if (ec != std::errc() || p != end || n < min || n > max)
        throw std::runtime_error("option " + std::string(name) + " must be " +
                                 std::to_string(min) + ".." + std::to_string(max));
    return n;
}

// SQLSTATE classes that belong to the job's own data, not to the database's health.
errc map_sqlstate(std::string_view state)
{
    if (state == "23505") return errc::conflict;  // unique_violation
    if (state == "23514" || state == "23502" || state == "22001" || state == "22021" ||
        state == "22P02" || state == "22003")
        return errc::invalid_parameter;  // check, not null, too long, bad encoding, bad number
    return errc::store_unavailable;
}

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// errors here end up in one-line startup failures and JSON log lines.
std::string one_line(const std::string& text)
{
    std::string out;
    for (const char c : text) {
        if (c == '\n' || c == '\t' || c == '\r') {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += c;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

}  // namespace

url_options parse_url(std::string_view url)
{
    url_options out;
    const auto q = url.find('?');
    out.libpq_uri = std::string(url.substr(0, q));
    if (q == std::string_view::npos) return out;
    std::string kept;
    std::string_view rest = url.substr(q + 1);
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string_view name = pair.substr(0, eq);
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (name == "pool_size") {
            out.pool_size = parse_count(name, value, 64);
        } else if (name == "queue_limit") {
            out.queue_limit = parse_count(name, value, 100000);
        } else if (name == "statement_cache") {
            out.statement_cache = parse_count(name, value, 4096, 0);
        } else if (!pair.empty()) {
            kept += kept.empty() ? "?" : "&";
            kept += pair;
        }
    }
    out.libpq_uri += kept;
    return out;
}

std::string encode_text_array(const std::vector<std::string>& values)
{
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (const char c : values[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

result<std::vector<std::string>> decode_text_array(std::string_view text)
{
    // PostgreSQL's array output for a one-dimensional text[] of non-NULL elements: elements
    // are double-quoted (with \" and \\) when they hold special characters, bare otherwise.
    const error bad{errc::internal, "bad text[] column"};
    if (text.size() < 2 || text.front() != '{' || text.back() != '}') return bad;
    std::vector<std::string> out;
    std::size_t i = 1;
    const std::size_t end = text.size() - 1;
    if (i == end) return out;
    for (;;) {
        std::string element;
        if (text[i] == '"') {
            for (++i; i < end && text[i] != '"'; ++i) {
                if (text[i] == '\\' && i + 1 < end) ++i;
                element += text[i];
            }
            if (i >= end) return bad;
            ++i;  // closing quote
        } else {
            const std::size_t start = i;
            while (i < end && text[i] != ',') ++i;
            element = std::string(text.substr(start, i - start));
            if (element == "NULL") return bad;  // never written by this store
        }
        out.push_back(std::move(element));
        if (i == end) return out;
        if (text[i] != ',') return bad;
        ++i;
    }
}

// --- params and rows ------------------------------------------------------------------------

params& params::add(std::string_view v)
{
    values_.emplace_back(std::string(v));
    return *this;
}
params& params::add(std::int64_t v)
{
    values_.emplace_back(std::to_string(v));
    return *this;
}
params& params::add(const std::optional<std::string>& v)
{
    values_.push_back(v);
    return *this;
}
params& params::add(const std::optional<std::int64_t>& v)
{
    return v ? add(*v) : add_null();
}
params& params::add_null()
{
    values_.emplace_back(std::nullopt);
    return *this;
}

std::vector<const char*> params::pointers() const
{
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
}

rows::rows(rows&& other) noexcept : r_(other.r_)
{
    other.r_ = nullptr;
}
rows& rows::operator=(rows&& other) noexcept
{
    if (this != &other) {
        if (r_) PQclear(r_);
        r_ = other.r_;
        other.r_ = nullptr;
    }
    return *this;
}
rows::~rows()
{
    if (r_) PQclear(r_);
}

int rows::count() const noexcept
{
    return r_ ? PQntuples(r_) : 0;
}
std::int64_t rows::affected() const noexcept
{
    const char* n = r_ ? PQcmdTuples(r_) : "";
    std::int64_t v = 0;
    std::from_chars(n, n + std::strlen(n), v);
    return v;
}
bool rows::is_null(int row, int col) const noexcept
{
    return PQgetisnull(r_, row, col) != 0;
}
std::string rows::text(int row, int col) const
{
    return {PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col))};
}
std::optional<std::string> rows::opt_text(int row, int col) const
{
    if (is_null(row, col)) return std::nullopt;
    return text(row, col);
}
std::int64_t rows::integer(int row, int col) const
{
    const char* p = PQgetvalue(r_, row, col);
    std::int64_t v = 0;
    std::from_chars(p, p + PQgetlength(r_, row, col), v);
    return v;
}
std::optional<std::int64_t> rows::opt_integer(int row, int col) const
{
    if (is_null(row, col)) return std::nullopt;
    return integer(row, col);
}

// --- connection -----------------------------------------------------------------------------

connection::~connection()
{
    close();
}

void connection::close() noexcept
{
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();  // prepared statements live and die with the server session
}

void connection::set_statement_cache(std::size_t limit) noexcept
{
    statement_cache_limit_ = limit;
}

result<void> connection::connect(const std::string& libpq_uri, const std::string& password)
{
    close();
    // Keywords before "dbname" are defaults the URI may override (libpq's expand_dbname rule);
    // the password comes after it, so it wins (the config refuses a URL that has one too).
    const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                          password.empty() ? nullptr : "password", nullptr};
    const char* values[] = {"5", "stirgate", libpq_uri.c_str(), password.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, values, 1);
    if (!conn_) return error{errc::store_unavailable, "out of memory for a connection"};
    // libpq prints notices (and the server's goodbye on an idle connection) to stderr by
    // default; the store reports what matters through its errors and healthy().
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string detail = one_line(PQerrorMessage(conn_));
        close();
        return error{errc::store_unavailable, "cannot connect: " + detail};
    }
    return ok();
}

bool connection::connected() const noexcept
{
    return conn_ && PQstatus(conn_) == CONNECTION_OK;
}

bool connection::check_idle() noexcept
{
    if (!connected()) return false;
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) {
        // Bytes on an idle connection: a notice, or the server's goodbye (FATAL 57P01) just
        // before it closes. A round trip tells which.
        if (PQconsumeInput(conn_) == 0) return false;
        if (!exec("SELECT 1")) return false;
    }
    return connected();
}

result<std::size_t> connection::wait_for_notifications(std::chrono::milliseconds timeout)
{
    if (!connected()) return error{errc::store_unavailable, "not connected"};
    pollfd p{PQsocket(conn_), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready < 0) return std::size_t{0};  // EINTR: the caller simply waits again
    if (ready > 0 && PQconsumeInput(conn_) == 0)
        return error{errc::store_unavailable, one_line(PQerrorMessage(conn_))};
    std::size_t count = 0;
    while (PGnotify* n = PQnotifies(conn_)) {
        PQfreemem(n);
        ++count;
    }
    if (!connected()) return error{errc::store_unavailable, "connection closed by the server"};
    return count;
}

result<rows> connection::exec(const char* sql, const params& p)
{
    if (!conn_) return error{errc::store_unavailable, "not connected"};
    const auto values = p.pointers();
    auto name = prepared_name(sql, p.size());
    if (!name) return std::move(name).err();
    if (!*name)
        return checked(rows(PQexecParams(conn_, sql, p.size(), nullptr, values.data(), nullptr,
                                         nullptr, 0)));
    return checked(
        rows(PQexecPrepared(conn_, (*name)->c_str(), p.size(), values.data(), nullptr, nullptr, 0)));
}

result<const std::string*> connection::prepared_name(const char* sql, int param_count)
{
    // The server parses and plans a statement once per session instead of on every call: the
    // gateway runs a handful of fixed statements thousands of times a second. Statements
    // without parameters (BEGIN, COMMIT, ROLLBACK, which must also work in an aborted
    // transaction, where PREPARE fails) cost little to parse and run as they are; so do
    // statements past the limit (list filters build a few variants).
    if (statement_cache_limit_ == 0 || param_count == 0) return nullptr;
    std::string text(sql);
    if (auto found = prepared_.find(text); found != prepared_.end()) return &found->second;
    if (prepared_.size() >= statement_cache_limit_) return nullptr;
    std::string name = "stirgate_" + std::to_string(prepared_.size() + 1);
    // A statement the server cannot prepare fails here as it would have failed to execute.
    auto made = checked(rows(PQprepare(conn_, name.c_str(), sql, param_count, nullptr)));
    if (!made) return std::move(made).err();
    return &prepared_.emplace(std::move(text), std::move(name)).first->second;
}

result<void> connection::run_script(const char* sql)
{
    if (!conn_) return error{errc::store_unavailable, "not connected"};
    auto r = checked(rows(PQexec(conn_, sql)));
    if (!r) return std::move(r).err();
    return ok();
}

result<rows> connection::checked(rows r)
{
    pg_result* raw = r.handle();
    const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    const std::string detail = one_line(raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_));
    const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    if (!connected() || !state) return error{errc::store_unavailable, "connection lost: " + detail};
    return error{map_sqlstate(state), std::string(state) + ": " + detail};
}

result<void> connection::run(const char* sql, const params& p)
{
    auto r = exec(sql, p);
    if (!r) return std::move(r).err();
    return ok();
}

bool is_outage(const error& e) noexcept
{
    return e.code == errc::store_unavailable;
}

}  // namespace stirgate::store::pg
