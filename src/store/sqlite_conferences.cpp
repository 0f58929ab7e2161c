// sqlite_store: the conferences table (open by name, find, the edge's reports, paged lists).
// The writer thread runs one job at a time, so open_conference's look-then-insert cannot race.

#include <utility>

#include "store/sqlite_columns.hpp"
#include "store/sqlite_ops.hpp"

namespace stirgate::store::sqlite {
namespace {

constexpr const char* conference_columns =
    "sid, account_sid, friendly_name, status, date_created, date_updated, reason_ended, "
    "call_sid_ending";

result<conference_record> read_conference(sqlite3_stmt* s)
{
    conference_record c;
    c.sid = column_text(s, 0);
    c.account_sid = column_text(s, 1);
    c.friendly_name = column_text(s, 2);
    auto status = parse_conference_status(column_text(s, 3));
    if (!status) return error{errc::internal, "bad status column in conferences"};
    c.status = *status;
    c.date_created = column_int(s, 4);
    c.date_updated = column_int(s, 5);
    c.reason_ended = column_opt_text(s, 6);
    c.call_sid_ending = column_opt_text(s, 7);
    return c;
}

result<std::vector<conference_record>> read_all(connection& c, sqlite3_stmt* s)
{
    std::vector<conference_record> rows;
    for (;;) {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) return rows;
        if (rc != SQLITE_ROW) return c.fail(rc, "read conferences");
        auto row = read_conference(s);
        if (!row) return std::move(row).err();
        rows.push_back(std::move(*row));
    }
}

result<std::optional<conference_record>> first(result<std::vector<conference_record>> rows)
{
    if (!rows) return std::move(rows).err();
    if (rows->empty()) return std::optional<conference_record>();
    return std::optional<conference_record>(std::move(rows->front()));
}

}  // namespace

result<std::optional<conference_record>> select_conference(
    connection& c, const std::optional<std::string>& account, const std::string& sid)
{
    error err;
    sqlite3_stmt* s =
        c.prepare(std::string("SELECT ") + conference_columns +
                      (account ? " FROM conferences WHERE sid = ?1 AND account_sid = ?2"
                               : " FROM conferences WHERE sid = ?1"),
                  err);
    if (!s) return err;
    bind(s, 1, std::string_view(sid));
    if (account) bind(s, 2, std::string_view(*account));
    return first(read_all(c, s));
}

result<conference_record> run_open_conference(connection& c, const conference_record& candidate)
{
    error err;
    sqlite3_stmt* q = c.prepare(std::string("SELECT ") + conference_columns +
                                    " FROM conferences WHERE account_sid = ?1 AND "
                                    "friendly_name = ?2 AND status <> 'completed'",
                                err);
    if (!q) return err;
    bind(q, 1, std::string_view(candidate.account_sid));
    bind(q, 2, std::string_view(candidate.friendly_name));
    auto live = first(read_all(c, q));
    if (!live) return std::move(live).err();
    if (*live) return std::move(**live);

    sqlite3_stmt* s = c.prepare(std::string("INSERT INTO conferences (") + conference_columns +
                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                err);
    if (!s) return err;
    bind(s, 1, std::string_view(candidate.sid));
    bind(s, 2, std::string_view(candidate.account_sid));
    bind(s, 3, std::string_view(candidate.friendly_name));
    bind(s, 4, to_string(candidate.status));
    bind(s, 5, candidate.date_created);
    bind(s, 6, candidate.date_updated);
    bind(s, 7, candidate.reason_ended);
    bind(s, 8, candidate.call_sid_ending);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        error e = c.fail(rc, "insert conference");
        if (e.code == errc::conflict) e.detail = "conference " + candidate.sid + " exists";
        return e;
    }
    return candidate;
}

result<conference_record> run_update_conference(connection& c, const std::string& sid,
                                                const conference_update& u)
{
    auto current = select_conference(c, std::nullopt, sid);
    if (!current) return std::move(current).err();
    if (!*current) return error{errc::not_found, "conference " + sid};
    const conference_record after = apply(**current, u);
    if (after == **current) return after;
    error err;
    sqlite3_stmt* s = c.prepare(
        "UPDATE conferences SET status = ?2, date_updated = ?3, reason_ended = ?4, "
        "call_sid_ending = ?5 WHERE sid = ?1",
        err);
    if (!s) return err;
    bind(s, 1, std::string_view(sid));
    bind(s, 2, to_string(after.status));
    bind(s, 3, after.date_updated);
    bind(s, 4, after.reason_ended);
    bind(s, 5, after.call_sid_ending);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "update conference");
    return after;
}

result<conference_page> run_list_conferences(connection& c, const std::string& account,
                                             const conference_filter& f, std::size_t page_size,
                                             const std::string& token)
{
    auto request = read_page_request(page_size, token, "CF");
    if (!request) return std::move(request).err();
    const std::optional<page_cursor>& direction = *request;
    auto found = cursor_row(c, "conferences", account, direction);
    if (!found) return std::move(found).err();
    const auto& cursor = *found;

    std::string sql =
        std::string("SELECT ") + conference_columns + " FROM conferences WHERE account_sid = ?1";
    if (f.friendly_name) sql += " AND friendly_name = ?2";
    if (f.status) sql += " AND status = ?3";
    const bool before = direction && direction->before;
    if (cursor)
        sql +=
            before ? " AND (date_created, sid) > (?4, ?5)" : " AND (date_created, sid) < (?4, ?5)";
    sql += before ? " ORDER BY date_created, sid LIMIT ?6"
                  : " ORDER BY date_created DESC, sid DESC LIMIT ?6";
    error err;
    sqlite3_stmt* s = c.prepare(sql, err);
    if (!s) return err;
    bind(s, 1, std::string_view(account));
    if (f.friendly_name) bind(s, 2, std::string_view(*f.friendly_name));
    if (f.status) bind(s, 3, to_string(*f.status));
    if (cursor) {
        bind(s, 4, cursor->first);
        bind(s, 5, std::string_view(cursor->second));
    }
    bind(s, 6, static_cast<std::int64_t>(page_size) + 1);  // one more tells if a page follows
    auto rows = read_all(c, s);
    if (!rows) return std::move(rows).err();
    return finish_page(std::move(*rows), page_size, direction);
}

}  // namespace stirgate::store::sqlite
