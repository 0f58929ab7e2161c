// sqlite_store: the calls table (insert, find, status updates, keyset-paged lists).

#include <algorithm>
#include <utility>

#include "store/sqlite_columns.hpp"
#include "store/sqlite_ops.hpp"

namespace stirgate::store::sqlite {
namespace {

constexpr const char* call_columns =
    "sid, account_sid, parent_call_sid, direction, from_number, to_number, status, date_created, "
    "date_updated, start_time, end_time, duration, url, method, fallback_url, fallback_method, "
    "status_callback, status_callback_method, status_callback_events, identity_headers, "
    "attestation, stir_verstat, calltoken, forwarded_from, conference_sid, participant";

result<call_record> read_call(sqlite3_stmt* s)
{
    call_record c;
    c.sid = column_text(s, 0);
    c.account_sid = column_text(s, 1);
    c.parent_call_sid = column_opt_text(s, 2);
    auto direction = parse_call_direction(column_text(s, 3));
    auto status = parse_call_status(column_text(s, 6));
    if (!direction || !status) return error{errc::internal, "bad enum column in calls"};
    c.direction = *direction;
    c.from = column_text(s, 4);
    c.to = column_text(s, 5);
    c.status = *status;
    c.date_created = column_int(s, 7);
    c.date_updated = column_int(s, 8);
    c.start_time = column_opt_int(s, 9);
    c.end_time = column_opt_int(s, 10);
    c.duration = column_opt_int(s, 11);
    c.url = column_text(s, 12);
    c.method = column_text(s, 13);
    c.fallback_url = column_text(s, 14);
    c.fallback_method = column_text(s, 15);
    c.status_callback = column_text(s, 16);
    c.status_callback_method = column_text(s, 17);
    auto events = decode_strings(column_text(s, 18));
    auto identities = decode_strings(column_text(s, 19));
    if (!events) return std::move(events).err();
    if (!identities) return std::move(identities).err();
    c.status_callback_events = std::move(*events);
    c.identity_headers = std::move(*identities);
    if (auto a = column_opt_text(s, 20)) {
        auto attest = core::parse_attestation(*a);
        if (!attest) return error{errc::internal, "bad attestation column"};
        c.attestation = *attest;
    }
    c.stir_verstat = column_opt_text(s, 21);
    c.calltoken = column_opt_text(s, 22);
    c.forwarded_from = column_opt_text(s, 23);
    if (auto text = column_opt_text(s, 25)) {
        auto participant = decode_participant(*text);
        if (!participant) return std::move(participant).err();
        c.participant = std::move(*participant);
    }
    return c;
}

// The conference_sid and participant columns of a participant record (NULL for none).
std::pair<std::optional<std::string>, std::optional<std::string>> participant_columns(
    const std::optional<participant_info>& p)
{
    if (!p) return {};
    return {p->conference_sid, encode_participant(*p)};
}

}  // namespace

result<std::optional<call_record>> select_call(connection& c,
                                               const std::optional<std::string>& account,
                                               const std::string& sid)
{
    error err;
    const std::string sql = std::string("SELECT ") + call_columns +
                            (account ? " FROM calls WHERE sid = ?1 AND account_sid = ?2"
                                     : " FROM calls WHERE sid = ?1");
    sqlite3_stmt* s = c.prepare(sql, err);
    if (!s) return err;
    bind(s, 1, std::string_view(sid));
    if (account) bind(s, 2, std::string_view(*account));
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return std::optional<call_record>();
    if (rc != SQLITE_ROW) return c.fail(rc, "select call");
    auto call = read_call(s);
    if (!call) return std::move(call).err();
    return std::optional<call_record>(std::move(*call));
}

// The writer thread runs every job in turn, so reading the parent and counting its legs inside
// this job's transaction is already serialised with every other insert.
result<void> check_parent(connection& c, const call_record& call, const insert_limits& limits)
{
    if (!parent_checks_apply(call, limits)) return {};
    auto parent = select_call(c, std::nullopt, *call.parent_call_sid);
    if (!parent) return std::move(parent).err();
    if (!*parent) return {};  // a parent we never saw: not checked
    return check_stored_parent(call, limits, **parent, [&]() -> result<std::size_t> {
        error err;
        sqlite3_stmt* s = c.prepare("SELECT COUNT(*) FROM calls WHERE parent_call_sid = ?1", err);
        if (!s) return err;
        bind(s, 1, call.parent_call_sid);
        const int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW) return c.fail(rc, "count legs");
        return static_cast<std::size_t>(sqlite3_column_int64(s, 0));
    });
}

