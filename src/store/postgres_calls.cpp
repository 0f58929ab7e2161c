// Calls on PostgreSQL: insert, read, status updates under a row lock, keyset-paged lists.

#include <algorithm>
#include <string>

#include "store/postgres_ops.hpp"

namespace stirgate::store::pg {
namespace {

#define STIRGATE_PG_CALL_COLUMNS                                                               \
    "sid, account_sid, parent_call_sid, direction, from_number, to_number, status, "          \
    "date_created, date_updated, start_time, end_time, duration, url, method, fallback_url, " \
    "fallback_method, status_callback, status_callback_method, status_callback_events, "      \
    "identity_headers, attestation, stir_verstat, calltoken, forwarded_from, conference_sid, " \
    "participant"

result<call_record> read_call(const rows& r, int i)
{
    call_record c;
    c.sid = r.text(i, 0);
    c.account_sid = r.text(i, 1);
    c.parent_call_sid = r.opt_text(i, 2);
    auto direction = parse_call_direction(r.text(i, 3));
    auto status = parse_call_status(r.text(i, 6));
    if (!direction || !status) return error{errc::internal, "bad enum column in calls"};
    c.direction = *direction;
    c.from = r.text(i, 4);
    c.to = r.text(i, 5);
    c.status = *status;
    c.date_created = r.integer(i, 7);
    c.date_updated = r.integer(i, 8);
    c.start_time = r.opt_integer(i, 9);
    c.end_time = r.opt_integer(i, 10);
    c.duration = r.opt_integer(i, 11);
    c.url = r.text(i, 12);
    c.method = r.text(i, 13);
    c.fallback_url = r.text(i, 14);
    c.fallback_method = r.text(i, 15);
    c.status_callback = r.text(i, 16);
    c.status_callback_method = r.text(i, 17);
    auto events = decode_text_array(r.text(i, 18));
    auto identities = decode_text_array(r.text(i, 19));
    if (!events) return std::move(events).err();
    if (!identities) return std::move(identities).err();
    c.status_callback_events = std::move(*events);
    c.identity_headers = std::move(*identities);
    if (auto a = r.opt_text(i, 20)) {
        auto attest = core::parse_attestation(*a);
        if (!attest) return error{errc::internal, "bad attestation column"};
        c.attestation = *attest;
    }
    c.stir_verstat = r.opt_text(i, 21);
    c.calltoken = r.opt_text(i, 22);
    c.forwarded_from = r.opt_text(i, 23);
    if (auto text = r.opt_text(i, 25)) {
        auto participant = decode_participant(*text);
        if (!participant) return std::move(participant).err();
        c.participant = std::move(*participant);
    }
    return c;
}

result<std::optional<call_record>> first_call(const rows& r)
{
    if (r.count() == 0) return std::optional<call_record>();
    auto call = read_call(r, 0);
    if (!call) return std::move(call).err();
    return std::optional<call_record>(std::move(*call));
}

}  // namespace

result<std::optional<call_record>> select_call(connection& c,
                                               const std::optional<std::string>& account,
                                               const std::string& sid)
{
    auto r = account ? c.exec("SELECT " STIRGATE_PG_CALL_COLUMNS
                              " FROM calls WHERE sid = $1 AND account_sid = $2",
                              params().add(sid).add(*account))
                     : c.exec("SELECT " STIRGATE_PG_CALL_COLUMNS " FROM calls WHERE sid = $1",
                              params().add(sid));
    if (!r) return std::move(r).err();
    return first_call(*r);
}

namespace {

// The conference_sid and participant columns (NULL, NULL for none).
void add_participant(params& p, const std::optional<participant_info>& participant)
{
    if (participant)
        p.add(participant->conference_sid).add(encode_participant(*participant));
    else
        p.add_null().add_null();
}

params call_params(const call_record& call)
{
    params p;
    p.add(call.sid).add(call.account_sid).add(call.parent_call_sid).add(to_string(call.direction));
    p.add(call.from).add(call.to).add(to_string(call.status)).add(call.date_created);
    p.add(call.date_updated).add(call.start_time).add(call.end_time).add(call.duration);
    p.add(call.url).add(call.method).add(call.fallback_url).add(call.fallback_method);
    p.add(call.status_callback).add(call.status_callback_method);
    p.add(encode_text_array(call.status_callback_events));
    p.add(encode_text_array(call.identity_headers));
    if (call.attestation)
        p.add(core::to_string(*call.attestation));
    else
        p.add_null();
    p.add(call.stir_verstat).add(call.calltoken).add(call.forwarded_from);
    add_participant(p, call.participant);
    return p;
}

#define STIRGATE_PG_CALL_VALUES                                                              \
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, " \
    "$20, $21, $22, $23, $24, $25, $26"

result<bool> insert_row(connection& c, const call_record& call, bool unless_parent_stored)
{
    // Unless the parent is stored: one statement both looks for the parent and inserts, so a
    // leg of a parent this store never saw (a trusted platform's call) costs one round trip.
    auto r = unless_parent_stored
                 ? c.exec("INSERT INTO calls (" STIRGATE_PG_CALL_COLUMNS
                          ") SELECT " STIRGATE_PG_CALL_VALUES
                          " WHERE NOT EXISTS (SELECT 1 FROM calls WHERE sid = $3)",
                          call_params(call))
                 : c.exec("INSERT INTO calls (" STIRGATE_PG_CALL_COLUMNS
                          ") VALUES (" STIRGATE_PG_CALL_VALUES ")",
                          call_params(call));
    if (!r) {
        error e = std::move(r).err();
        if (e.code == errc::conflict) e.detail = "call " + call.sid + " exists";
        return e;
    }
    return r->affected() == 1;
}

// The parent is stored: its row lock makes inserts of its legs on other connections (or
// gateways) wait until this one commits, then read and count again.
result<void> check_locked_parent(connection& c, const call_record& call,
                                 const insert_limits& limits)
{
    auto locked = c.exec("SELECT " STIRGATE_PG_CALL_COLUMNS " FROM calls WHERE sid = $1 FOR UPDATE",
                         params().add(call.parent_call_sid));
    if (!locked) return std::move(locked).err();
    auto parent = first_call(*locked);
    if (!parent) return std::move(parent).err();
    if (!*parent) return {};  // deleted since: now a parent we never saw
    return check_stored_parent(call, limits, **parent, [&]() -> result<std::size_t> {
        auto counted = c.exec("SELECT COUNT(*) FROM calls WHERE parent_call_sid = $1",
                              params().add(call.parent_call_sid));
        if (!counted) return std::move(counted).err();
        return static_cast<std::size_t>(counted->integer(0, 0));
    });
}

// BEGIN ... COMMIT around `body` when the job's thread did not open a transaction.
template <class T, class Body>
result<T> within_transaction(connection& c, bool already, Body body)
{
    if (already) return body();
    if (auto begun = c.run("BEGIN"); !begun) return std::move(begun).err();
    result<T> r = body();
    if (!r) {
        (void)c.run("ROLLBACK");
        return r;
    }
    if (auto committed = c.run("COMMIT"); !committed) return std::move(committed).err();
    return r;
}

params update_params(const call_update& u, const std::string& sid)
{
    params p;
    p.add(status_text(u.status)).add(u.date_updated).add(u.start_time).add(u.end_time);
    p.add(u.duration).add(sid).add(u.url).add(u.method).add(u.fallback_url);
    p.add(u.fallback_method).add(u.status_callback).add(u.status_callback_method);
    p.add(u.participant ? "true" : "false");
    add_participant(p, u.participant ? *u.participant : std::optional<participant_info>());
    return p;
}

}  // namespace

result<std::vector<std::int64_t>> insert_call(connection& c, const call_record& call,
                                              const std::vector<outbox_item>& items,
                                              const insert_limits& limits, bool in_transaction)
{
    if (auto v = validate(call); !v) return std::move(v).err();
    const bool checked = parent_checks_apply(call, limits);
    auto inserted = insert_row(c, call, checked);
    if (!inserted) return std::move(inserted).err();
    if (*inserted) return insert_items(c, items, call.sid);
    // Not inserted: the parent is stored, so its checks run under its row lock.
    return within_transaction<std::vector<std::int64_t>>(
        c, in_transaction, [&]() -> result<std::vector<std::int64_t>> {
            if (auto ok = check_locked_parent(c, call, limits); !ok) return std::move(ok).err();
            if (auto row = insert_row(c, call, false); !row) return std::move(row).err();
            return insert_items(c, items, call.sid);
        });
}

result<call_record> update_call(connection& c, const std::string& sid, const call_update& u,
                                const std::vector<outbox_item>& items)
{
    if (auto v = validate(u); !v) return std::move(v).err();
    // The row lock makes a concurrent update (another connection, another instance) wait until
    // this transaction ends, then re-read the row: only_from is always checked against the
    // status as committed, so no update is lost.
    auto locked = c.exec("SELECT status FROM calls WHERE sid = $1 FOR UPDATE", params().add(sid));
    if (!locked) return std::move(locked).err();
    if (locked->count() == 0) return error{errc::not_found, "call " + sid};
    auto now = parse_call_status(locked->text(0, 0));
    if (!now) return error{errc::internal, "bad status column"};
    if (!u.only_from.empty() &&
        std::find(u.only_from.begin(), u.only_from.end(), *now) == u.only_from.end())
        return error{errc::conflict, "call " + sid + " is " + std::string(to_string(*now))};

    auto after = c.exec(
        "UPDATE calls SET status = coalesce($1, status), date_updated = $2, "
        "start_time = coalesce($3, start_time), end_time = coalesce($4, end_time), "
        "duration = coalesce($5, duration), url = coalesce($7, url), "
        "method = coalesce($8, method), fallback_url = coalesce($9, fallback_url), "
        "fallback_method = coalesce($10, fallback_method), "
        "status_callback = coalesce($11, status_callback), "
        "status_callback_method = coalesce($12, status_callback_method), "
        "conference_sid = CASE WHEN $13 THEN $14 ELSE conference_sid END, "
        "participant = CASE WHEN $13 THEN $15 ELSE participant END WHERE sid = $6 "
        "RETURNING " STIRGATE_PG_CALL_COLUMNS,
        update_params(u, sid));
    if (!after) return std::move(after).err();
    auto call = first_call(*after);
    if (!call) return std::move(call).err();
    if (!*call) return error{errc::internal, "updated call vanished"};
    if (auto ids = insert_items(c, items, sid); !ids) return std::move(ids).err();
    return std::move(**call);
}

result<void> delete_call(connection& c, const std::string& account, const std::string& sid)
{
    // Under the row lock, so a status report racing the delete is either before it (and the
    // delete sees the status it set) or finds no call.
    auto locked = c.exec("SELECT status FROM calls WHERE sid = $1 AND account_sid = $2 FOR UPDATE",
                         params().add(sid).add(account));
    if (!locked) return std::move(locked).err();
    if (locked->count() == 0) return error{errc::not_found, "call " + sid};
    auto status = parse_call_status(locked->text(0, 0));
    if (!status) return error{errc::internal, "bad status column"};
    if (auto refused = delete_refusal(sid, *status)) return std::move(*refused);
    return c.run("DELETE FROM calls WHERE sid = $1", params().add(sid));
}

result<std::optional<std::pair<std::int64_t, std::string>>> cursor_row(
    connection& c, std::string_view table, const std::string& account,
    const std::optional<page_cursor>& direction)
{
    if (!direction) return std::optional<std::pair<std::int64_t, std::string>>();
    // The cursor must be a row of this account (as on SQLite: another account's token is
    // refused and its date_created never revealed). `table` is one of two constants.
    const std::string sql = "SELECT date_created FROM " + std::string(table) +
                            " WHERE sid = $1 AND account_sid = $2";
    auto q = c.exec(sql.c_str(), params().add(direction->sid).add(account));
    if (!q) return std::move(q).err();
    if (q->count() == 0)
        return foreign_page_token(table);
    return std::optional<std::pair<std::int64_t, std::string>>(
        std::pair<std::int64_t, std::string>(q->integer(0, 0), direction->sid));
}

result<call_page> list_calls(connection& c, const std::string& account, const call_filter& f,
                             std::size_t page_size, const std::string& token)
{
    auto request = read_page_request(page_size, token);
    if (!request) return std::move(request).err();
    const std::optional<page_cursor>& direction = *request;
    auto found = cursor_row(c, "calls", account, direction);
    if (!found) return std::move(found).err();
    const std::optional<std::pair<std::int64_t, std::string>>& cursor = *found;
    // Before a PB cursor: the newer calls nearest to it, read oldest first.
    const bool before = direction && direction->before;

    // Only fixed fragments and parameter numbers go into the text; every value is a parameter.
    params p;
    p.add(account);
    std::string sql = "SELECT " STIRGATE_PG_CALL_COLUMNS " FROM calls WHERE account_sid = $1";
    const auto next = [&p] { return "$" + std::to_string(p.size()); };
    if (f.to) sql += " AND to_number = " + (p.add(*f.to), next());
    if (f.from) sql += " AND from_number = " + (p.add(*f.from), next());
    if (f.status) sql += " AND status = " + (p.add(to_string(*f.status)), next());
    if (f.parent_call_sid)
        sql += " AND parent_call_sid = " + (p.add(*f.parent_call_sid), next());
    if (f.conference_sid) sql += " AND conference_sid = " + (p.add(*f.conference_sid), next());
    if (f.live_only) sql += " AND status IN ('queued', 'ringing', 'in-progress')";
    if (cursor) {
        p.add(cursor->first);
        const std::string created = next();
        p.add(cursor->second);
        sql += std::string(" AND (date_created, sid) ") + (before ? ">" : "<") + " (" + created +
               ", " + next() + ")";
    }
    // One more than asked tells whether a page follows.
    p.add(static_cast<std::int64_t>(page_size) + 1);
    sql += before ? " ORDER BY date_created, sid LIMIT " : " ORDER BY date_created DESC, sid DESC LIMIT ";
    sql += next();
    auto r = c.exec(sql.c_str(), p);
    if (!r) return std::move(r).err();

    std::vector<call_record> rows;
    for (int i = 0; i < r->count(); ++i) {
        auto call = read_call(*r, i);
        if (!call) return std::move(call).err();
        rows.push_back(std::move(*call));
    }
    return finish_page(std::move(rows), page_size, direction);
}

}  // namespace stirgate::store::pg