result<std::vector<std::int64_t>> run_insert_call(connection& c, const call_record& call,
                                                  std::vector<outbox_item>& items,
                                                  const insert_limits& limits)
{
    if (auto v = validate(call); !v) return std::move(v).err();
    if (auto ok = check_parent(c, call, limits); !ok) return std::move(ok).err();
    error err;
    sqlite3_stmt* s = c.prepare(std::string("INSERT INTO calls (") + call_columns +
                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
                                err);
    if (!s) return err;
    bind(s, 1, std::string_view(call.sid));
    bind(s, 2, std::string_view(call.account_sid));
    bind(s, 3, call.parent_call_sid);
    bind(s, 4, to_string(call.direction));
    bind(s, 5, std::string_view(call.from));
    bind(s, 6, std::string_view(call.to));
    bind(s, 7, to_string(call.status));
    bind(s, 8, call.date_created);
    bind(s, 9, call.date_updated);
    bind(s, 10, call.start_time);
    bind(s, 11, call.end_time);
    bind(s, 12, call.duration);
    bind(s, 13, std::string_view(call.url));
    bind(s, 14, std::string_view(call.method));
    bind(s, 15, std::string_view(call.fallback_url));
    bind(s, 16, std::string_view(call.fallback_method));
    bind(s, 17, std::string_view(call.status_callback));
    bind(s, 18, std::string_view(call.status_callback_method));
    bind(s, 19, std::string_view(encode_strings(call.status_callback_events)));
    bind(s, 20, std::string_view(encode_strings(call.identity_headers)));
    if (call.attestation) bind(s, 21, core::to_string(*call.attestation));
    bind(s, 22, call.stir_verstat);
    bind(s, 23, call.calltoken);
    bind(s, 24, call.forwarded_from);
    const auto participant = participant_columns(call.participant);  // outlives the step
    bind(s, 25, participant.first);
    bind(s, 26, participant.second);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        error e = c.fail(rc, "insert call");
        if (e.code == errc::conflict) e.detail = "call " + call.sid + " exists";
        return e;
    }
    return insert_items(c, items, call.sid);
}

result<call_record> run_update_call(connection& c, const std::string& sid, const call_update& u,
                                    std::vector<outbox_item>& items)
{
    if (auto v = validate(u); !v) return std::move(v).err();
    auto current = select_call(c, std::nullopt, sid);
    if (!current) return std::move(current).err();
    if (!*current) return error{errc::not_found, "call " + sid};
    const call_status now = (*current)->status;
    if (!u.only_from.empty() &&
        std::find(u.only_from.begin(), u.only_from.end(), now) == u.only_from.end())
        return error{errc::conflict, "call " + sid + " is " + std::string(to_string(now))};

    error err;
    sqlite3_stmt* s = c.prepare(
        "UPDATE calls SET status = coalesce(?1, status), date_updated = ?2, "
        "start_time = coalesce(?3, start_time), end_time = coalesce(?4, end_time), "
        "duration = coalesce(?5, duration), url = coalesce(?7, url), "
        "method = coalesce(?8, method), fallback_url = coalesce(?9, fallback_url), "
        "fallback_method = coalesce(?10, fallback_method), "
        "status_callback = coalesce(?11, status_callback), "
        "status_callback_method = coalesce(?12, status_callback_method), "
        "conference_sid = CASE WHEN ?13 THEN ?14 ELSE conference_sid END, "
        "participant = CASE WHEN ?13 THEN ?15 ELSE participant END WHERE sid = ?6",
        err);
    if (!s) return err;
    const auto status = status_text(u.status);  // bound without a copy: must outlive the step
    bind(s, 1, status);
    bind(s, 2, u.date_updated);
    bind(s, 3, u.start_time);
    bind(s, 4, u.end_time);
    bind(s, 5, u.duration);
    bind(s, 6, std::string_view(sid));
    bind(s, 7, u.url);
    bind(s, 8, u.method);
    bind(s, 9, u.fallback_url);
    bind(s, 10, u.fallback_method);
    bind(s, 11, u.status_callback);
    bind(s, 12, u.status_callback_method);
    const auto participant =
        participant_columns(u.participant ? *u.participant : std::optional<participant_info>());
    bind(s, 13, std::int64_t{u.participant.has_value()});
    bind(s, 14, participant.first);
    bind(s, 15, participant.second);
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "update call");
    if (auto ids = insert_items(c, items, sid); !ids) return std::move(ids).err();

    auto after = select_call(c, std::nullopt, sid);
    if (!after) return std::move(after).err();
    if (!*after) return error{errc::internal, "updated call vanished"};
    return std::move(**after);
}

result<void> run_delete_call(connection& c, const std::string& account, const std::string& sid)
{
    auto current = select_call(c, account, sid);
    if (!current) return std::move(current).err();
    if (!*current) return error{errc::not_found, "call " + sid};
    if (auto refused = delete_refusal(sid, (*current)->status)) return std::move(*refused);
    error err;
    sqlite3_stmt* s = c.prepare("DELETE FROM calls WHERE sid = ?1", err);
    if (!s) return err;
    bind(s, 1, std::string_view(sid));
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return c.fail(rc, "delete call");
    return ok();
}

result<std::optional<std::pair<std::int64_t, std::string>>> cursor_row(
    connection& c, std::string_view table, const std::string& account,
    const std::optional<page_cursor>& direction)
{
    if (!direction) return std::optional<std::pair<std::int64_t, std::string>>();
    const std::string& sid = direction->sid;
    // The cursor must be a row of this account: another account's token is refused, and its
    // date_created is never revealed.
    error err;
    sqlite3_stmt* q = c.prepare("SELECT date_created FROM " + std::string(table) +
                                    " WHERE sid = ?1 AND account_sid = ?2",
                                err);
    if (!q) return err;
    bind(q, 1, std::string_view(sid));
    bind(q, 2, std::string_view(account));
    const int rc = sqlite3_step(q);
    if (rc == SQLITE_DONE)
        return foreign_page_token(table);
    if (rc != SQLITE_ROW) return c.fail(rc, "page token");
    return std::optional<std::pair<std::int64_t, std::string>>(
        std::pair<std::int64_t, std::string>(column_int(q, 0), sid));
}

result<call_page> run_list_calls(connection& c, const std::string& account, const call_filter& f,
                                 std::size_t page_size, const std::string& token)
{
    auto request = read_page_request(page_size, token);
    if (!request) return std::move(request).err();
    const std::optional<page_cursor>& direction = *request;
    auto found = cursor_row(c, "calls", account, direction);
    if (!found) return std::move(found).err();
    const std::optional<std::pair<std::int64_t, std::string>>& cursor = *found;
    error err;
    // Numbered parameters keep each value's index fixed whichever filters are present; the
    // statement text per filter combination is cached like any other.
    std::string sql = std::string("SELECT ") + call_columns + " FROM calls WHERE account_sid = ?1";
    if (f.to) sql += " AND to_number = ?2";
    if (f.from) sql += " AND from_number = ?3";
    if (f.status) sql += " AND status = ?4";
    if (f.parent_call_sid) sql += " AND parent_call_sid = ?5";
    if (f.conference_sid) sql += " AND conference_sid = ?9";
    if (f.live_only) sql += " AND status IN ('queued', 'ringing', 'in-progress')";
    // Before a PB cursor: the newer calls nearest to it, read oldest first.
    const bool before = direction && direction->before;
    if (cursor) sql += before ? " AND (date_created, sid) > (?6, ?7)" : " AND (date_created, sid) < (?6, ?7)";
    sql += before ? " ORDER BY date_created, sid LIMIT ?8" : " ORDER BY date_created DESC, sid DESC LIMIT ?8";
    sqlite3_stmt* s = c.prepare(sql, err);
    if (!s) return err;
    bind(s, 1, std::string_view(account));
    if (f.to) bind(s, 2, std::string_view(*f.to));
    if (f.from) bind(s, 3, std::string_view(*f.from));
    if (f.status) bind(s, 4, to_string(*f.status));
    if (f.parent_call_sid) bind(s, 5, std::string_view(*f.parent_call_sid));
    if (f.conference_sid) bind(s, 9, std::string_view(*f.conference_sid));
    if (cursor) {
        bind(s, 6, cursor->first);
        bind(s, 7, std::string_view(cursor->second));
    }
    bind(s, 8, static_cast<std::int64_t>(page_size) + 1);  // one more tells if a page follows

    std::vector<call_record> rows;
    for (;;) {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return c.fail(rc, "list calls");
        auto call = read_call(s);
        if (!call) return std::move(call).err();
        rows.push_back(std::move(*call));
    }
    return finish_page(std::move(rows), page_size, direction);
}

}  // namespace stirgate::store::sqlite
